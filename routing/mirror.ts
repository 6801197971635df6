/**
 * The FIB mirror, sans IO: for every prefix what the daemon WANTS (next hops, or a blackhole) and what is
 * INSTALLED in the kernel, and the writes that make the second equal the first. It never touches a socket or
 * a clock: every input carries `now`, writes come out as operations (takeWrites) and go back in as answers
 * with their errno (answer), kernel notifications and dumps come in as values (kernelEvent, start,
 * dumpDone), and the time it next needs attention — a retry, the end of paused notifications, a resync, the
 * release of stale routes — is one deadline (nextDeadline / timeout). fib.ts is its IO shell.
 *
 * Ownership: only routes carrying our rtm_protocol in our table are ever written or deleted; everything else
 * is read, for next-hop resolution, and never changed. A write that would replace another program's route
 * (same table, prefix and metric) is refused and reported.
 *
 * The resync races. A dump is read while our writes go on, so what it shows of a prefix may be older than
 * what an answer told us since:
 * - `answeredAt`: the answer count when the kernel last answered a write for the prefix. A dump asked for
 *   at answer count `mark` is believed only for prefixes with answeredAt ≤ mark.
 * - `busy`: writes in flight for the prefix. A dump or a notification that disagrees with a busy prefix
 *   sets `redo`: it is compared again once its writes are answered.
 * - `removedSince`: prefixes taken out of the mirror after the dump was asked for are not brought back by it.
 *
 * Start: our routes found in the kernel that are wanted and identical are adopted (no rewrite); ours that
 * are not wanted are STALE — left in place until releaseStale() (after End-of-RIB) or the stale release
 * deadline (staleGraceMs after start). A deletion of one of our routes by someone else is re-asserted; a
 * link or address change makes every next hop resolve again (kernel.ts).
 */
import type { FibEntryView, FibEvent, FibStats } from './api.js';
import type { KernelDump, MonitorEvent, RouteDump } from './backend.js';
import type { Want } from './want.js';
import {
  FAILED,
  FibTable,
  INSTALLED,
  PENDING,
  QUEUED,
  REDO,
  STATUS,
  UNRESOLVABLE,
  WANT_REMOVE,
  WANT_STALE,
} from './fib-table.js';
import { KernelState } from './kernel.js';
import { NexthopObject, NexthopRegistry } from './nexthops.js';
import { RouteShape, ShapeTable } from './shape.js';
import { PrefixKey, AF_INET, encodeKey, Family } from './prefix.js';
import { Retries, retryDelay } from './retries.js';
import { WantTable } from './wants.js';
import { WriteOps, WriteQueue } from './write-queue.js';
import { entryView, kernelView } from './views.js';
import type { FibStatus } from './api.js';
import type { RouteMsg } from './netlink/codec.js';
import { RTM, RTN, errnoName } from './netlink/constants.js';
import { DumpScan, scanDump } from './dump-scan.js';
import { Resolutions } from './resolutions.js';
import { formatPrefix as formatKey } from '../ip/prefix.js';

export interface MirrorOptions {
  table: number;
  metric: number;
  protocol: number;
  /** Release stale routes this long after start even if releaseStale() is not called (default: never). */
  staleGraceMs?: number;
  /** `as-given`: next hops are used as they are, without a device (no kernel to resolve them in). */
  nexthopResolution: 'kernel' | 'as-given';
  /** Route notifications the monitor socket holds (Backend.monitorCapacity). */
  monitorCapacity: number;
  emit: (e: FibEvent) => void;
  /** Routes of a resync dump read per scanDump() (default SCAN_CHUNK; tests pass fewer). */
  scanChunk?: number;
  /** The order of big backlogs (see SHUFFLE_MIN); tests pass a seeded one. Default Math.random. */
  random?: () => number;
}

/** What the mirror asks of its shell, besides the writes. */
export type MirrorAction =
  /** Dump routes (and nexthop objects, if `nexthops`) and hand the result to dumpDone(). */
  | { type: 'dump'; nexthops: boolean }
  /** Leave (false) or join again (true) the route notification groups. */
  | { type: 'route-events'; on: boolean };

/**
 * This many writes queued or unanswered stop route notifications until the writes are over (see
 * pauseRouteEvents) — fewer if the monitor socket's buffer holds fewer than twice as many notifications.
 */
