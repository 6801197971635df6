/**
 * The BGP peers and advertisements a node wants, computed from the Node list and the config. Pure: the
 * daemon calls `desiredPeers` after every `nodes`/`self` event and hands the difference to the speaker.
 *
 * Node-to-node sessions (iBGP, our AS), one per address family both nodes have an InternalIP in:
 *   - no route reflector in the cluster: a full mesh (every node peers with every other), unless `mesh: false`;
 *   - route reflectors exist (nodes labelled `node-restriction.kubernetes.io/nodebgp-route-reflector:
 *     <cluster-id>`, or named in `routeReflector.nodes`):
 *     a reflector peers with every other node — non-reflectors as route-reflector clients, other reflectors
 *     as plain iBGP peers — and a non-reflector peers with the reflectors only;
 *   - both ends configure the session, so the end with the HIGHER address is passive (waits for the other
 *     to connect) and the two never race to open colliding connections (RFC 4271 §6.8).
 * External peers: config entries (every node, or nodes whose labels match `nodeSelector`) and our Node's
 * `nodebgp.io/peers` annotation (a JSON list, validated; a bad one is reported and ignored).
 *
 * The result is sorted (IPv4 before IPv6, then by address) so that equal inputs give equal outputs.
 */
import type { Advertisement, PeerConfig } from '../../bgp/api.js';
import { canonicalAddress as canonical, isIpAddress, parseIpv4, parseIpv6 } from '../../ip/address.js';
import type { ImportRule } from '../import-rules.js';
import { addressOfFamily, type NodeView } from './node-view.js';
import {
  annotationPeersSchema,
  LEGACY_ROUTE_REFLECTOR_KEY,
  PEERS_ANNOTATION,
  ROUTE_REFLECTOR_LABEL,
  type AnnotationPeer,
  type ExternalPeer,
} from './schema.js';

export interface PeerPlanOptions {
  /** Our AS number (the cluster's: node-to-node sessions are iBGP). */
  readonly asn: number;
  /** Full mesh when no reflector exists (default true); false for pure top-of-rack designs. */
  readonly mesh?: boolean;
  /** `kubernetes.routeReflector`: only labels with its clusterId count; its `nodes` are reflectors too. */
  readonly routeReflector?: RouteReflectorConfig;
  /** Default `nodebgp.io/peers`. */
  readonly peerAnnotation?: string;
  readonly externalPeers?: readonly ExternalPeer[];
  /** Settings copied onto every node-to-node session (hold time, graceful restart, …). */
  readonly nodePeerDefaults?: Pick<
    PeerConfig,
    'holdTime' | 'keepaliveTime' | 'connectRetryTime' | 'gracefulRestartTime' | 'maxPrefixes'
  > & { readonly passwordFile?: string };
}

/**
 * The max-prefix limit of every node-to-node session unless `kubernetes.meshMaxPrefixes` says otherwise: a
 * node announces its pod CIDRs, a reflector every node's — 20,000 is four times a 5,000-node dual-stack
 * cluster's, and a runaway node is cut off (Cease 6/1) and retried after a minute.
 */
export const MESH_MAX_PREFIXES = { limit: 20_000, restartAfter: 60 } as const;

/** `kubernetes.routeReflector` (schema.ts). */
export interface RouteReflectorConfig {
  readonly clusterId?: string;
  readonly nodes?: readonly string[];
}

export interface PeerPlan {
  readonly peers: PeerConfig[];
  /** The external peers' own import rules (`import` of a config entry or an annotation), by address. */
  readonly imports: Map<string, readonly ImportRule[]>;
  /** What was ignored and why: bad annotations, duplicate addresses (with the node name and field). */
  readonly problems: string[];
}

/**
 * The reflector cluster id of a node, or undefined when it is not a reflector: named in
 * `routeReflector.nodes` (the config's clusterId), or labelled ROUTE_REFLECTOR_LABEL with a dotted quad
 * (equal to the config's clusterId when one is set). Annotations and the old `nodebgp.io/route-reflector`
 * label never count: a kubelet may set those on its own Node.
 */
