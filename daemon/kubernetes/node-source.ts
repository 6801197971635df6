/**
 * The node source: one list + watch of all `Node` objects through the Kubernetes API, turned into events
 * the daemon acts on.
 *
 *   list /api/v1/nodes ─► cache (name → NodeView), resourceVersion
 *        │
 *        └─► watch from resourceVersion ─► ADDED / MODIFIED / DELETED update the cache
 *                                          BOOKMARK only advances resourceVersion
 *                                          ERROR 410 Expired ("too old resource version") ─► relist
 *            stream ends after a while ─► rewatch from the last resourceVersion at once
 *            stream fails / ends at once / API unreachable ─► `disconnected`, back off (doubling), rewatch
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
import { CoreV1Api, KubeConfig, Watch, type V1Node } from '@kubernetes/client-node';
import { nodeView, sameView, type NodeView } from './node-view.js';

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

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

type WatchEnd =
  | { kind: 'expired'; reason: string }
  | { kind: 'ended'; healthy: boolean; reason: string }
  | { kind: 'failed'; reason: string };

interface WatchObject {
  metadata?: { name?: string; resourceVersion?: string };
  code?: number;
  reason?: string;
  message?: string;
}

export class NodeSource extends EventEmitter<NodeSourceEvents> {
  private readonly opts: NodeSourceOptions;
  private readonly kc: KubeConfig;
  private readonly api: CoreV1Api;
  private readonly cache = new Map<string, NodeView>();
  private resourceVersion: string | undefined;
  private stopped = true;
  private link: 'unknown' | 'up' | 'down' = 'unknown';
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private flushScheduled = false;
  private nodesDirty = false;
  private lastSelf: NodeView | undefined;
  private lastWaiting: string | undefined;
  private loop: Promise<void> | undefined;

  constructor(opts: NodeSourceOptions) {
    super();
    if (!opts.nodeName)
      throw new Error('kubernetes: nodeName is empty (set NODE_NAME or kubernetes.nodeName)');
    this.opts = opts;
    this.kc = opts.kubeConfig ?? loadKubeConfig(opts.kubeconfig);
    this.api = this.kc.makeApiClient(CoreV1Api);
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
    return this.resourceVersion;
  }

  get connected(): boolean {
    return this.link === 'up';
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Stops the watch; resolves once the loop has ended. The cached state stays readable. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
    await this.loop;
  }

  /**
   * list → watch → watch → … ; a 410 relists at once (twice in a row: after a backoff, so a server that keeps
   * expiring us is not hammered); other failures back off, doubling, with ±20 % jitter so that a thousand
   * nodes do not reconnect to a restarted API server in the same instant.
   */
  private async run(): Promise<void> {
    const backoff = this.opts.resyncBackoff ?? { initialMs: 500, maxMs: 30_000 };
    let delay = backoff.initialMs;
    let needList = true;
    let expiredInRow = 0;
    const pause = async (): Promise<void> => {
      await this.sleep(delay * (0.8 + Math.random() * 0.4));
      delay = Math.min(delay * 2, backoff.maxMs);
    };
    while (!this.stopped) {
      if (needList) {
        const listed = await this.list();
        if (this.stopped) return;
        if (listed !== true) {
          this.setDisconnected(listed);
          await pause();
          continue;
        }
        needList = false;
      }
      const end = await this.watchOnce();
      if (this.stopped) return;
      if (end.kind === 'expired') {
        this.emit('log', { level: 'info', event: 'k8s-watch-expired', reason: end.reason });
        needList = true;
        if (++expiredInRow > 1) await pause();
        continue;
      }
      expiredInRow = 0;
      if (end.kind === 'ended' && end.healthy) {
        delay = backoff.initialMs;
        continue;
      }
      this.setDisconnected(end.reason);
      await pause();
    }
  }

  /**
   * Lists all nodes, in pages of `listPageSize` (one consistent snapshot: the server's continue token pins
   * the first page's resourceVersion), and replaces the cache; true, or why it failed (the cache is kept).
   */
  private async list(): Promise<true | string> {
    const items: V1Node[] = [];
    let rv: string | undefined;
    let next: string | undefined;
    try {
      do {
        const page = await this.api.listNode({ limit: this.opts.listPageSize ?? 500, _continue: next });
        items.push(...page.items);
        rv = page.metadata?.resourceVersion;
        next = page.metadata?._continue || undefined;
      } while (next !== undefined && !this.stopped);
    } catch (err) {
      return `list nodes: ${describeError(err)}`;
    }
    const seen = new Set<string>();
    for (const node of items) {
      const name = node.metadata?.name;
      if (!name) continue;
      seen.add(name);
      this.put(node);
    }
    for (const name of [...this.cache.keys()]) if (!seen.has(name)) this.remove(name);
    this.resourceVersion = rv;
    this.emit('log', { level: 'debug', event: 'k8s-listed', nodes: items.length, resourceVersion: rv });
    this.setConnected();
    this.scheduleFlush();
    return true;
  }

  /** One watch stream, from the last resourceVersion, until it ends. */
  private watchOnce(): Promise<WatchEnd> {
    const started = Date.now();
    const minHealthy = this.opts.minHealthyWatchMs ?? 5000;
    const timeoutSeconds = this.opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 60);
    return new Promise<WatchEnd>((resolve) => {
      let ended = false;
      let expired: WatchEnd | undefined;
      let events = 0;
      let controller: AbortController | undefined;
      const finish = (end: WatchEnd): void => {
        if (ended) return;
        ended = true;
        this.wake = undefined;
        resolve(end);
      };
      const onEvent = (phase: string, obj: unknown): void => {
        if (ended || expired) return;
        events++;
        const result = this.handleEvent(phase, obj as WatchObject);
        if (result !== undefined) {
          expired = result;
          controller?.abort();
        }
      };
      const onDone = (err: unknown): void => {
        if (expired) return finish(expired);
        if (err && isGone(err)) return finish({ kind: 'expired', reason: describeError(err) });
        if (err && !this.stopped)
          return finish({ kind: 'failed', reason: `watch nodes: ${describeError(err)}` });
        const healthy = Date.now() - started >= minHealthy || events > 0;
        finish({ kind: 'ended', healthy, reason: 'watch nodes: the stream ended at once' });
      };
      this.wake = () => finish({ kind: 'ended', healthy: true, reason: 'stopped' });
      const query = { resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds };
      new Watch(this.kc)
        .watch('/api/v1/nodes', query, onEvent, onDone)
        .then((c) => {
          controller = c;
          this.abort = c;
          // Stopped, or an ERROR event arrived before the controller was ours to abort: end the stream now.
          if (this.stopped || (expired !== undefined && !ended)) controller.abort();
          else if (!ended) this.setConnected();
        })
        .catch((err: unknown) => onDone(err));
    });
  }

  /** Applies one watch event; returns an end for an ERROR event (410: relist; others: back off). */
  private handleEvent(phase: string, obj: WatchObject): WatchEnd | undefined {
    const rv = obj?.metadata?.resourceVersion;
    switch (phase) {
      case 'ADDED':
      case 'MODIFIED':
        this.put(obj as V1Node);
        break;
      case 'DELETED':
        if (obj.metadata?.name) this.remove(obj.metadata.name);
        break;
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        const reason = `watch nodes: ${obj?.code ?? '?'} ${obj?.reason ?? ''}: ${obj?.message ?? ''}`.trim();
        // 410 Gone / Expired: our resourceVersion is older than etcd's compaction window; only a relist helps.
        if (obj?.code === 410 || obj?.reason === 'Expired' || obj?.reason === 'Gone')
          return { kind: 'expired', reason };
        return { kind: 'failed', reason };
      }
      default:
        this.emit('log', { level: 'warn', event: 'k8s-watch-unknown-event', phase });
        return undefined;
    }
    if (rv) this.resourceVersion = rv;
    this.scheduleFlush();
    return undefined;
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

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
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

  private setConnected(): void {
    if (this.link === 'up') return;
    this.link = 'up';
    this.emit('connected', { resourceVersion: this.resourceVersion ?? '' });
  }

  /** Reports the first failure after being up (or before ever being up); later ones are only logged. */
  private setDisconnected(reason: string): void {
    this.emit('log', { level: 'warn', event: 'k8s-api-error', reason });
    if (this.link === 'down') return;
    this.link = 'down';
    this.emit('disconnected', { reason });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}

function isGone(err: unknown): boolean {
  const e = err as { statusCode?: number; code?: number };
  return e?.statusCode === 410 || e?.code === 410;
}

/** An error from the client as one line: HTTP code and the Status message when the server sent one. */
export function describeError(err: unknown): string {
  if (err === null || typeof err !== 'object') return String(err);
  const e = err as { code?: unknown; statusCode?: unknown; body?: unknown; message?: unknown };
  const status =
    typeof e.statusCode === 'number' ? e.statusCode : typeof e.code === 'number' ? e.code : undefined;
  let message = typeof e.message === 'string' ? e.message.split('\n')[0]! : String(err);
  if (typeof e.body === 'string') {
    try {
      const body = JSON.parse(e.body) as { message?: unknown };
      if (typeof body.message === 'string') message = body.message;
    } catch {
      // not JSON: keep the client's message
    }
  }
  if (typeof e.code === 'string') message = `${e.code}: ${message}`;
  return status !== undefined ? `HTTP ${status}: ${message}` : message;
}