export const BURST = 1024;
/**
 * Route notifications start again (and the catch-up dump is read) this long after the last write of a burst
 * is answered. Bursts come back to back — a table, then a session drop — and the dump of a million routes
 * costs both threads most of a second: begun 200 ms after a 1M load, it ran into the drop that followed
 * (the drop's own pause brings another dump after it, of an empty table). A second of quiet first.
 */
export const SETTLE_MS = 1000;
/** A resync for a link or address change waits this long for the rest of the change to arrive. */
export const RESYNC_DELAY_MS = 50;
/** Dirty prefixes reconciled per call: writes start while the rest of a big change is compared. */
export const RECONCILE_CHUNK = 8192;
/**
 * Reconciled at once when the kernel has nothing of ours to do (the shell's fast path): few enough that the
 * first of them is in the kernel within a millisecond or two of the change, the rest follow in chunks.
 */
export const FIRST_CHUNK = 128;
/**
 * Routes of a resync dump read per call (scanDump): a million took 1.4–3.2 s of the main thread in one go,
 * and the sessions waited that long.
 */
export const SCAN_CHUNK = 16384;
/**
 * A backlog of at least this many prefixes is written in random order. The kernel's IPv4 trie is slow to
 * delete neighbouring prefixes in ascending order (it keeps resizing the node they empty): a million /24s
 * deleted in ascending order took 27 s here, in random order 2.6 s (and descending 6.3 s). Insertion does not
 * care (5.5 s vs 4.4 s). Measured in a namespace with raw batched RTM_DELROUTEs on the 2-core dev VM. This
 * orders only what is dirty at once: a change handed over in pieces (a session drop withdrawn in slices) would
 * still reach the kernel piece after piece, so bgp/ withdraws a dropped peer's prefixes in random order itself
 * (shuffling each piece here was measured: 35 s for a 1M drop, as bad as none).
 */
export const SHUFFLE_MIN = 16384;
const ESRCH = 3;
const ENOENT = 2;
const EEXIST = 17;
const NEW = RTM.RTM_NEWROUTE;
const DEL = RTM.RTM_DELROUTE;
const NEWNH = RTM.RTM_NEWNEXTHOP;
const DELNH = RTM.RTM_DELNEXTHOP;
/** A slot number in WriteOps for a nexthop object write. */
const NO_SLOT = -1;

export class FibMirror {
  readonly shapes: ShapeTable;
  /** The options (monitorCapacity is set again once the monitor socket's buffer is known). */
  readonly options: MirrorOptions;
  private readonly kernel: KernelState;
  private readonly wants: WantTable;
  /** Our kernel nexthop objects; undefined when the kernel has none (routes then carry their gateways). */
  private nexthops: NexthopRegistry | undefined;
  /** Per prefix: want, installed, status and the marks, as columns by slot (fib-table.ts). */
  private readonly t = new FibTable();
  /** Slots to compare, from dirtyHead on. */
  private dirty = new Int32Array(1024);
  private dirtyHead = 0;
  private dirtyTail = 0;
  private readonly queue: WriteQueue;
  private blackholes = new Set<PrefixKey>();
  private readonly resolutions: Resolutions;
  private readonly retries = new Retries();
  private readonly actions: MirrorAction[] = [];
  /** Messages taken by the shell and not answered yet. */
  private unanswered = 0;
  /** Writes answered so far: the clock of answeredAt. */
  private answers = 0;
  private generation = 0;
  private started_ = false;
  private closed = false;
  private routeEventsPaused = false;
  // Deadlines (ms; undefined: none).
  private resyncAt: number | undefined;
  private resumeAt: number | undefined;
  private staleReleaseAt: number | undefined;
  private resyncReason = '';
  /** A resync dump is out: the answer count when it was asked for, and the prefixes removed since. */
  private dumping: { mark: number; removed: Set<PrefixKey> } | undefined;
  /** The resync dump being read: where, its generation (FibTable.seen), the other programs' routes so far. */
  private scan: { reader: DumpScan; gen: number; others: RouteMsg[] } | undefined;
  private resyncAgain: string | undefined;
  private staleReleased = false;
  /** A link or address changed: every unicast prefix resolves again after the next dump. */
  private reresolvePending = false;
  // The reconcile pass under way (for the 'reconciled' event): when it began, writes sent, refused.
  private passStart: number | undefined;
  private passWrites = 0;
  private passFailed = 0;

