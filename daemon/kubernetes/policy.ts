/**
 * Import and export policy for a cluster node, as pure functions of a `PolicyContext`, plus a small holder
 * whose filters the speaker keeps (SpeakerConfig.importFilter / exportFilter) while the daemon swaps the
 * context as nodes come and go (then asks its peers for a route refresh).
 *
 * Import (what we accept, per received path: peer, prefix, attributes, next hop):
 *   - never a default route (unless a rule names it with `exact: true`), never a prefix inside one of our own
 *     podCIDRs (a route back to ourselves);
 *   - a prefix inside another node N's podCIDR is N's to announce. It is accepted only
 *       from N's own session (any of N's InternalIPs), or
 *       through a reflector (a reflector node's session, or an iBGP external peer) with ORIGINATOR_ID one of
 *         N's IPv4 InternalIPs (its router id; not checked for a node without one) and a next hop of N's, or
 *       from an external peer whose own `import` rules cover it (a top-of-rack router the operator trusts);
 *     and only the podCIDR itself, unless the rules (`import`, else `importPrefixes`) allow longer ones.
 *     So no node can take another node's pods, by announcing its podCIDR or a more specific of it;
 *   - anything else: inside the peer's own `import` rules, else `importPrefixes`; with neither, refused.
 *   - never a Service address of the cluster (a LoadBalancer, external or cluster IP, or inside a configured
 *     cluster IP range): kube-proxy delivers those on every node, a BGP route to one would take it elsewhere;
 * Export (what we send):
 *   - to everyone: our own podCIDRs;
 *   - the Service addresses we advertise (services.ts): to peers that are not other nodes (top-of-rack
 *     routers), or only to `services.exportPeers`; never into the node mesh or to reflectors. To eBGP peers
 *     with our AS prepended `exportPrepend` more times (their communities are their own, not exportCommunities);
 *   - when we are a route reflector, also to iBGP peers: the other nodes' podCIDRs and what `importPrefixes`
 *     covers (what we accepted; the speaker only has accepted paths to send);
 *   - to eBGP peers (another AS): our podCIDRs only, with `exportCommunities` added and our AS prepended
 *     `exportPrepend` more times (the speaker has already prepended it once).
 */
import type { SpeakerConfig } from '../../bgp/api.js';
import { canonicalAddress } from '../../ip/address.js';
import { formatPrefix, isIpv4Key, prefixContains, type PrefixKey } from '../../ip/prefix.js';
import type { PathAttributes } from '../../bgp/wire/types.js';
import { prefixLength, rulesMatch, type ImportRule } from '../import-rules.js';
import { isServiceAddress, type KnownServiceAddresses } from './services.js';

/** Another node's podCIDR and the addresses that speak for it. */
export interface PodCIDROwner {
  readonly node: string;
  readonly prefix: PrefixKey;
  /** The node's InternalIPs, canonical: its sessions and the next hops of its podCIDRs. */
  readonly addresses: readonly string[];
  /** Its IPv4 InternalIPs: the ORIGINATOR_ID a reflector puts on its routes (its router id). */
  readonly routerIds: readonly string[];
}

export interface PolicyContext {
  readonly localAsn: number;
  readonly ownPodCIDRs: readonly PrefixKey[];
  /** The other nodes' podCIDRs. */
  readonly clusterPodCIDRs: readonly PrefixKey[];
  /** Who owns each of `clusterPodCIDRs` (default: nobody, so every podCIDR is refused). */
  readonly owners?: readonly PodCIDROwner[];
  /** Configured allow-list for routes that are not podCIDRs, and for longer ones inside them. */
  readonly importPrefixes?: readonly ImportRule[];
  /** This node reflects routes (RFC 4456) to its iBGP peers. */
  readonly routeReflector: boolean;
  /** The AS of each configured peer, keyed by address as the speaker names it. */
  readonly peerAsn: (peer: string) => number | undefined;
  /** Our sessions to reflector nodes (canonical addresses). */
  readonly reflectorPeers?: ReadonlySet<string>;
  /** Every other node's InternalIPs (canonical): a session to one of them is a node session. */
  readonly nodeAddresses?: ReadonlySet<string>;
  /** An external peer's own `import` rules. */
  readonly peerImport?: (peer: string) => readonly ImportRule[] | undefined;
  /** RFC 1997 communities (uint32) added on export to eBGP peers. */
  readonly exportCommunities?: readonly number[];
  readonly exportPrepend?: number;
  /** Every Service address of the cluster (services.ts `known`): refused from every peer. */
  readonly serviceAddresses?: KnownServiceAddresses;
  /** The Service routes we originate, and who gets them. */
  readonly serviceExport?: ServiceExport;
}