export function reflectorClusterId(node: NodeView, rr?: RouteReflectorConfig): string | undefined {
  if (rr?.clusterId !== undefined && rr.nodes?.includes(node.name) === true) return rr.clusterId;
  const value = node.labels[ROUTE_REFLECTOR_LABEL];
  if (value === undefined || parseIpv4(value) === undefined) return undefined;
  if (rr?.clusterId !== undefined && value !== rr.clusterId) return undefined;
  return value;
}

/** Reflector markers that do not count, as problems: the old label or annotation, a value that is no id. */
function reflectorProblems(nodes: readonly NodeView[], problems: string[]): void {
  for (const n of nodes) {
    const legacy = n.labels[LEGACY_ROUTE_REFLECTOR_KEY] ?? n.annotations[LEGACY_ROUTE_REFLECTOR_KEY];
    if (legacy !== undefined)
      problems.push(
        `node ${n.name}: ${LEGACY_ROUTE_REFLECTOR_KEY} is ignored (a node can set it on itself); ` +
          `label it ${ROUTE_REFLECTOR_LABEL}=${legacy} or name it in kubernetes.routeReflector.nodes`,
      );
    const value = n.labels[ROUTE_REFLECTOR_LABEL];
    if (value !== undefined && parseIpv4(value) === undefined)
      problems.push(
        `node ${n.name}: label ${ROUTE_REFLECTOR_LABEL}: "${value}" is not a cluster id (a dotted quad); ignored`,
      );
  }
}

export function desiredPeers(self: NodeView, nodes: readonly NodeView[], opts: PeerPlanOptions): PeerPlan {
  const problems: string[] = [];
  reflectorProblems(nodes, problems);
  const byAddress = new Map<string, PeerConfig>();
  const imports = new Map<string, readonly ImportRule[]>();
  const add = (peer: PeerConfig & { import?: readonly ImportRule[] }, origin: string): void => {
    const key = canonicalAddress(peer.address);
    const existing = byAddress.get(key);
    if (existing !== undefined) {
      problems.push(
        `${origin}: peer ${peer.address} is already configured (${existing.description ?? 'earlier'}); ignored`,
      );
      return;
    }
    const { import: rules, ...config } = peer;
    byAddress.set(key, config);
    if (rules !== undefined) imports.set(key, rules);
  };
  for (const p of annotationPeers(self, opts.peerAnnotation ?? PEERS_ANNOTATION, problems))
    add(p, `node ${self.name}: annotation ${opts.peerAnnotation ?? PEERS_ANNOTATION}`);
  (opts.externalPeers ?? []).forEach((p, i) => {
    if (p.nodeSelector !== undefined && !labelsMatch(self.labels, p.nodeSelector)) return;
    add(externalPeer(p, `config kubernetes.peers[${i}]`), `config kubernetes.peers[${i}]`);
  });
  for (const p of nodePeers(self, nodes, opts)) add(p, `node ${self.name}`);
  const peers = [...byAddress.values()].sort((a, b) => compareAddresses(a.address, b.address));
  return { peers, imports, problems };
}

/** Node-to-node iBGP sessions: full mesh, or reflector/client sessions when reflectors exist. */
function nodePeers(self: NodeView, nodes: readonly NodeView[], opts: PeerPlanOptions): PeerConfig[] {
  const others = nodes.filter((n) => n.name !== self.name);
  const selfIsReflector = reflectorClusterId(self, opts.routeReflector) !== undefined;
  const reflectors = new Set(
    nodes.filter((n) => reflectorClusterId(n, opts.routeReflector) !== undefined).map((n) => n.name),
  );
  const out: PeerConfig[] = [];
  for (const other of others) {
    let role: 'mesh' | 'reflector' | 'client';
    if (reflectors.size === 0) {
      if (opts.mesh === false) continue;
      role = 'mesh';
    } else if (selfIsReflector) role = reflectors.has(other.name) ? 'reflector' : 'client';
    else if (reflectors.has(other.name)) role = 'reflector';
    else continue;
    for (const family of [4, 6] as const) {
      const mine = addressOfFamily(self.internalIPs, family);
      const theirs = addressOfFamily(other.internalIPs, family);
      if (mine === undefined || theirs === undefined) continue;
      out.push({
        maxPrefixes: MESH_MAX_PREFIXES,
        ...opts.nodePeerDefaults,
        address: theirs,
        asn: opts.asn,
        localAddress: mine,
        passive: compareAddresses(mine, theirs) > 0,
        families: [family === 4 ? 'ipv4-unicast' : 'ipv6-unicast'],
        ...(role === 'client' ? { routeReflectorClient: true } : {}),
        description: `${role === 'client' ? 'rr-client' : role === 'reflector' ? 'route-reflector' : 'mesh'} ${other.name}`,
      });
    }
  }
  return out;
}