  constructor(private readonly opts: MirrorOptions) {
    this.options = opts;
    this.kernel = new KernelState(opts.table);
    this.shapes = new ShapeTable(opts.table, opts.protocol);
    this.queue = new WriteQueue(this.shapes);
    this.wants = new WantTable(opts.metric);
    this.resolutions = new Resolutions(this.kernel, this.shapes, opts.metric, opts.nexthopResolution);
  }

  get started(): boolean {
    return this.started_;
  }

  /** The prefix of a slot (WriteOps name slots). */
  keyOf(slot: number): PrefixKey {
    return this.t.key(slot);
  }

  // --- the daemon's side --------------------------------------------------------------------------

  /**
   * Want `prefix` routed via `nexthops` (≥2 = one ECMP route); null = remove our route. May be called
   * before start(): nothing is written until the kernel has been dumped. A next-hop array is taken as
   * immutable once handed over (it is remembered by identity, so pass the same array for the same set).
   */
  set(prefix: PrefixKey, nexthops: readonly string[] | null, now: number): void {
    const w = nexthops === null ? null : this.wants.unicast(nexthops);
    this.setWant(prefix, w === null ? WANT_REMOVE : w.id, now);
  }

  /** The whole set of blackhole/unreachable routes; a prefix left out of a later call is removed. */
  setBlackholes(
    prefixes: readonly PrefixKey[],
    kind: 'blackhole' | 'unreachable',
    metric: number,
    now: number,
  ): void {
    const next = new Set(prefixes);
    for (const p of this.blackholes) if (!next.has(p)) this.setWant(p, WANT_REMOVE, now);
    const want = this.wants.reject(kind, metric);
    for (const p of next) this.setWant(p, want.id, now);
    this.blackholes = next;
  }

  /** Remove our routes from a previous run that nobody wants now (once; later calls do nothing). */
  releaseStale(now: number, why: 'asked' | 'grace time over' = 'asked'): void {
    if (this.staleReleased) return;
    this.staleReleased = true;
    this.staleReleaseAt = undefined;
    let count = 0;
    this.t.forEach((s) => {
      if (this.t.want[s] !== WANT_STALE) return;
      this.t.want[s] = WANT_REMOVE;
      this.markDirty(s, now);
      count++;
    });
    this.opts.emit({ type: 'stale-released', count, why });
  }

  /** Every route of ours to be removed (close with removeRoutes): retries are dropped. */
  removeAll(now: number): void {
    this.t.forEach((s) => {
      this.t.want[s] = WANT_REMOVE;
      this.markDirty(s, now);
    });
    this.retries.clear();
  }

  /** Every nexthop object of ours to be deleted (after removeAll's writes are answered). */
  removeNexthops(): void {
    if (!this.nexthops) return;
    for (const o of [...this.nexthops.values()]) if (o.state !== 'absent') this.deleteNexthop(o);
  }

  close(): void {
    this.closed = true;
  }

  // --- the kernel's side: dumps and notifications --------------------------------------------------

  /** The kernel as dumped at start (the shell subscribed first): adopt our routes, then reconcile all. */
  start(d: KernelDump, now: number): void {
    if (d.nexthops) {
      this.nexthops = new NexthopRegistry(this.opts.protocol);
      this.nexthops.sync(d.nexthops);
    }
    for (const l of d.links) this.kernel.applyLink(l, false);
    for (const a of d.addrs) this.kernel.applyAddr(a, false);
    let adopted = 0;
    let stale = 0;
    const kernelRoutes = scanDump(
      d.routes,
      this.opts,
      this.shapes,
      (key, shape) => {
        const s = this.slot(key, now);
        this.t.installed[s] = shape.id;
        if (this.t.want[s] === WANT_STALE) stale++;
        else adopted++;
      },
      (r) => this.kernel.applyRoute(r, false),
    );
    this.started_ = true;
    this.t.forEach((s) => this.markDirty(s, now));
    this.opts.emit({ type: 'started', adopted, stale, kernelRoutes });
    if (this.opts.staleGraceMs !== undefined && !this.staleReleased)
      this.staleReleaseAt = now + this.opts.staleGraceMs;
  }

  kernelEvent(e: MonitorEvent, now: number): void {
    if (this.closed) return;
    switch (e.kind) {
      case 'link':
        if (this.kernel.applyLink(e.link, e.deleted)) {
          this.resolutions.forget();
          this.reresolvePending = true;
          this.requestResync(`link ${e.link.name ?? e.link.index} changed`, RESYNC_DELAY_MS, now);
        }
        return;
      case 'addr':
        this.kernel.applyAddr(e.addr, e.deleted);
        this.resolutions.forget();
        this.reresolvePending = true;
        return this.requestResync('address changed', RESYNC_DELAY_MS, now);
      case 'overrun':
        return this.requestResync('monitor socket overrun (ENOBUFS)', RESYNC_DELAY_MS, now);
      case 'fault':
        return this.opts.emit({ type: 'fault', where: e.where, message: e.message });
      case 'route':
        return this.onRouteEvent(e.route, e.deleted, now);
    }
  }

