/**
 * The FIB: the IO shell around the mirror (mirror.ts), as bgp/session.ts is around bgp/fsm.ts. It owns the
 * backend it is handed (the kernel, no kernel, or a test's fake), the sequence numbers, the batching of
 * writes and one timer; every decision is the mirror's.
 *
 * Changes are reconciled at once when the kernel has nothing of ours to do, else coalesced per event-loop
 * turn (setImmediate), in chunks, so writes start while the rest of a big change is compared (and a resync
 * dump is read in pieces the same way); they are sent in 64 KiB batches (batch.ts), a bounded number
 * unanswered at a time, so the event loop (and the BGP sessions on it) keeps turning during a million writes.
 * A failed write is reported with the errno name and retried with exponential backoff, 1 s → 30 s.
 *
 * Cost per route is kept to a map entry and one small object: the wanted next-hop set is interned
 * (wants.ts), resolved once per set, and routes with the same content share one pre-encoded RouteShape
 * (shape.ts). Route dumps are scanned in place (netlink/route-scan.ts), not decoded route by route.
 *
 * Kernel routes belong to the data plane: close({ removeRoutes: false }) leaves ours and our nexthop objects
 * in place (graceful restart); the next start adopts them and keeps those nobody wants as stale until
 * releaseStale() or the stale release deadline.
 */
import type { FibEntryView, FibEvent, FibStats } from './api.js';
import type { Backend } from './backend.js';
import { KERNEL_DEFAULTS } from './defaults.js';
import { FIRST_CHUNK, FibMirror, MirrorAction } from './mirror.js';
import { BATCH_BYTES, SEQ_PER_BATCH, encodeBatch } from './batch.js';
import type { WriteOps } from './write-queue.js';
import type { PrefixKey } from './prefix.js';

export type { FibEntryView, FibEvent, FibStats, FibStatus } from './api.js';

/** Time for the shell: the real clock by default, a virtual one in tests. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface FibOptions {
  /** The kernel (`new NetlinkBackend()`), none (`new NoopBackend()`), or a test's fake. */
  backend: Backend;
  /** Routing table (default KERNEL_DEFAULTS.table, 254: main). */
  table?: number;
  /** rtm_priority of our routes (default KERNEL_DEFAULTS.metric, 20). */
  metric?: number;
  /** rtm_protocol of our routes (default KERNEL_DEFAULTS.protocol, 202: "nodebgp"). */
  protocol?: number;
  /** Release stale routes this long after start() even if releaseStale() is not called (default: never). */
  staleGraceMs?: number;
  onEvent?: (e: FibEvent) => void;
  clock?: Clock;
}

export class Fib {
  private readonly mirror: FibMirror;
  private readonly backend: Backend;
  private readonly clock: Clock;
  private seq = 1 + Math.floor(Math.random() * 0x3fffffff);
  private unanswered = 0;
  private timer: unknown;
  private timerAt: number | undefined;
  private flushScheduled = false;
  private closed = false;
  private waiters: (() => void)[] = [];

  constructor(opts: FibOptions) {
    const table = opts.table ?? KERNEL_DEFAULTS.table;
    const protocol = opts.protocol ?? KERNEL_DEFAULTS.protocol;
    if (!(table > 0 && table < 2 ** 32)) throw new Error(`FibOptions.table: bad table ${table}`);
    if (!(protocol > 0 && protocol < 256)) throw new Error(`FibOptions.protocol: bad protocol ${protocol}`);
    this.backend = opts.backend;
    this.clock = opts.clock ?? realClock;
    const onEvent = opts.onEvent;
    this.mirror = new FibMirror({
      table,
      protocol,
      metric: opts.metric ?? KERNEL_DEFAULTS.metric,
      staleGraceMs: opts.staleGraceMs,
      nexthopResolution: this.backend.nexthopResolution,
      monitorCapacity: this.backend.monitorCapacity,
      emit: onEvent ? (e) => onEvent(e) : () => {},
    });
  }

  /** Subscribe to the kernel's changes, dump links, addresses, nexthop objects and routes, then reconcile. */
  async start(): Promise<void> {
    const { protocol, table } = this.mirror.options;
    await this.backend.subscribe((e) => this.input(() => this.mirror.kernelEvent(e, this.clock.now())), {
      protocol,
      tableByte: table < 256 ? table : 252,
    });
    this.mirror.options.monitorCapacity = this.backend.monitorCapacity;
    const d = await this.backend.dump();
    this.input(() => this.mirror.start(d, this.clock.now()));
  }

  /**
   * Want `prefix` routed via `nexthops` (≥2 = one ECMP route); null = remove our route. May be called
   * before start(): nothing is written until the kernel has been dumped. A next-hop array is taken as
   * immutable once handed over (it is remembered by identity, so pass the same array for the same set).
   */
  set(prefix: PrefixKey, nexthops: readonly string[] | null): void {
    this.input(() => this.mirror.set(prefix, nexthops, this.clock.now()));
  }

  /**
   * set() for parallel arrays. When the kernel has nothing of ours to do, the first FIRST_CHUNK prefixes are
   * taken in, compared and sent before the rest of the change is even looked at: the first routes of a table
   * then leave while the code that takes in the rest of its first UPDATE is still cold (that took ~10 ms of
   * CPU for 1,000 prefixes, so 40–100 ms on a busy machine, before anything was written).
   */
  setMany(prefixes: readonly PrefixKey[], nexthops: readonly (readonly string[] | null)[]): void {
    if (prefixes.length !== nexthops.length)
      throw new Error('setMany: prefixes and nexthops differ in length');
    let i = 0;
    const upTo = (end: number): void => {
      const now = this.clock.now();
      for (; i < end; i++) this.mirror.set(prefixes[i], nexthops[i], now);
    };
    if (prefixes.length > FIRST_CHUNK && this.kernelIdle) this.input(() => upTo(FIRST_CHUNK));
    this.input(() => upTo(prefixes.length));
  }

