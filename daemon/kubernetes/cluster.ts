/**
 * The Kubernetes side in one object, for daemon/main.ts: a NodeSource, the pure peer/advertisement/policy
 * computations run on each change, and the NetworkUnavailable condition.
 *
 *   const cluster = new ClusterController({ config: cfg.kubernetes, asn: cfg.asn });
 *   speaker = new Speaker({ …, importFilter: cluster.policy.importFilter, exportFilter: cluster.policy.exportFilter });
 *   cluster.on('peers', d => { d.remove.forEach(a => speaker.removePeer(a)); d.add.forEach(p => speaker.addPeer(p));
 *                              d.update.forEach(p => speaker.updatePeer(p)); });
 *   cluster.on('advertisements', ads => speaker.setAdvertisements(ads));
 *   cluster.start();
 *   …once the FIB holds the learned routes: await cluster.markNetworkAvailable();
 *
 * With `kubernetes.services`, a ServiceSource beside it: `services` ({ plan, advertisements }) whenever the
 * Service addresses this node advertises (or why it does not) change; the policy then refuses every Service
 * address on import and sends ours only to peers that are not nodes (policy.ts).
 *
 * Events: `peers` (PeerDiff plus the full list), `advertisements` (Advertisement[]), `problems` (string[],
 * each naming the node and field; also sent as `log`), `ready` (our Node first seen with a podCIDR), `policy`
 * (the import policy's inputs changed: routes refused earlier may now pass — ask peers for a route refresh), and the
 * NodeSource's `waiting`, `connected`, `disconnected`, `log`. Nothing is emitted while the API server is
 * unreachable, so the speaker keeps its peers and advertisements (see node-source.ts).
 */
import { EventEmitter } from 'node:events';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Advertisement, PeerConfig } from '../../bgp/api.js';
import { ORIGIN_IGP } from '../../bgp/wire/iana.js';
import type { PathAttributes } from '../../bgp/wire/types.js';
import { rulesMatch } from '../import-rules.js';
import { type PrefixKey } from '../../ip/prefix.js';
import { parseIpv4 } from '../../ip/address.js';
import { NodeSource, loadKubeConfig, type NodeSourceEvents } from './node-source.js';
import type { NodeView } from './node-view.js';
import {
  canonicalAddress,
  desiredAdvertisements,
  desiredPeers,
  diffPeers,
  reflectorClusterId,
  type PeerDiff,
  type PeerPlanOptions,
} from './peers.js';
import type { DaemonPeer } from '../config.js';
import { createClusterPolicy, type ClusterPolicy, type PodCIDROwner, type PolicyContext } from './policy.js';
import type { KubernetesConfig } from './schema.js';
import { NodeStatusReporter } from './status.js';
import { ServiceSource } from './service-source.js';
import type { ServicePlan } from './services.js';
import { addressOfFamily } from './node-view.js';
import { isIpv4Key } from '../../ip/prefix.js';

export interface ClusterControllerOptions {
  readonly config: KubernetesConfig;
  /** The cluster AS (the config's top-level `asn`). */
  readonly asn: number;
  /** Default: config.nodeName, else $NODE_NAME. */
  readonly nodeName?: string;
  /** A ready KubeConfig (tests); default loadKubeConfig(config.kubeconfig). */
  readonly kubeConfig?: KubeConfig;
  readonly nodePeerDefaults?: PeerPlanOptions['nodePeerDefaults'];
  /** Our pod subnets when `config.podCIDRFromNode` is false (the file's `node.podCIDRs`). */
  readonly staticPodCIDRs?: readonly PrefixKey[];
  /** Watch tuning for tests. */
  readonly minHealthyWatchMs?: number;
}

export interface ClusterControllerEvents extends NodeSourceEvents {
  peers: [ClusterPeerChange];
  advertisements: [Advertisement[]];
  problems: [string[]];
  ready: [NodeView];
  /** The import policy's inputs changed (a podCIDR appeared or went): re-run import, e.g. by route refresh. */
  policy: [PolicyContext];
  /**
   * Our RFC 4456 CLUSTER_ID changed (undefined: not a reflector any more). Sent before the `peers` event of
   * the same change, so sessions turned into reflector-client sessions reflect with the new id.
   */
  clusterId: [string | undefined];
  /** The Service addresses we advertise, or why not, changed (`kubernetes.services`). */
  services: [ServiceChange];
}

export interface ServiceChange {
  readonly plan: ServicePlan;
  /** The Service routes as the speaker takes them (next hop ours, attributes interned). */
  readonly advertisements: Advertisement[];
}

/**
 * A change of the peers the cluster wants. `retire` ⊆ `remove`: sessions to nodes that still exist, which a
 * change of roles (mesh → reflectors) removed — the daemon keeps them until the reflectors carry their
 * routes (daemon/retire.ts). `reflectors`: the addresses of our sessions to route-reflector nodes.
 */