  private onRouteEvent(r: RouteMsg, deleted: boolean, now: number): void {
    if (r.protocol !== this.opts.protocol || r.table !== this.opts.table) {
      if (this.kernel.applyRoute(r, deleted)) this.reresolveAll(now);
      return;
    }
    if (!deleted) return;
    const key = encodeKey(r.family as Family, r.dst ?? Buffer.alloc(r.family === AF_INET ? 4 : 16), r.dstLen);
    const s = this.t.get(key);
    const t = this.t;
    if (s < 0 || !t.installed[s] || this.shapes.byNumber(t.installed[s]).priority !== (r.priority ?? 0))
      return;
    if (t.busy[s]) {
      t.flags[s] |= REDO;
      return;
    }
    t.installed[s] = 0;
    if (t.want[s] > 0) this.opts.emit({ type: 'route-reasserted', prefix: formatKey(key) });
    this.markDirty(s, now);
  }

  /**
   * Links and addresses change what the kernel holds silently (a link set down flushes its routes), and an
   * overrun loses notifications: dump again. One dump at a time; asked for during one, another follows it.
   */
  requestResync(reason: string, delayMs: number, now: number): void {
    if (this.closed) return;
    if (this.dumping) {
      this.resyncAgain ??= reason;
      return;
    }
    if (this.resyncAt !== undefined) return;
    this.resyncAt = now + delayMs;
    this.resyncReason = reason;
  }

  private beginResync(): void {
    this.resyncAt = undefined;
    this.opts.emit({ type: 'resync', reason: this.resyncReason });
    this.dumping = { mark: this.answers, removed: new Set() };
    this.actions.push({ type: 'dump', nexthops: this.nexthops !== undefined });
  }

  /**
   * The answer to a 'dump' action: read it (SCAN_CHUNK routes now, the rest by scanDump(), the shell calling
   * it while hasScan), then reconcile the prefixes whose kernel state is not what we think. Until the end of
   * the dump the other programs' routes stay as they were, so next hops resolve as before meanwhile.
   */
  dumpDone(d: RouteDump, now: number): void {
    if (!this.dumping || this.scan || this.closed) return;
    if (this.nexthops && d.nexthops) this.nexthops.sync(d.nexthops);
    this.scan = {
      reader: new DumpScan(d.routes, this.opts, this.shapes),
      gen: ++this.generation,
      others: [],
    };
    this.scanDump(now);
  }

  /** A resync dump is being read (scanDump() has work). */
  get hasScan(): boolean {
    return this.scan !== undefined && !this.closed;
  }

  /** Read SCAN_CHUNK more routes of the resync dump; at its end, compare what it did not show. */
  scanDump(now: number): void {
    const scan = this.scan;
    const dumping = this.dumping;
    if (!scan || !dumping || this.closed) return;
    const { mark, removed } = dumping;
    const { gen, others } = scan;
    const t = this.t;
    const over = scan.reader.step(
      this.opts.scanChunk ?? SCAN_CHUNK,
      (key, shape) => {
        if (removed.has(key) && t.get(key) < 0) return; // deleted by us after the dump began
        const s = this.slot(key, now);
        t.seen[s] = gen;
        if (t.busy[s]) {
          t.flags[s] |= REDO;
          return;
        }
        if (t.answeredAt[s] > mark || t.installed[s] === shape.id) return;
        t.installed[s] = shape.id;
        this.markDirty(s, now);
      },
      (r) => others.push(r),
    );
    if (!over) return;
    this.scan = undefined;
    this.dumping = undefined;
    const before = this.kernel.fingerprint();
    this.kernel.clearRoutes();
    for (const r of others) this.kernel.applyRoute(r, false);
    // Next hops resolve again if the other routes changed, or links or addresses did since the last dump.
    const reresolve = this.reresolvePending || before !== this.kernel.fingerprint();
    this.reresolvePending = false;
    const inUse = new Set<number>();
    t.forEach((s) => {
      if (t.seen[s] !== gen && t.installed[s] && t.answeredAt[s] <= mark) {
        if (t.busy[s]) t.flags[s] |= REDO;
        else {
          t.installed[s] = 0;
          this.markDirty(s, now);
        }
      }
      if (reresolve && t.want[s] > 0 && this.wants.get(t.want[s]).kind === 'unicast') this.markDirty(s, now);
      if (t.installed[s]) inUse.add(t.installed[s]);
    });
    if (reresolve) this.resolutions.forget();
    // Shapes no route, queued write or resolution refers to any more are dropped (next hops come and go).
    // Not while writes are in flight: their shapes become `installed` when answered.
    if (this.unanswered === 0 && this.queue.length === 0)
      this.collect(new Set([...inUse].map((id) => this.shapes.byNumber(id))));
    this.afterDump(now);
  }

