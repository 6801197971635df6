/**
 * Kubernetes mode: the ClusterController's events, recorded from the moment it starts, handed to the daemon
 * once our Node is known. The controller emits peers and advertisements before the speaker can exist (the
 * speaker needs the router id, which is our Node's InternalIP), so the feed keeps the current state
 * (`peers`, `advertisements`) and then forwards every later change to the attached daemon.
 *
 * It also keeps what `nodebgp status` shows about the API: connected or not, the last error, what we wait for.
 */
import type { Advertisement, PeerConfig } from '../bgp/api.js';
import { formatPrefix } from '../ip/prefix.js';
import type { ClusterController, ClusterPeerChange, ServiceChange, ServicePlan } from './kubernetes/index.js';
import type { NodeView } from './kubernetes/index.js';
import type { Logger } from './log.js';
import type { KubernetesStatusView, ServicesStatusView } from './views.js';

/** What the daemon does with changes after it has attached. */
export interface ClusterSink {
  peersChanged(change: ClusterPeerChange): void;
  advertisementsChanged(ads: readonly Advertisement[]): void;
  policyChanged(): void;
  clusterIdChanged(clusterId: string | undefined): void;
  servicesChanged(change: ServiceChange): void;
}

export class ClusterFeed {
  readonly peers = new Map<string, PeerConfig>();
  /** Our sessions to route-reflector nodes, as of the last change. */
  reflectors: readonly string[] = [];
  advertisements: readonly Advertisement[] = [];
  /** The Service routes we advertise (`kubernetes.services`), and the plan they come from. */
  serviceAdvertisements: readonly Advertisement[] = [];
  servicePlan: ServicePlan | undefined;
  private sink: ClusterSink | undefined;
  private connected = false;
  private lastError: string | undefined;
  private waiting: string | undefined;
  private problems: readonly string[] = [];
  private readyNode: NodeView | undefined;
  private readonly readyWaiters: ((n: NodeView | undefined) => void)[] = [];

  constructor(
    readonly cluster: ClusterController,
    private readonly log: Logger,
    private readonly podCIDRsFromNode: boolean,
  ) {
    cluster.on('peers', (d) => {
      for (const a of d.remove) this.peers.delete(a);
      for (const p of [...d.add, ...d.update]) this.peers.set(p.address, p);
      this.reflectors = d.reflectors;
      this.sink?.peersChanged(d);
    });
    cluster.on('advertisements', (ads) => {
      this.advertisements = ads;
      this.sink?.advertisementsChanged(ads);
    });
    cluster.on('services', (change) => {
      this.serviceAdvertisements = change.advertisements;
      this.servicePlan = change.plan;
      this.sink?.servicesChanged(change);
    });
    cluster.on('policy', () => this.sink?.policyChanged());
    cluster.on('clusterId', (id) => this.sink?.clusterIdChanged(id));
    cluster.on('problems', (p) => (this.problems = p));
    cluster.on('ready', (node) => this.onReady(node));
    this.listenForLogs();
  }

  private listenForLogs(): void {
    const log = this.log;
    this.cluster.on('connected', (e) => {
      this.connected = true;
      this.waiting = undefined;
      log.info({ event: 'k8s-connected', resourceVersion: e.resourceVersion }, 'kubernetes API connected');
    });
    this.cluster.on('disconnected', (e) => {
      this.connected = false;
      this.lastError = e.reason;
      log.warn({ event: 'k8s-disconnected', reason: e.reason }, 'kubernetes API unreachable; keeping state');
    });
    this.cluster.on('waiting', (e) => {
      this.waiting = e.reason;
      log.info({ event: 'k8s-waiting', reason: e.reason }, e.reason);
    });
    this.cluster.on('log', (e) => {
      const { level, event, ...fields } = e;
      if (level === 'warn' || level === 'error')
        this.lastError = String(fields.reason ?? fields.problem ?? event);
      log[level]({ event, ...fields }, event);
    });
  }

  private onReady(node: NodeView): void {
    this.readyNode = node;
    this.waiting = undefined;
    for (const w of this.readyWaiters.splice(0)) w(node);
  }

  /** Resolves with our Node once it has been seen with a podCIDR; with undefined when `cancel()`ed. */
  ready(): Promise<NodeView | undefined> {
    if (this.readyNode) return Promise.resolve(this.readyNode);
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  cancel(): void {
    for (const w of this.readyWaiters.splice(0)) w(undefined);
  }

  attach(sink: ClusterSink): void {
    this.sink = sink;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  status(): KubernetesStatusView {
    const self = this.cluster.self;
    return {
      nodeName: this.cluster.nodeName,
      connected: this.connected,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      ...(this.waiting !== undefined ? { waiting: this.waiting } : {}),
      podCIDRsSource: this.podCIDRsFromNode ? 'node' : 'config',
      nodePodCIDRs: (self?.podCIDRs ?? []).map(formatPrefix),
      nodes: this.cluster.nodes.length,
      problems: this.problems.length,
      ...(this.cluster.clusterId !== undefined ? { routeReflectorClusterId: this.cluster.clusterId } : {}),
      ...(this.cluster.servicesConnected !== undefined ? { services: this.servicesStatus() } : {}),
    };
  }

  private servicesStatus(): ServicesStatusView {
    const entries = (this.servicePlan?.entries ?? []).map((e) => ({
      service: e.service,
      kind: e.kind,
      address: formatPrefix(e.prefix),
      advertised: e.advertised,
      why: e.why,
      detail: e.detail,
    }));
    return {
      connected: this.cluster.servicesConnected === true,
      listed: this.servicePlan !== undefined,
      ...(this.cluster.serviceCounts ?? { services: 0, endpointSlices: 0 }),
      advertised: this.serviceAdvertisements.length,
      entries,
    };
  }
}
