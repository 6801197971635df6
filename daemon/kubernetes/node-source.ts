/**
 * The node source: one list + watch of all `Node` objects through the Kubernetes API (list-watch.ts: relist
 * on 410, bookmarks, back-off, nothing withdrawn while the API server is away), turned into events the
 * daemon acts on.
 *
 * Events (all debounced to one per event-loop turn):
 *   `self`    (NodeView)          our own Node changed in a way we use (podCIDRs, addresses, labels, annotations)
 *   `nodes`   (NodeView[])        the full node list, sorted by name, when any node joined, left or changed
 *   `waiting` ({ reason })        our Node is missing or has no podCIDR yet; we keep watching
 *   `connected` ({ resourceVersion }) / `disconnected` ({ reason }) around API server reachability
 *   `log`     ({ level, event, … }) typed log events, as the speaker emits them
 *
 * While the API server is unreachable nothing is emitted that would withdraw anything: the cache keeps the
 * last known state, and only a successful relist or watch event (the API server saying so) removes a node.
 * Our own Node being deleted does not withdraw our podCIDRs either: we report `waiting` and keep the last
 * `self`, since a node without its Node object is being drained or re-registered, and its pods still run.
 */
import { EventEmitter } from 'node:events';
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { ListWatch, oncePerTurn, type Backoff } from './list-watch.js';
import { nodeView, sameView, type NodeView } from './node-view.js';

export { describeError } from './list-watch.js';
export type { Backoff } from './list-watch.js';

export interface NodeSourceOptions {
  /** Our Node's name (NODE_NAME). */
  readonly nodeName: string;
  /** A ready KubeConfig (tests); else `kubeconfig` is loaded as `loadKubeConfig` says. */
  readonly kubeConfig?: KubeConfig;
  readonly kubeconfig?: string;
  readonly resyncBackoff?: Backoff;
  /** Nodes per list request (default 500, as client-go's pager). */
  readonly listPageSize?: number;
  /** A watch that lasted at least this long before ending counts as a normal server timeout (default 5 s). */
  readonly minHealthyWatchMs?: number;
  /** Asked of the server per watch (default 300 s plus up to 60 s of jitter, as client-go does). */
  readonly watchTimeoutSeconds?: number;
}

export interface NodeSourceEvents {
  self: [NodeView];
  nodes: [NodeView[]];
  waiting: [{ reason: string }];
  connected: [{ resourceVersion: string }];
  disconnected: [{ reason: string }];
  log: [{ level: 'debug' | 'info' | 'warn' | 'error'; event: string; [k: string]: unknown }];
}

/**
 * Loads the client configuration: an explicit kubeconfig file, else the in-cluster service account (when
 * KUBERNETES_SERVICE_HOST is set, as in every pod), else KUBECONFIG / ~/.kube/config.
 */
export function loadKubeConfig(kubeconfig?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig !== undefined) kc.loadFromFile(kubeconfig);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

export class NodeSource extends EventEmitter<NodeSourceEvents> {
  private readonly opts: NodeSourceOptions;
  private readonly kc: KubeConfig;
  private readonly watch: ListWatch<V1Node>;
  private readonly cache = new Map<string, NodeView>();
  private readonly scheduleFlush = oncePerTurn(() => this.flush());
  private nodesDirty = false;
  private lastSelf: NodeView | undefined;
  private lastWaiting: string | undefined;

  constructor(opts: NodeSourceOptions) {
    super();
    if (!opts.nodeName)
      throw new Error('kubernetes: nodeName is empty (set NODE_NAME or kubernetes.nodeName)');
    this.opts = opts;
    this.kc = opts.kubeConfig ?? loadKubeConfig(opts.kubeconfig);
    const api = this.kc.makeApiClient(CoreV1Api);
    this.watch = new ListWatch<V1Node>({
      kubeConfig: this.kc,
      what: 'nodes',
      path: '/api/v1/nodes',
      list: (limit, next) => api.listNode({ limit, _continue: next }),
      sink: {
        replace: (items) => {
          const seen = new Set<string>();
          for (const node of items) {
            const name = node.metadata?.name;
            if (!name) continue;
            seen.add(name);
            this.put(node);
          }
          for (const name of [...this.cache.keys()]) if (!seen.has(name)) this.remove(name);
        },
        put: (node) => this.put(node),
        remove: (node) => {
          if (node.metadata?.name) this.remove(node.metadata.name);
        },
        changed: () => this.scheduleFlush(),
      },
      ...(opts.resyncBackoff !== undefined ? { resyncBackoff: opts.resyncBackoff } : {}),
      ...(opts.listPageSize !== undefined ? { listPageSize: opts.listPageSize } : {}),
      ...(opts.minHealthyWatchMs !== undefined ? { minHealthyWatchMs: opts.minHealthyWatchMs } : {}),
      ...(opts.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: opts.watchTimeoutSeconds } : {}),
    });
    this.watch.on('connected', (e) => this.emit('connected', e));
    this.watch.on('disconnected', (e) => this.emit('disconnected', e));
    this.watch.on('log', (e) => this.emit('log', e));
  }

  /** Our own Node as last seen (kept while the API server is unreachable or after our Node was deleted). */
  get self(): NodeView | undefined {
    return this.lastSelf;
  }

  /** Every known Node, sorted by name. */
  get nodes(): NodeView[] {
    return [...this.cache.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get lastResourceVersion(): string | undefined {
    return this.watch.lastResourceVersion;
  }

  get connected(): boolean {
    return this.watch.connected;
  }

  start(): void {
    this.watch.start();
  }

  /** Stops the watch; resolves once the loop has ended. The cached state stays readable. */
  stop(): Promise<void> {
    return this.watch.stop();
  }

  private put(node: V1Node): void {
    const { view, problems } = nodeView(node);
    if (!view.name) return;
    for (const problem of problems) this.emit('log', { level: 'warn', event: 'k8s-node-invalid', problem });
    const old = this.cache.get(view.name);
    if (old !== undefined && sameView(old, view)) return;
    this.cache.set(view.name, view);
    this.nodesDirty = true;
  }

  private remove(name: string): void {
    if (this.cache.delete(name)) this.nodesDirty = true;
  }

  /**
   * Emits what changed since the last flush: `nodes`, then `self`, then `waiting`. `self` (the getter) is
   * already current when `nodes` is emitted, so a listener of either sees one consistent snapshot.
   */
  private flush(): void {
    const self = this.cache.get(this.opts.nodeName);
    let waiting: string | undefined;
    if (self === undefined)
      waiting = this.lastSelf
        ? `node ${this.opts.nodeName} was deleted; keeping its last known state`
        : `node ${this.opts.nodeName} not found`;
    else if (self.podCIDRs.length === 0) waiting = `node ${this.opts.nodeName} has no spec.podCIDRs yet`;
    const selfChanged = self !== undefined && (this.lastSelf === undefined || !sameView(self, this.lastSelf));
    if (selfChanged) this.lastSelf = self;
    if (this.nodesDirty) {
      this.nodesDirty = false;
      this.emit('nodes', this.nodes);
    }
    if (selfChanged) this.emit('self', self);
    if (waiting !== undefined && waiting !== this.lastWaiting) this.emit('waiting', { reason: waiting });
    this.lastWaiting = waiting;
  }
}