  /** A resync dump failed (its errno in `message`): reported, and tried again. */
  dumpFailed(message: string, now: number): void {
    if (!this.dumping || this.scan || this.closed) return;
    this.dumping = undefined;
    this.opts.emit({ type: 'resync', reason: `failed: ${message}` });
    this.resyncAgain ??= `the last dump failed (${message})`;
    this.afterDump(now);
  }

  private afterDump(now: number): void {
    const again = this.resyncAgain;
    this.resyncAgain = undefined;
    if (again !== undefined) this.requestResync(again, RESYNC_DELAY_MS, now);
    this.checkPassOver(now);
  }

  /** Forget shapes and delete nexthop objects that nothing refers to any more. */
  private collect(inUse: Set<RouteShape>): void {
    this.resolutions.forEachShape((s) => inUse.add(s));
    if (this.nexthops) {
      const used = new Set<number>();
      for (const s of inUse) if (s.nhid) used.add(s.nhid);
      for (const o of [...this.nexthops.values()])
        if (o.state === 'present' && !used.has(o.id)) this.deleteNexthop(o);
    }
    this.queue.forEachShape((s) => inUse.add(s));
    this.shapes.retain(inUse);
  }

  // --- reconciling ---------------------------------------------------------------------------------

  /** Prefixes are waiting to be compared (reconcile() has work). */
  get hasDirty(): boolean {
    return this.started_ && !this.closed && this.dirtyHead < this.dirtyTail;
  }

  /** Writes are waiting to be taken. */
  get hasWrites(): boolean {
    return !this.closed && this.queue.length > 0;
  }

  /** Writes taken and not answered yet. */
  get inFlight(): number {
    return this.unanswered;
  }

  /**
   * Compare wanted with installed for up to `limit` dirty prefixes and queue the writes that make them equal
   * (takeWrites hands them out).
   */
  reconcile(now: number, limit = RECONCILE_CHUNK): void {
    if (!this.hasDirty) return;
    const t = this.t;
    if (this.dirtyHead === 0 && this.dirtyTail >= SHUFFLE_MIN)
      shuffle(this.dirty, this.dirtyTail, this.opts.random ?? Math.random);
    const end = Math.min(this.dirtyTail, this.dirtyHead + limit);
    for (; this.dirtyHead < end; this.dirtyHead++) {
      const s = this.dirty[this.dirtyHead];
      t.flags[s] &= ~QUEUED;
      if (!t.live(s)) continue;
      if (t.busy[s]) {
        t.flags[s] |= REDO;
        continue;
      }
      this.reconcileOne(s, now);
    }
    if (this.dirtyHead === this.dirtyTail) this.dirtyHead = this.dirtyTail = 0;
    const burst = Math.min(BURST, this.opts.monitorCapacity >> 1);
    if (this.queue.length + this.unanswered >= burst) this.pauseRouteEvents();
    this.checkPassOver(now);
  }

  private reconcileOne(s: number, now: number): void {
    const t = this.t;
    const want = t.want[s];
    const installed = t.installed[s];
    if (want === WANT_STALE) {
      if (!installed) this.remove(s);
      return;
    }
    const desired = want === WANT_REMOVE ? null : this.desired(s, this.wants.get(want), now);
    if (!desired) {
      if (installed) this.enqueue(s, DEL, this.shapes.byNumber(installed));
      else if (want === WANT_REMOVE) this.remove(s);
      return;
    }
    if (installed === desired.id) {
      if (t.status[s] !== INSTALLED) this.setStatus(s, INSTALLED, now);
      return;
    }
    const key = t.key(s);
    const other = this.kernel.occupiedBy(key, desired.priority);
    if (other !== undefined) {
      this.fail(
        s,
        `EEXIST: a route of protocol ${other} holds ${formatKey(key)} metric ${desired.priority} in table ${this.opts.table}`,
        now,
      );
      return;
    }
    if (installed) {
      const old = this.shapes.byNumber(installed);
      if (old.priority !== desired.priority) this.enqueue(s, DEL, old);
    }
    this.enqueue(s, NEW, desired);
    if (t.status[s] !== FAILED) this.setStatus(s, PENDING, now);
  }

