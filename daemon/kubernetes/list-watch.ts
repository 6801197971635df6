/**
 * One list + watch of one kind of object through the Kubernetes API, with the resilience every source needs
 * (Nodes in node-source.ts, Services and EndpointSlices in service-source.ts):
 *
 *   list (paged) ─► sink.replace(items), resourceVersion
 *        │
 *        └─► watch from resourceVersion ─► ADDED / MODIFIED: sink.put, DELETED: sink.remove
 *                                          BOOKMARK only advances resourceVersion
 *                                          ERROR 410 Expired ("too old resource version") ─► relist
 *            stream ends after a while ─► rewatch from the last resourceVersion at once
 *            stream fails / ends at once / API unreachable ─► `disconnected`, back off (doubling), rewatch
 *
 * After each applied change `sink.changed()` is called; the sink debounces. While the API server is
 * unreachable the sink hears nothing: it keeps what it knows, and only a successful relist (`replace`) or a
 * watch event — the API server saying so — removes anything.
 */
import { EventEmitter } from 'node:events';
import { Watch, type KubeConfig } from '@kubernetes/client-node';

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** One page of a list: the client's `V1NodeList`, `V1ServiceList`, … */
export interface ListPage<T> {
  readonly items: readonly T[];
  readonly metadata?: { readonly resourceVersion?: string; readonly _continue?: string };
}

/**
 * `fn` at most once per event-loop turn, however often the returned function is called in it: a sink's
 * `changed()` for a relist of thousands of objects becomes one flush.
 */
export function oncePerTurn(fn: () => void): () => void {
  let scheduled = false;
  return () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      fn();
    });
  };
}

/** Where the objects go. */
export interface ListWatchSink<T> {
  /** A full list arrived: these are all the objects there are now. */
  replace(items: readonly T[]): void;
  put(obj: T): void;
  remove(obj: T): void;
  /** Something was applied (list or event): emit what changed, debounced. */
  changed(): void;
}

export interface ListWatchOptions<T> {
  readonly kubeConfig: KubeConfig;
  /** For messages and logs: "nodes", "services", "endpointslices". */
  readonly what: string;
  /** The watch path, e.g. /api/v1/nodes. */
  readonly path: string;
  readonly list: (limit: number, continueToken: string | undefined) => Promise<ListPage<T>>;
  readonly sink: ListWatchSink<T>;
  readonly resyncBackoff?: Backoff;
  /** Objects per list request (default 500, as client-go's pager). */
  readonly listPageSize?: number;
  /** A watch that lasted at least this long before ending counts as a normal server timeout (default 5 s). */
  readonly minHealthyWatchMs?: number;
  /** Asked of the server per watch (default 300 s plus up to 60 s of jitter, as client-go does). */
  readonly watchTimeoutSeconds?: number;
}

export interface ListWatchEvents {
  connected: [{ resourceVersion: string }];
  disconnected: [{ reason: string }];
  log: [{ level: 'debug' | 'info' | 'warn' | 'error'; event: string; [k: string]: unknown }];
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

export class ListWatch<T> extends EventEmitter<ListWatchEvents> {
  private resourceVersion: string | undefined;
  private stopped = true;
  private link: 'unknown' | 'up' | 'down' = 'unknown';
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: ListWatchOptions<T>) {
    super();
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

  /** Stops the watch; resolves once the loop has ended. */
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
        this.emit('log', {
          level: 'info',
          event: 'k8s-watch-expired',
          what: this.opts.what,
          reason: end.reason,
        });
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
   * Lists everything, in pages of `listPageSize` (one consistent snapshot: the server's continue token pins
   * the first page's resourceVersion), and replaces the sink's objects; true, or why it failed (the sink
   * keeps what it had).
   */
  private async list(): Promise<true | string> {
    const items: T[] = [];
    let rv: string | undefined;
    let next: string | undefined;
    try {
      do {
        const page = await this.opts.list(this.opts.listPageSize ?? 500, next);
        items.push(...page.items);
        rv = page.metadata?.resourceVersion;
        next = page.metadata?._continue || undefined;
      } while (next !== undefined && !this.stopped);
    } catch (err) {
      return `list ${this.opts.what}: ${describeError(err)}`;
    }
    this.opts.sink.replace(items);
    this.resourceVersion = rv;
    this.emit('log', {
      level: 'debug',
      event: 'k8s-listed',
      what: this.opts.what,
      [this.opts.what]: items.length,
      resourceVersion: rv,
    });
    this.setConnected();
    this.opts.sink.changed();
    return true;
  }

  /** One watch stream, from the last resourceVersion, until it ends. */
  private watchOnce(): Promise<WatchEnd> {
    const started = Date.now();
    const minHealthy = this.opts.minHealthyWatchMs ?? 5000;
    const timeoutSeconds = this.opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 60);
    const what = this.opts.what;
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
          return finish({ kind: 'failed', reason: `watch ${what}: ${describeError(err)}` });
        const healthy = Date.now() - started >= minHealthy || events > 0;
        finish({ kind: 'ended', healthy, reason: `watch ${what}: the stream ended at once` });
      };
      this.wake = () => finish({ kind: 'ended', healthy: true, reason: 'stopped' });
      const query = { resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds };
      new Watch(this.opts.kubeConfig)
        .watch(this.opts.path, query, onEvent, onDone)
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
        this.opts.sink.put(obj as T);
        break;
      case 'DELETED':
        this.opts.sink.remove(obj as T);
        break;
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        const reason =
          `watch ${this.opts.what}: ${obj?.code ?? '?'} ${obj?.reason ?? ''}: ${obj?.message ?? ''}`.trim();
        // 410 Gone / Expired: our resourceVersion is older than etcd's compaction window; only a relist helps.
        if (obj?.code === 410 || obj?.reason === 'Expired' || obj?.reason === 'Gone')
          return { kind: 'expired', reason };
        return { kind: 'failed', reason };
      }
      default:
        this.emit('log', { level: 'warn', event: 'k8s-watch-unknown-event', what: this.opts.what, phase });
        return undefined;
    }
    if (rv) this.resourceVersion = rv;
    this.opts.sink.changed();
    return undefined;
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