export interface ServiceExport {
  readonly prefixes: ReadonlySet<PrefixKey>;
  /** Only these peers (canonical addresses); undefined: every peer that is not another node. */
  readonly peers?: ReadonlySet<string>;
}

function isDefaultRoute(prefix: PrefixKey): boolean {
  return prefixLength(prefix) === 0;
}

function insideOwn(ctx: PolicyContext, prefix: PrefixKey): boolean {
  for (const own of ctx.ownPodCIDRs) if (prefixContains(own, prefix)) return true;
  return false;
}

/** The node whose podCIDR is `prefix` or contains it. */
export function ownerOf(ctx: PolicyContext, prefix: PrefixKey): PodCIDROwner | undefined {
  const owners = ctx.owners ?? [];
  for (const o of owners) if (o.prefix === prefix) return o;
  for (const o of owners)
    if (isIpv4Key(o.prefix) === isIpv4Key(prefix) && prefixContains(o.prefix, prefix)) return o;
  return undefined;
}

/** Why a path is refused, or undefined when it is accepted (see the file comment). */
export function importVerdict(
  ctx: PolicyContext,
  peer: string,
  prefix: PrefixKey,
  attributes?: PathAttributes,
  nextHop?: string,
): string | undefined {
  if (insideOwn(ctx, prefix)) return 'our own podCIDR';
  if (isServiceAddress(ctx.serviceAddresses, prefix))
    return 'a Service address (kube-proxy delivers it here)';
  const own = ctx.peerImport?.(peer);
  const rules = own ?? ctx.importPrefixes;
  const owner = ownerOf(ctx, prefix);
  if (owner === undefined) {
    if (rules !== undefined && rulesMatch(rules, prefix)) return undefined;
    if (isDefaultRoute(prefix)) return 'a default route';
    return own !== undefined
      ? "outside the peer's import rules"
      : ctx.importPrefixes !== undefined
        ? 'outside importPrefixes'
        : 'not a podCIDR of another node';
  }
  const exact = prefix === owner.prefix || (rules !== undefined && rulesMatch(rules, prefix));
  if (!exact) return `inside node ${owner.node}'s podCIDR, and longer`;
  if (owner.addresses.includes(peer)) return undefined;
  const ibgpExternal = ctx.peerAsn(peer) === ctx.localAsn && ctx.nodeAddresses?.has(peer) !== true;
  if (ctx.reflectorPeers?.has(peer) === true || ibgpExternal) {
    const originator = attributes?.originatorId;
    if (owner.routerIds.length > 0 && (originator === undefined || !owner.routerIds.includes(originator)))
      return `node ${owner.node}'s podCIDR with ORIGINATOR_ID ${originator ?? 'none'}`;
    const hop = nextHop === undefined ? undefined : (canonicalAddress(nextHop) ?? nextHop);
    if (hop === undefined || !owner.addresses.includes(hop))
      return `node ${owner.node}'s podCIDR with next hop ${nextHop ?? 'none'}`;
    return undefined;
  }
  if (own !== undefined && rulesMatch(own, prefix)) return undefined;
  return `node ${owner.node}'s podCIDR from another peer`;
}

/** Whether a received path is accepted (see the file comment). */
export function importAllowed(
  ctx: PolicyContext,
  peer: string,
  prefix: PrefixKey,
  attributes?: PathAttributes,
  nextHop?: string,
): boolean {
  return importVerdict(ctx, peer, prefix, attributes, nextHop) === undefined;
}