export interface ClusterPeerChange extends PeerDiff {
  readonly all: PeerConfig[];
  readonly retire: string[];
  readonly reflectors: string[];
}

/** Everything derived from one snapshot of the cluster: pure, so tests can call it without a server. */
export interface ClusterPlan {
  readonly peers: PeerConfig[];
  readonly problems: string[];
  readonly advertisements: Advertisement[];
  readonly policy: PolicyContext;
}

export function planCluster(
  self: NodeView,
  nodes: readonly NodeView[],
  config: KubernetesConfig,
  asn: number,
  defaults?: PeerPlanOptions['nodePeerDefaults'],
): ClusterPlan {
  const opts: PeerPlanOptions = {
    asn,
    mesh: config.mesh,
    routeReflector: config.routeReflector,
    peerAnnotation: config.peerAnnotation,
    externalPeers: config.peers,
    nodePeerDefaults: {
      ...defaults,
      ...(config.meshPasswordFile !== undefined ? { passwordFile: config.meshPasswordFile } : {}),
      ...(config.meshMaxPrefixes !== undefined ? { maxPrefixes: config.meshMaxPrefixes } : {}),
    },
  };
  const planned = desiredPeers(self, nodes, opts);
  const { imports, problems } = planned;
  // kubernetes.bfd: the default for every cluster peer that sets none of its own.
  const bfd = config.bfd;
  const peers: DaemonPeer[] =
    bfd === undefined
      ? planned.peers
      : planned.peers.map((p: DaemonPeer) => (p.bfd !== undefined ? p : { ...p, bfd }));
  const asnOf = new Map(peers.map((p) => [canonicalAddress(p.address), p.asn]));
  const others = nodes.filter((n) => n.name !== self.name);
  const owners: PodCIDROwner[] = others.flatMap((n) => {
    const addresses = n.internalIPs.map(canonicalAddress);
    const routerIds = addresses.filter((a) => !a.includes(':'));
    return n.podCIDRs.map((prefix) => ({ node: n.name, prefix, addresses, routerIds }));
  });
  const reflectorAddresses = new Set(
    others
      .filter((n) => reflectorClusterId(n, config.routeReflector) !== undefined)
      .flatMap((n) => n.internalIPs.map(canonicalAddress)),
  );
  const policy: PolicyContext = {
    localAsn: asn,
    ownPodCIDRs: self.podCIDRs,
    clusterPodCIDRs: others.flatMap((n) => n.podCIDRs),
    owners,
    importPrefixes: config.importPrefixes,
    routeReflector: reflectorClusterId(self, config.routeReflector) !== undefined,
    peerAsn: (peer) => asnOf.get(peer),
    reflectorPeers: reflectorAddresses,
    nodeAddresses: new Set(others.flatMap((n) => n.internalIPs.map(canonicalAddress))),
    peerImport: (peer) => imports.get(peer),
    exportCommunities: config.exportCommunities,
    exportPrepend: config.exportPrepend,
  };
  return { peers, problems, advertisements: desiredAdvertisements(self), policy };
}

/** Which removed sessions go to nodes that still exist, and which of our sessions go to reflectors. */
function roles(
  self: NodeView,
  nodes: readonly NodeView[],
  diff: PeerDiff,
  plan: ClusterPlan,
  config: KubernetesConfig,
): { retire: string[]; reflectors: string[] } {
  const nodeAddresses = new Set<string>();
  const reflectorAddresses = new Set<string>();
  for (const n of nodes) {
    if (n.name === self.name) continue;
    const reflector = reflectorClusterId(n, config.routeReflector) !== undefined;
    for (const a of n.internalIPs) {
      nodeAddresses.add(canonicalAddress(a));
      if (reflector) reflectorAddresses.add(canonicalAddress(a));
    }
  }
  return {
    retire: diff.remove.filter((a) => nodeAddresses.has(canonicalAddress(a))),
    reflectors: plan.peers.map((p) => p.address).filter((a) => reflectorAddresses.has(canonicalAddress(a))),
  };
}

export class ClusterController extends EventEmitter<ClusterControllerEvents> {
  readonly policy: ClusterPolicy;
  readonly nodeName: string;
  private readonly source: NodeSource;
  private readonly kc: KubeConfig;
  private peers: PeerConfig[] = [];
  private advertised = '';
  private problemsText = '';
  private policyText = '';
  private clusterIdSeen: string | undefined;
  private readySent = false;
  private reporter: NodeStatusReporter | undefined;
  private readonly services: ServiceSource | undefined;
  private serviceAds: Advertisement[] = [];
  private serviceAdsText = '';
  /** serviceImportKey() as of the last Service plan. */
  private serviceImportText = '';
  /** One frozen attributes object per distinct set, so an unchanged route is the same route to the speaker. */
  private readonly attributeCache = new Map<string, PathAttributes>();