  /** The shape we want in the kernel for this prefix, or null (unresolvable: status set here). */
  private desired(s: number, want: Want, now: number): RouteShape | null {
    const family = this.t.family(s);
    if (want.kind !== 'unicast')
      return this.shapes.get(
        family,
        want.kind === 'blackhole' ? RTN.RTN_BLACKHOLE : RTN.RTN_UNREACHABLE,
        want.metric,
        [],
      );
    const r = this.resolutions.get(want, family, this.nexthops);
    if (typeof r !== 'string') return r;
    if (this.t.status[s] !== UNRESOLVABLE || this.t.errors.get(s) !== r)
      this.opts.emit({ type: 'route-unresolvable', prefix: formatKey(this.t.key(s)), reason: r });
    this.setStatus(s, UNRESOLVABLE, now, r);
    return null;
  }

  private reresolveAll(now: number): void {
    this.resolutions.forget();
    this.t.forEach((s) => {
      const w = this.t.want[s];
      if (w > 0 && this.wants.get(w).kind === 'unicast') this.markDirty(s, now);
    });
  }

  private enqueue(s: number, type: number, shape: RouteShape): void {
    if (type === NEW && shape.nhid) {
      // The kernel handles our writes in order: the object is created before the route that names it.
      const o = this.nexthops?.get(shape.nhid);
      if (o && o.state === 'absent') {
        o.state = 'pending';
        this.queue.push(NO_SLOT, NEWNH, shape);
      }
    }
    this.t.busy[s]++;
    this.queue.push(s, type, shape);
  }

  /** Queue the deletion of a nexthop object no route uses; it is forgotten at once (a later use makes a new one). */
  private deleteNexthop(o: NexthopObject): void {
    this.nexthops?.forget(o);
    const shape = this.shapes.get(
      o.family,
      RTN.RTN_UNICAST,
      0,
      [{ gateway: o.gateway, oif: o.oif, flags: 0, hops: 0 }],
      o.id,
    );
    this.queue.push(NO_SLOT, DELNH, shape);
  }

  // --- writes out, answers in ----------------------------------------------------------------------

  /** Up to `maxOps` queued writes whose messages fit in `maxBytes`, to be sent as one batch. */
  takeWrites(maxOps: number, maxBytes: number): WriteOps | undefined {
    if (this.closed) return undefined;
    const ops = this.queue.take(maxOps, maxBytes);
    if (ops) {
      this.unanswered += ops.slots.length;
      this.passWrites += ops.slots.length;
    }
    return ops;
  }

  /**
   * The kernel's answer to a batch: `failed` maps the index of each refused write to its errno; `lost` ≠ 0:
   * the batch was lost with that errno (every write in it counts as refused with it).
   */
  answer(ops: WriteOps, failed: ReadonlyMap<number, number> | undefined, lost: number, now: number): void {
    const n = ops.slots.length;
    for (let i = 0; i < n; i++) {
      const s = ops.slots[i];
      const errno = failed?.get(i) ?? lost;
      if (errno !== 0) this.passFailed++;
      if (s === NO_SLOT) this.onNexthopAnswer(ops.types[i], ops.shapes[i], errno);
      else this.onAnswer(s, ops.types[i], ops.shapes[i], errno, now);
    }
    this.unanswered -= n;
    if (this.unanswered === 0 && this.queue.length === 0 && this.routeEventsPaused)
      this.resumeAt ??= now + SETTLE_MS;
    this.checkPassOver(now);
  }