/** What a reflector passes on to iBGP peers: the other nodes' podCIDRs and what importPrefixes covers. */
function reflected(ctx: PolicyContext, prefix: PrefixKey): boolean {
  if (isDefaultRoute(prefix) || insideOwn(ctx, prefix)) return false;
  if (ctx.clusterPodCIDRs.includes(prefix)) return true;
  return ctx.importPrefixes !== undefined && rulesMatch(ctx.importPrefixes, prefix);
}

/** The export verdict for one prefix to one peer: false, true, or changed attributes. */
export function exportDecision(
  ctx: PolicyContext,
  peer: string,
  prefix: PrefixKey,
  attributes: PathAttributes,
): boolean | PathAttributes {
  const own = ctx.ownPodCIDRs.includes(prefix);
  const peerAsn = ctx.peerAsn(peer);
  const external = peerAsn !== undefined && peerAsn !== ctx.localAsn;
  if (!own && ctx.serviceExport?.prefixes.has(prefix) === true) {
    if (ctx.nodeAddresses?.has(peer) === true || ctx.reflectorPeers?.has(peer) === true) return false;
    if (ctx.serviceExport.peers !== undefined && !ctx.serviceExport.peers.has(peer)) return false;
    return external ? decorateExternal({ ...ctx, exportCommunities: [] }, attributes) : true;
  }
  if (!own) return !external && ctx.routeReflector && reflected(ctx, prefix);
  if (!external) return true;
  return decorateExternal(ctx, attributes);
}

/** Adds the configured communities and extra copies of our AS (to the leading AS_SEQUENCE). */
export function decorateExternal(ctx: PolicyContext, a: PathAttributes): PathAttributes {
  const communities = ctx.exportCommunities ?? [];
  const prepend = ctx.exportPrepend ?? 0;
  if (communities.length === 0 && prepend === 0) return a;
  let out: PathAttributes = a;
  if (communities.length > 0) {
    const merged = [...new Set([...(a.communities ?? []), ...communities])].sort((x, y) => x - y);
    out = { ...out, communities: merged };
  }
  if (prepend > 0) {
    const extra: number[] = new Array<number>(prepend).fill(ctx.localAsn);
    const [first, ...rest] = out.asPath;
    out =
      first !== undefined && first.type === 2 && first.asns.length + prepend <= 255
        ? { ...out, asPath: [{ type: 2, asns: [...extra, ...first.asns] }, ...rest] }
        : { ...out, asPath: [{ type: 2, asns: extra }, ...out.asPath] };
  }
  return out;
}

/** Holds the current context; the filters read it on every call, so `update()` takes effect at once. */
export interface ClusterPolicy {
  readonly importFilter: NonNullable<SpeakerConfig['importFilter']>;
  readonly exportFilter: NonNullable<SpeakerConfig['exportFilter']>;
  /** Peers `exportDecision` treats alike (it looks at a peer only for external or not): one update group. */
  readonly exportPolicyKey: NonNullable<SpeakerConfig['exportPolicyKey']>;
  update(ctx: PolicyContext): void;
  readonly context: PolicyContext;
  /** The import decision in words, for logs and the CLI. */
  explainImport(peer: string, prefix: PrefixKey, attributes?: PathAttributes, nextHop?: string): string;
}

export function createClusterPolicy(initial: PolicyContext): ClusterPolicy {
  let ctx = initial;
  return {
    importFilter: (peer, prefix, attributes, nextHop) =>
      importAllowed(ctx, peer, prefix, attributes, nextHop),
    exportFilter: (peer, prefix, attributes) => exportDecision(ctx, peer, prefix, attributes),
    exportPolicyKey: (peer) => {
      const asn = ctx.peerAsn(peer);
      return asn === undefined ? `unknown ${peer}` : asn === ctx.localAsn ? 'internal' : 'external';
    },
    update(next) {
      ctx = next;
    },
    get context() {
      return ctx;
    },
    explainImport(peer, prefix, attributes, nextHop) {
      const why = importVerdict(ctx, peer, prefix, attributes, nextHop);
      return `${formatPrefix(prefix)} from ${peer}: ${why === undefined ? 'accepted' : `refused, ${why}`}`;
    },
  };
}