  constructor(private readonly opts: ClusterControllerOptions) {
    super();
    this.nodeName = opts.nodeName ?? opts.config.nodeName ?? process.env.NODE_NAME ?? '';
    this.kc = opts.kubeConfig ?? loadKubeConfig(opts.config.kubeconfig);
    this.source = new NodeSource({
      nodeName: this.nodeName,
      kubeConfig: this.kc,
      resyncBackoff: opts.config.resyncBackoff,
      minHealthyWatchMs: opts.minHealthyWatchMs,
    });
    this.policy = createClusterPolicy({
      localAsn: opts.asn,
      ownPodCIDRs: [],
      clusterPodCIDRs: [],
      importPrefixes: opts.config.importPrefixes,
      routeReflector: false,
      peerAsn: () => undefined,
    });
    this.source.on('waiting', (e) => this.emit('waiting', e));
    this.source.on('connected', (e) => this.emit('connected', e));
    this.source.on('disconnected', (e) => this.emit('disconnected', e));
    this.source.on('log', (e) => this.emit('log', e));
    this.source.on('nodes', () => this.recompute());
    this.source.on('self', () => this.recompute());
    const services = opts.config.services;
    if (services !== undefined) {
      this.services = new ServiceSource({
        kubeConfig: this.kc,
        nodeName: this.nodeName,
        config: services,
        resyncBackoff: opts.config.resyncBackoff,
        ...(opts.minHealthyWatchMs !== undefined ? { minHealthyWatchMs: opts.minHealthyWatchMs } : {}),
      });
      this.services.on('log', (e) => this.emit('log', e));
      this.services.on('plan', () => this.onServices());
    }
  }

  /** The last Service plan (undefined without `kubernetes.services`, or before Services were listed). */
  get servicePlan(): ServicePlan | undefined {
    return this.services?.plan;
  }

  /** The Service routes we advertise, as the speaker takes them. */
  get serviceAdvertisements(): readonly Advertisement[] {
    return this.serviceAds;
  }

  /** The Service and EndpointSlice watches are up (undefined without `kubernetes.services`). */
  get servicesConnected(): boolean | undefined {
    return this.services?.connected;
  }

  get serviceCounts(): { services: number; endpointSlices: number } | undefined {
    return this.services?.counts;
  }

  /** Our Node as last seen, and every Node. */
  get self(): NodeView | undefined {
    return this.source.self;
  }

  get nodes(): NodeView[] {
    return this.source.nodes;
  }

  get connected(): boolean {
    return this.source.connected;
  }

  /** The RFC 4456 CLUSTER_ID when this node is a reflector (for SpeakerConfig.clusterId), else undefined. */
  get clusterId(): string | undefined {
    const self = this.source.self;
    return self ? reflectorClusterId(self, this.opts.config.routeReflector) : undefined;
  }

  /** A BGP identifier: our first IPv4 InternalIP (undefined until our Node is seen, or on IPv6-only nodes). */
  get routerId(): string | undefined {
    return this.source.self?.internalIPs.find((a) => parseIpv4(a) !== undefined);
  }

  start(): void {
    this.source.start();
    this.services?.start();
  }

  async stop(): Promise<void> {
    this.reporter?.cancel();
    await Promise.all([this.source.stop(), this.services?.stop()]);
  }

  /** Sets NetworkUnavailable=False on our Node (retrying); a no-op when `setNetworkCondition` is false. */
  async markNetworkAvailable(
    onError?: (reason: string) => void,
  ): Promise<'patched' | 'unchanged' | 'gave-up' | 'disabled'> {
    if (!this.opts.config.setNetworkCondition) return 'disabled';
    this.reporter ??= new NodeStatusReporter({
      kubeConfig: this.kc,
      nodeName: this.nodeName,
      backoff: this.opts.config.resyncBackoff,
      onError: (reason) => {
        this.emit('log', { level: 'warn', event: 'k8s-status-error', reason });
        onError?.(reason);
      },
    });
    return this.reporter.markNetworkAvailable();
  }