  private onAnswer(s: number, type: number, shape: RouteShape, errno: number, now: number): void {
    const t = this.t;
    t.busy[s]--;
    t.answeredAt[s] = ++this.answers;
    const ok = errno === 0 || (type === DEL && (errno === ESRCH || errno === ENOENT));
    if (type === NEW) {
      if (errno === 0) {
        t.installed[s] = shape.id;
        if (t.status[s] === FAILED) this.opts.emit({ type: 'route-recovered', prefix: formatKey(t.key(s)) });
        t.attempt[s] = 0;
        if (t.busy[s] === 0) this.setStatus(s, INSTALLED, now);
      } else {
        // A route naming a nexthop object that could not be created fails too: say why the object failed.
        const nh = shape.nhid ? this.nexthops?.get(shape.nhid) : undefined;
        this.fail(
          s,
          nh?.error
            ? `${nh.error} (nexthop object ${shape.nhid} via ${this.kernelView(shape).nexthops.join(' ')})`
            : errnoName(errno),
          now,
        );
      }
    } else if (ok) {
      if (t.installed[s] === shape.id) t.installed[s] = 0;
    } else this.fail(s, errnoName(errno), now);
    const want = t.want[s];
    if (t.busy[s] !== 0) return;
    // Removed and nothing else to do for it: freed now rather than compared once more (a 1M drop then walks
    // its prefixes once, not twice).
    if (ok && want <= WANT_REMOVE && t.installed[s] === 0 && !(t.flags[s] & (REDO | QUEUED)))
      return this.remove(s);
    if (t.flags[s] & REDO || (ok && want <= WANT_REMOVE)) {
      t.flags[s] &= ~REDO;
      this.markDirty(s, now);
    }
  }

  private onNexthopAnswer(type: number, shape: RouteShape, errno: number): void {
    if (type !== NEWNH) return; // a deletion: the object was forgotten when it was queued
    const o = this.nexthops?.get(shape.nhid);
    if (!o) return;
    // EEXIST: it is there already (created with NLM_F_EXCL, and other programs' ids are never allocated).
    if (errno === 0 || errno === EEXIST) {
      o.state = 'present';
      o.error = undefined;
    } else {
      o.state = 'absent';
      o.error = errnoName(errno);
    }
  }

  private fail(s: number, error: string, now: number): void {
    const delay = retryDelay(this.t.attempt[s]);
    if (this.t.attempt[s] < 255) this.t.attempt[s]++;
    this.setStatus(s, FAILED, now, error);
    this.opts.emit({ type: 'route-failed', prefix: formatKey(this.t.key(s)), error, retryInMs: delay });
    this.retries.schedule(s, now + delay);
  }

  // --- time ----------------------------------------------------------------------------------------

  /** The earliest time timeout() has something to do, or undefined. */
  nextDeadline(): number | undefined {
    if (this.closed) return undefined;
    let t = Infinity;
    for (const d of [this.resyncAt, this.resumeAt, this.staleReleaseAt, this.retries.next()])
      if (d !== undefined && d < t) t = d;
    return t === Infinity ? undefined : t;
  }

  /** Do what is due at `now`: retries, resuming notifications, a resync, releasing stale routes. */
  timeout(now: number): void {
    if (this.closed) return;
    for (const s of this.retries.due(now)) if (this.t.live(s)) this.markDirty(s, now);
    if (this.resumeAt !== undefined && this.resumeAt <= now) {
      this.resumeAt = undefined;
      // Still writing: armed again when these are answered.
      if (this.routeEventsPaused && this.unanswered === 0 && this.queue.length === 0) {
        this.routeEventsPaused = false;
        this.actions.push({ type: 'route-events', on: true });
        this.requestResync('route notifications were paused during a burst of writes', 0, now);
      }
    }
    if (this.resyncAt !== undefined && this.resyncAt <= now) this.beginResync();
    if (this.staleReleaseAt !== undefined && this.staleReleaseAt <= now)
      this.releaseStale(now, 'grace time over');
  }

  /** The next thing the shell must do besides writing, or undefined. */
  pollAction(): MirrorAction | undefined {
    return this.actions.shift();
  }

  /**
   * Each of our writes comes back as a route notification, one datagram each, costing as much as the write:
   * during a burst we leave the route groups, and once the writes have been answered and SETTLE_MS passed
   * without another burst, join them again and dump once to catch up on what happened meanwhile.
   */
  private pauseRouteEvents(): void {
    this.resumeAt = undefined;
    if (this.routeEventsPaused) return;
    this.routeEventsPaused = true;
    this.actions.push({ type: 'route-events', on: false });
  }

  /**
   * Nothing is waiting to be compared, written or answered, and no resync is due or under way (failed
   * routes wait for their retry; flushed() resolves on this).
   */
  get idle(): boolean {
    return (
      this.closed ||
      (this.dirtyHead === this.dirtyTail &&
        this.queue.length === 0 &&
        this.unanswered === 0 &&
        this.resyncAt === undefined &&
        this.dumping === undefined)
    );
  }