  /**
   * The whole set of blackhole/unreachable routes (our own pod CIDRs, so traffic to unused pod addresses
   * is dropped here rather than sent to the default route). A prefix left out of a later call is removed.
   */
  setBlackholes(prefixes: readonly PrefixKey[], kind: 'blackhole' | 'unreachable', metric: number): void {
    this.input(() => this.mirror.setBlackholes(prefixes, kind, metric, this.clock.now()));
  }

  /** Remove our routes from a previous run that nobody wants now (once). */
  releaseStale(): void {
    this.input(() => this.mirror.releaseStale(this.clock.now()));
  }

  entries(): FibEntryView[] {
    return this.mirror.entries();
  }

  stats(): FibStats {
    return this.mirror.stats();
  }

  /** Resolves once nothing is waiting to be written or acknowledged (failed routes wait for their retry). */
  flushed(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.checkFlushed();
    });
  }

  /**
   * Stop. With `removeRoutes`, our routes and then our nexthop objects are deleted first; without, they stay
   * in the kernel for the next run to adopt (kernel routes belong to the data plane, not to the process).
   */
  async close(opts: { removeRoutes: boolean }): Promise<void> {
    if (this.closed) return;
    if (opts.removeRoutes && this.mirror.started) {
      this.input(() => this.mirror.removeAll(this.clock.now()));
      await this.flushed();
      this.input(() => this.mirror.removeNexthops());
      await this.flushed();
    }
    this.closed = true;
    this.mirror.close();
    if (this.timerAt !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = undefined;
    this.backend.close();
    this.checkFlushed();
  }

  // --- the shell's loop ----------------------------------------------------------------------------

  /** Apply one input to the mirror, then do what it asks: reconcile, send, dump, arm the timer. */
  private input(fn: () => void): void {
    if (this.closed) return;
    fn();
    this.afterInput();
  }

  private afterInput(): void {
    if (this.closed) return;
    // The kernel has nothing of ours to do: compare a few prefixes and send them now rather than at the end of
    // this event-loop turn, which a burst of socket reads can push back by hundreds of milliseconds — so the
    // first routes of a table reach the kernel while the rest of it is still arriving. The rest, and every
    // change while writes are under way, is coalesced and compared in chunks.
    if (this.mirror.hasDirty && this.kernelIdle) this.mirror.reconcile(this.clock.now(), FIRST_CHUNK);
    if ((this.mirror.hasDirty || this.mirror.hasScan) && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    this.pump();
    for (let a = this.mirror.pollAction(); a; a = this.mirror.pollAction()) this.act(a);
    this.armTimer();
    this.checkFlushed();
  }

  /** Nothing of ours is queued for the kernel or unanswered by it. */
  private get kernelIdle(): boolean {
    return this.unanswered === 0 && !this.mirror.hasWrites;
  }

  private flush(): void {
    this.flushScheduled = false;
    this.input(() => {
      // A resync dump is read a piece per turn, as a big change is compared.
      this.mirror.scanDump(this.clock.now());
      this.mirror.reconcile(this.clock.now());
    });
  }

  /** Send queued writes in 64 KiB batches while fewer than backend.maxUnanswered messages are unanswered. */
  private pump(): void {
    const b = this.backend;
    while (this.unanswered < b.maxUnanswered) {
      const room = Math.min(SEQ_PER_BATCH, b.maxBatchMessages, b.maxUnanswered - this.unanswered);
      const ops = this.mirror.takeWrites(room, BATCH_BYTES);
      if (!ops) return;
      const buf = b.batchBuffer(BATCH_BYTES); // its own memory: handed to the writer thread and back
      if (this.seq + ops.slots.length > 0x7fffffff) this.seq = 1;
      const first = this.seq;
      this.seq += ops.slots.length;
      const len = encodeBatch(ops, this.mirror.shapes, (s) => this.mirror.keyOf(s), first, buf);
      this.unanswered += ops.slots.length;
      b.send({
        buf: buf.subarray(0, len),
        first,
        last: first + ops.slots.length - 1,
        done: (failed, lost) => this.onAnswer(ops, first, failed, lost),
      });
    }
  }

  private onAnswer(
    ops: WriteOps,
    first: number,
    failed: ReadonlyMap<number, number> | undefined,
    lost: number,
  ): void {
    this.unanswered -= ops.slots.length;
    let byIndex: Map<number, number> | undefined;
    if (failed) for (const [seq, errno] of failed) (byIndex ??= new Map()).set(seq - first, errno);
    if (this.closed) return;
    this.input(() => this.mirror.answer(ops, byIndex, lost, this.clock.now()));
  }

  private act(a: MirrorAction): void {
    switch (a.type) {
      case 'route-events':
        return this.backend.routeEvents(a.on);
      case 'dump':
        this.backend.dumpRoutes(a.nexthops).then(
          (d) => this.input(() => this.mirror.dumpDone(d, this.clock.now())),
          (err: Error) => this.input(() => this.mirror.dumpFailed(err.message, this.clock.now())),
        );
        return;
    }
  }

  private armTimer(): void {
    const at = this.mirror.nextDeadline();
    if (at === this.timerAt) return;
    if (this.timerAt !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    if (at === undefined) return;
    this.timer = this.clock.setTimeout(
      () => {
        this.timerAt = undefined;
        this.input(() => this.mirror.timeout(this.clock.now()));
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  private checkFlushed(): void {
    if (this.waiters.length === 0) return;
    if (!this.closed && (this.flushScheduled || !this.mirror.idle)) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