  private recompute(): void {
    const seen = this.source.self;
    if (seen === undefined) return;
    const self = this.opts.config.podCIDRFromNode
      ? seen
      : { ...seen, podCIDRs: this.opts.staticPodCIDRs ?? [] };
    const plan = planCluster(
      self,
      this.source.nodes,
      this.opts.config,
      this.opts.asn,
      this.opts.nodePeerDefaults,
    );
    this.policy.update({ ...plan.policy, ...this.serviceContext() });
    const clusterId = reflectorClusterId(self, this.opts.config.routeReflector);
    const policyText = JSON.stringify([
      this.serviceImportKey(),
      plan.policy.ownPodCIDRs,
      plan.policy.clusterPodCIDRs,
      plan.policy.routeReflector,
      clusterId,
      plan.policy.owners,
      [...(plan.policy.reflectorPeers ?? [])],
      plan.peers.map((p) => [p.address, plan.policy.peerImport?.(p.address)]),
    ]);
    const policyChanged = policyText !== this.policyText;
    this.policyText = policyText;
    const problemsText = plan.problems.join('\n');
    if (problemsText !== this.problemsText) {
      this.problemsText = problemsText;
      for (const problem of plan.problems)
        this.emit('log', { level: 'warn', event: 'k8s-peer-config', problem });
      this.emit('problems', plan.problems);
    }
    const diff = diffPeers(this.peers, plan.peers);
    this.peers = plan.peers;
    if (diff.add.length + diff.remove.length + diff.update.length > 0)
      this.emit('peers', {
        ...diff,
        all: plan.peers,
        ...roles(self, this.source.nodes, diff, plan, this.opts.config),
      });
    // After the peers, in the same turn (before any export): the daemon takes the id once it knows the
    // client sessions it waits for (daemon/retire.ts, clusterIdStep).
    if (clusterId !== this.clusterIdSeen) {
      this.clusterIdSeen = clusterId;
      this.emit('clusterId', clusterId);
    }
    const advertised = JSON.stringify(plan.advertisements);
    if (advertised !== this.advertised) {
      this.advertised = advertised;
      this.emit('advertisements', plan.advertisements);
    }
    this.emitServices(false);
    if (policyChanged) this.emit('policy', plan.policy);
    if (!this.readySent && self.podCIDRs.length > 0) {
      this.readySent = true;
      this.emit('ready', self);
    }
  }

  /** The policy's Service fields from the last plan. */
  private serviceContext(): Pick<PolicyContext, 'serviceAddresses' | 'serviceExport'> {
    const plan = this.services?.plan;
    if (plan === undefined) return {};
    const peers = this.opts.config.services?.exportPeers;
    return {
      serviceAddresses: plan.known,
      serviceExport: {
        prefixes: new Set(plan.routes.map((r) => r.prefix)),
        ...(peers !== undefined ? { peers: new Set(peers) } : {}),
      },
    };
  }

  /**
   * The Service addresses some import rule would take: only their coming or going changes an import verdict
   * (the others are refused anyway), so only they ask the peers for a route refresh.
   */
  private serviceImportKey(): string {
    const known = this.services?.plan?.known;
    if (known === undefined) return '';
    const ctx = this.policy.context;
    const ruleSets = [
      ctx.importPrefixes,
      ...this.peers.map((p) => ctx.peerImport?.(canonicalAddress(p.address))),
    ];
    const covered = [...known.hosts].filter((p) => ruleSets.some((r) => r !== undefined && rulesMatch(r, p)));
    return JSON.stringify([covered.map(String).sort(), known.ranges]);
  }

  private onServices(): void {
    this.policy.update({ ...this.policy.context, ...this.serviceContext() });
    this.emitServices(true);
    const key = this.serviceImportKey();
    if (key === this.serviceImportText) return;
    this.serviceImportText = key;
    // Before our Node is known there are no peers to ask; recompute() takes the key into its own.
    if (this.source.self !== undefined) this.emit('policy', this.policy.context);
  }

  /** Sends `services` when the plan changed (`planChanged`) or our next hops changed the routes. */
  private emitServices(planChanged: boolean): void {
    const plan = this.services?.plan;
    if (plan === undefined) return;
    const self = this.source.self;
    const ads = plan.routes.map((r): Advertisement => {
      const nextHop = self ? addressOfFamily(self.internalIPs, isIpv4Key(r.prefix) ? 4 : 6) : undefined;
      const attributes = this.attributesOf(r.communities, r.localPref);
      return nextHop === undefined
        ? { prefix: r.prefix, attributes }
        : { prefix: r.prefix, nextHop, attributes };
    });
    const text = JSON.stringify(ads);
    if (!planChanged && text === this.serviceAdsText) return;
    this.serviceAdsText = text;
    this.serviceAds = ads;
    this.emit('services', { plan, advertisements: ads });
  }

  private attributesOf(communities: readonly number[], localPref: number | undefined): PathAttributes {
    const key = `${communities.join(',')}/${localPref ?? ''}`;
    let a = this.attributeCache.get(key);
    if (a === undefined) {
      a = Object.freeze({
        origin: ORIGIN_IGP,
        asPath: Object.freeze([]),
        ...(communities.length > 0 ? { communities: Object.freeze([...communities]) } : {}),
        ...(localPref !== undefined ? { localPref } : {}),
      }) as PathAttributes;
      this.attributeCache.set(key, a);
    }
    return a;
  }
}