  private checkPassOver(now: number): void {
    if (this.passStart === undefined || !this.idle) return;
    this.opts.emit({
      type: 'reconciled',
      seconds: (now - this.passStart) / 1000,
      writes: this.passWrites,
      failed: this.passFailed,
    });
    this.passStart = undefined;
    this.passWrites = this.passFailed = 0;
  }

  // --- the table -----------------------------------------------------------------------------------

  /** The slot of `key`, made if there is none. */
  private slot(key: PrefixKey, now: number): number {
    const s = this.t.get(key);
    return s >= 0 ? s : this.t.add(key, now);
  }

  private setWant(prefix: PrefixKey, want: number, now: number): void {
    if (this.closed) throw new Error('Fib is closed');
    if (typeof prefix !== 'number' && typeof prefix !== 'string')
      throw new Error(`bad prefix key ${String(prefix)}`);
    const t = this.t;
    let s = t.get(prefix);
    if (s < 0) {
      if (want === WANT_REMOVE) return;
      s = t.add(prefix, now);
    } else if (t.want[s] === want) return;
    t.want[s] = want;
    if (want > 0 && t.status[s] !== FAILED) this.setStatus(s, PENDING, now);
    this.markDirty(s, now);
  }

  private remove(s: number): void {
    this.dumping?.removed.add(this.t.key(s));
    this.retries.delete(s);
    this.t.remove(s);
  }

  private setStatus(s: number, status: number, now: number, error?: string): void {
    const t = this.t;
    if (t.status[s] !== status) t.since[s] = now;
    t.status[s] = status;
    if (error === undefined) {
      if (t.errors.size > 0) t.errors.delete(s);
    } else t.errors.set(s, error);
  }

  private markDirty(s: number, now: number): void {
    const t = this.t;
    if (!(t.flags[s] & QUEUED)) {
      t.flags[s] |= QUEUED;
      if (this.dirtyTail === this.dirty.length) this.growDirty();
      this.dirty[this.dirtyTail++] = s;
    }
    if (this.started_ && this.passStart === undefined) this.passStart = now;
  }

  private growDirty(): void {
    const n = this.dirtyTail - this.dirtyHead;
    const next = new Int32Array(n * 2 > this.dirty.length ? this.dirty.length * 2 : this.dirty.length);
    next.set(this.dirty.subarray(this.dirtyHead, this.dirtyTail));
    this.dirty = next;
    this.dirtyHead = 0;
    this.dirtyTail = n;
  }

  // --- views ---------------------------------------------------------------------------------------

  entries(): FibEntryView[] {
    const out: FibEntryView[] = [];
    const t = this.t;
    t.forEach((s) => {
      if (t.want[s] === WANT_REMOVE && !t.installed[s]) return;
      const w = t.want[s];
      out.push(
        entryView(
          {
            key: t.key(s),
            want: w > 0 ? this.wants.get(w) : w === WANT_STALE ? undefined : null,
            installed: t.installed[s] ? this.shapes.byNumber(t.installed[s]) : null,
            status: STATUS[t.status[s]] as FibStatus,
            error: t.errors.get(s),
            since: t.since[s],
          },
          this.kernel,
          this.opts.protocol,
        ),
      );
    });
    return out;
  }

  stats(): FibStats {
    const s: FibStats = { wanted: 0, installed: 0, pending: 0, failed: 0, unresolvable: 0, stale: 0 };
    const t = this.t;
    t.forEach((i) => {
      const w = t.want[i];
      if (w === WANT_STALE) s.stale++;
      else if (w !== WANT_REMOVE) {
        s.wanted++;
        s[STATUS[t.status[i]]]++;
      }
    });
    return s;
  }

  /** Bytes the per-prefix columns take (bench/README.md's accounting). */
  get tableBytes(): number {
    return this.t.bytes + this.dirty.byteLength;
  }

  /** Our nexthop objects as the mirror knows them (tests, views). */
  nexthopObjects(): readonly NexthopObject[] {
    return this.nexthops ? [...this.nexthops.values()] : [];
  }

  private kernelView(s: RouteShape): ReturnType<typeof kernelView> {
    return kernelView(s, this.kernel, this.opts.protocol);
  }
}

/** Fisher–Yates over the first `n`, in place. */
function shuffle(a: Int32Array, n: number, random: () => number): void {
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const x = a[i];
    a[i] = a[j];
    a[j] = x;
  }
}