/** The peers in our Node's annotation; a bad annotation is reported (node, field) and contributes none. */
export function annotationPeers(
  self: NodeView,
  key: string,
  problems: string[],
): (PeerConfig & { import?: readonly ImportRule[] })[] {
  const text = self.annotations[key];
  if (text === undefined || text.trim() === '') return [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    problems.push(`node ${self.name}: annotation ${key}: not JSON (${(err as Error).message}); ignored`);
    return [];
  }
  const parsed = annotationPeersSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; ');
    problems.push(`node ${self.name}: annotation ${key}: ${issues}; ignored`);
    return [];
  }
  return parsed.data.map((p) => externalPeer(p, `annotation on ${self.name}`));
}

function externalPeer(
  p: AnnotationPeer | ExternalPeer,
  origin: string,
): PeerConfig & { import?: readonly ImportRule[] } {
  const { nodeSelector: _selector, ...rest } = p as ExternalPeer;
  return { ...rest, description: p.description ?? origin };
}

function formatPath(path: readonly PropertyKey[]): string {
  return (
    path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '') || '(root)'
  );
}

export function labelsMatch(
  labels: Readonly<Record<string, string>>,
  selector: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Our podCIDRs, each with our InternalIP of its family as next hop (none: the session's own address). */
export function desiredAdvertisements(self: NodeView): Advertisement[] {
  return self.podCIDRs.map((prefix) => {
    const nextHop = addressOfFamily(self.internalIPs, typeof prefix === 'number' ? 4 : 6);
    return nextHop === undefined ? { prefix } : { prefix, nextHop };
  });
}

/**
 * One text per address (IPv6 in RFC 5952 form, IPv4-mapped as IPv4), so `2001:DB8::1` and `2001:db8:0::1`
 * are one peer.
 */
export function canonicalAddress(address: string): string {
  return canonical(address) ?? address;
}

/** Orders addresses numerically, IPv4 before IPv6; -1, 0 or 1. */
export function compareAddresses(a: string, b: string): number {
  if (!isIpAddress(a) || !isIpAddress(b)) return a < b ? -1 : a > b ? 1 : 0;
  const a6 = a.includes(':');
  const b6 = b.includes(':');
  if (a6 !== b6) return a6 ? 1 : -1;
  if (!a6) return Math.sign(parseIpv4(a)! - parseIpv4(b)!);
  const x = parseIpv6(a)!;
  const y = parseIpv6(b)!;
  for (let i = 0; i < 16; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return 0;
}

/** What changed between two peer lists, keyed by address: for speaker.addPeer / removePeer / updatePeer. */
export interface PeerDiff {
  readonly add: PeerConfig[];
  readonly remove: string[];
  readonly update: PeerConfig[];
}

export function diffPeers(before: readonly PeerConfig[], after: readonly PeerConfig[]): PeerDiff {
  const old = new Map(before.map((p) => [canonicalAddress(p.address), p]));
  const add: PeerConfig[] = [];
  const update: PeerConfig[] = [];
  for (const p of after) {
    const key = canonicalAddress(p.address);
    const prev = old.get(key);
    old.delete(key);
    if (prev === undefined) add.push(p);
    else if (JSON.stringify(prev) !== JSON.stringify(p)) update.push(p);
  }
  return { add, remove: [...old.values()].map((p) => p.address), update };
}
