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
 * Events: `peers` (PeerDiff plus the full list), `advertisements` (Advertisement[]), `problems` (string[],
 * each naming the node and field; also sent as `log`), `ready` (our Node first seen with a podCIDR), `policy`
 * (the import policy's inputs changed: routes refused earlier may now pass — ask peers for a route refresh), and the
 * NodeSource's `waiting`, `connected`, `disconnected`, `log`. Nothing is emitted while the API server is
 * unreachable, so the speaker keeps its peers and advertisements (see node-source.ts).
 */
import { EventEmitter } from 'node:events';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Advertisement, PeerConfig } from '../../bgp/api.js';
import { type PrefixKey } from '../../ip/prefix.js';
import { parseIpv4 } from '../../ip/address.js';
import { NodeSource, loadKubeConfig, type NodeSourceEvents } from './node-source.js';
import type { NodeView } from './node-view.js';
import {
  desiredAdvertisements,
  desiredPeers,
  diffPeers,
  reflectorClusterId,
  type PeerDiff,
  type PeerPlanOptions,
} from './peers.js';
import type { DaemonPeer } from '../config.js';
import { createClusterPolicy, type ClusterPolicy, type PolicyContext } from './policy.js';
import type { KubernetesConfig } from './schema.js';
import { NodeStatusReporter } from './status.js';

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
  peers: [PeerDiff & { all: PeerConfig[] }];
  advertisements: [Advertisement[]];
  problems: [string[]];
  ready: [NodeView];
  /** The import policy's inputs changed (a podCIDR appeared or went): re-run import, e.g. by route refresh. */
  policy: [PolicyContext];
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
    routeReflectorClusterId: config.routeReflector?.clusterId,
    peerAnnotation: config.peerAnnotation,
    externalPeers: config.peers,
    nodePeerDefaults: {
      ...defaults,
      ...(config.meshPasswordFile !== undefined ? { passwordFile: config.meshPasswordFile } : {}),
    },
  };
  const planned = desiredPeers(self, nodes, opts);
  const problems = planned.problems;
  // kubernetes.bfd: the default for every cluster peer that sets none of its own.
  const bfd = config.bfd;
  const peers: DaemonPeer[] =
    bfd === undefined
      ? planned.peers
      : planned.peers.map((p: DaemonPeer) => (p.bfd !== undefined ? p : { ...p, bfd }));
  const asnOf = new Map(peers.map((p) => [p.address, p.asn]));
  const policy: PolicyContext = {
    localAsn: asn,
    ownPodCIDRs: self.podCIDRs,
    clusterPodCIDRs: nodes.filter((n) => n.name !== self.name).flatMap((n) => n.podCIDRs),
    importPrefixes: config.importPrefixes,
    routeReflector: reflectorClusterId(self, config.routeReflector?.clusterId) !== undefined,
    peerAsn: (peer) => asnOf.get(peer),
    exportCommunities: config.exportCommunities,
    exportPrepend: config.exportPrepend,
  };
  return { peers, problems, advertisements: desiredAdvertisements(self), policy };
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
  private readySent = false;
  private reporter: NodeStatusReporter | undefined;

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
    return self ? reflectorClusterId(self, this.opts.config.routeReflector?.clusterId) : undefined;
  }

  /** A BGP identifier: our first IPv4 InternalIP (undefined until our Node is seen, or on IPv6-only nodes). */
  get routerId(): string | undefined {
    return this.source.self?.internalIPs.find((a) => parseIpv4(a) !== undefined);
  }

  start(): void {
    this.source.start();
  }

  async stop(): Promise<void> {
    this.reporter?.cancel();
    await this.source.stop();
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
    this.policy.update(plan.policy);
    const policyText = JSON.stringify([
      plan.policy.ownPodCIDRs,
      plan.policy.clusterPodCIDRs,
      plan.policy.routeReflector,
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
      this.emit('peers', { ...diff, all: plan.peers });
    const advertised = JSON.stringify(plan.advertisements);
    if (advertised !== this.advertised) {
      this.advertised = advertised;
      this.emit('advertisements', plan.advertisements);
    }
    if (policyChanged) this.emit('policy', plan.policy);
    if (!this.readySent && self.podCIDRs.length > 0) {
      this.readySent = true;
      this.emit('ready', self);
    }
  }
}
