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
import { Entry, Want } from './entry.js';
import { KernelState } from './kernel.js';
import { NexthopObject, NexthopRegistry } from './nexthops.js';
import { RouteShape, ShapeTable } from './shape.js';
import { PrefixTable } from './prefix-table.js';
import { PrefixKey, AF_INET, AF_INET6, encodeKey, Family } from './prefix.js';
import { Retries, retryDelay } from './retries.js';
import { WantTable } from './wants.js';
import { WriteOps, WriteQueue } from './write-queue.js';
import { entryView, kernelView } from './views.js';
import type { RouteMsg } from './netlink/codec.js';
import { RTM, RTN, errnoName } from './netlink/constants.js';
import { scanDump } from './dump-scan.js';
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
/** Route notifications start again this long after the last write of a burst is answered. */
export const SETTLE_MS = 200;
/** A resync for a link or address change waits this long for the rest of the change to arrive. */
export const RESYNC_DELAY_MS = 50;
/** Dirty prefixes reconciled per call: writes start while the rest of a big change is compared. */
export const RECONCILE_CHUNK = 8192;
/**
 * A backlog of at least this many prefixes is written in random order. The kernel's IPv4 trie is slow to
 * delete neighbouring prefixes in ascending order (it keeps resizing the node they empty): a million /24s
 * deleted in ascending order took 27 s here, in random order 2.6 s (and descending 6.3 s). A session drop
 * withdraws a peer's routes in RIB order, which is usually that order. Insertion does not care (5.5 s vs
 * 4.4 s). Measured in a namespace with raw batched RTM_DELROUTEs on the 2-core dev VM.
 */
export const SHUFFLE_MIN = 16384;
const ESRCH = 3;
const ENOENT = 2;
const EEXIST = 17;
const NEW = RTM.RTM_NEWROUTE;
const DEL = RTM.RTM_DELROUTE;
const NEWNH = RTM.RTM_NEWNEXTHOP;
const DELNH = RTM.RTM_DELNEXTHOP;

export class FibMirror {
  readonly shapes: ShapeTable;
  /** The options (monitorCapacity is set again once the monitor socket's buffer is known). */
  readonly options: MirrorOptions;
  private readonly kernel: KernelState;
  private readonly wants: WantTable;
  /** Our kernel nexthop objects; undefined when the kernel has none (routes then carry their gateways). */
  private nexthops: NexthopRegistry | undefined;
  private readonly table_ = new PrefixTable<Entry>();
  private dirty: Entry[] = [];
  private dirtyHead = 0;
  private readonly queue = new WriteQueue();
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
    this.wants = new WantTable(opts.metric);
    this.resolutions = new Resolutions(this.kernel, this.shapes, opts.metric, opts.nexthopResolution);
  }

  get started(): boolean {
    return this.started_;
  }

  // --- the daemon's side --------------------------------------------------------------------------

  /**
   * Want `prefix` routed via `nexthops` (≥2 = one ECMP route); null = remove our route. May be called
   * before start(): nothing is written until the kernel has been dumped. A next-hop array is taken as
   * immutable once handed over (it is remembered by identity, so pass the same array for the same set).
   */
  set(prefix: PrefixKey, nexthops: readonly string[] | null, now: number): void {
    this.setWant(prefix, nexthops === null ? null : this.wants.unicast(nexthops), now);
  }

  /** The whole set of blackhole/unreachable routes; a prefix left out of a later call is removed. */
  setBlackholes(
    prefixes: readonly PrefixKey[],
    kind: 'blackhole' | 'unreachable',
    metric: number,
    now: number,
  ): void {
    const next = new Set(prefixes);
    for (const p of this.blackholes) if (!next.has(p)) this.setWant(p, null, now);
    const want = this.wants.reject(kind, metric);
    for (const p of next) this.setWant(p, want, now);
    this.blackholes = next;
  }

  /** Remove our routes from a previous run that nobody wants now (once; later calls do nothing). */
  releaseStale(now: number, why: 'asked' | 'grace time over' = 'asked'): void {
    if (this.staleReleased) return;
    this.staleReleased = true;
    this.staleReleaseAt = undefined;
    let count = 0;
    for (const e of this.table_.values()) {
      if (e.want !== undefined) continue;
      e.want = null;
      this.markDirty(e, now);
      count++;
    }
    this.opts.emit({ type: 'stale-released', count, why });
  }

  /** Every route of ours to be removed (close with removeRoutes): retries are dropped. */
  removeAll(now: number): void {
    for (const e of this.table_.values()) {
      e.want = null;
      this.markDirty(e, now);
    }
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
        const e = this.entry(key, now);
        e.installed = shape;
        if (e.want === undefined) stale++;
        else adopted++;
      },
      (r) => this.kernel.applyRoute(r, false),
    );
    this.started_ = true;
    for (const e of this.table_.values()) this.markDirty(e, now);
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
    const e = this.table_.get(key);
    if (!e || !e.installed || e.installed.priority !== (r.priority ?? 0)) return;
    if (e.busy) {
      e.redo = true;
      return;
    }
    e.installed = null;
    if (e.want) this.opts.emit({ type: 'route-reasserted', prefix: formatKey(e.key) });
    this.markDirty(e, now);
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

  /** The answer to a 'dump' action: reconcile the prefixes whose kernel state is not what we think. */
  dumpDone(d: RouteDump, now: number): void {
    const dumping = this.dumping;
    if (!dumping || this.closed) return;
    this.dumping = undefined;
    const { mark, removed } = dumping;
    if (this.nexthops && d.nexthops) this.nexthops.sync(d.nexthops);
    const before = this.kernel.fingerprint();
    this.kernel.clearRoutes();
    const gen = ++this.generation;
    scanDump(
      d.routes,
      this.opts,
      this.shapes,
      (key, shape) => {
        if (removed.has(key) && !this.table_.has(key)) return; // deleted by us after the dump began
        const e = this.entry(key, now);
        e.seen = gen;
        if (e.busy) {
          e.redo = true;
          return;
        }
        if (e.answeredAt > mark || e.installed === shape) return;
        e.installed = shape;
        this.markDirty(e, now);
      },
      (r) => this.kernel.applyRoute(r, false),
    );
    // Next hops resolve again if the other routes changed, or links or addresses did since the last dump.
    const reresolve = this.reresolvePending || before !== this.kernel.fingerprint();
    this.reresolvePending = false;
    if (reresolve) this.resolutions.forget();
    const inUse = new Set<RouteShape>();
    for (const e of this.table_.values()) {
      if (e.seen !== gen && e.installed && e.answeredAt <= mark) {
        if (e.busy) e.redo = true;
        else {
          e.installed = null;
          this.markDirty(e, now);
        }
      }
      if (reresolve && e.want?.kind === 'unicast') this.markDirty(e, now);
      if (e.installed) inUse.add(e.installed);
    }
    // Shapes no route, queued write or resolution refers to any more are dropped (next hops come and go).
    // Not while writes are in flight: their shapes become `installed` when answered.
    if (this.unanswered === 0 && this.queue.length === 0) this.collect(inUse);
    this.afterDump(now);
  }

  /** A resync dump failed (its errno in `message`): reported, and tried again. */
  dumpFailed(message: string, now: number): void {
    if (!this.dumping || this.closed) return;
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
    return this.started_ && !this.closed && this.dirtyHead < this.dirty.length;
  }

  /** Writes are waiting to be taken. */
  get hasWrites(): boolean {
    return !this.closed && this.queue.length > 0;
  }

  /**
   * Compare wanted with installed for up to RECONCILE_CHUNK dirty prefixes and queue the writes that make
   * them equal (takeWrites hands them out).
   */
  reconcile(now: number): void {
    if (!this.hasDirty) return;
    if (this.dirtyHead === 0 && this.dirty.length >= SHUFFLE_MIN)
      shuffle(this.dirty, this.opts.random ?? Math.random);
    const end = Math.min(this.dirty.length, this.dirtyHead + RECONCILE_CHUNK);
    for (; this.dirtyHead < end; this.dirtyHead++) {
      const e = this.dirty[this.dirtyHead];
      e.queued = false;
      if (e.removed) continue;
      if (e.busy) {
        e.redo = true;
        continue;
      }
      this.reconcileOne(e, now);
    }
    if (this.dirtyHead === this.dirty.length) {
      this.dirty = [];
      this.dirtyHead = 0;
    } else if (this.dirtyHead > 65536 && this.dirtyHead * 2 > this.dirty.length) {
      this.dirty = this.dirty.slice(this.dirtyHead);
      this.dirtyHead = 0;
    }
    const burst = Math.min(BURST, this.opts.monitorCapacity >> 1);
    if (this.queue.length + this.unanswered >= burst) this.pauseRouteEvents();
    this.checkPassOver(now);
  }

  private reconcileOne(e: Entry, now: number): void {
    if (e.want === undefined) {
      if (!e.installed) this.remove(e);
      return;
    }
    const desired = e.want === null ? null : this.desired(e, e.want, now);
    if (!desired) {
      if (e.installed) this.enqueue(e, DEL, e.installed);
      else if (e.want === null) this.remove(e);
      return;
    }
    if (e.installed === desired) {
      if (e.status !== 'installed') this.setStatus(e, 'installed', now);
      return;
    }
    const other = this.kernel.occupiedBy(e.key, desired.priority);
    if (other !== undefined) {
      this.fail(
        e,
        `EEXIST: a route of protocol ${other} holds ${formatKey(e.key)} metric ${desired.priority} in table ${this.opts.table}`,
        now,
      );
      return;
    }
    if (e.installed && e.installed.priority !== desired.priority) this.enqueue(e, DEL, e.installed);
    this.enqueue(e, NEW, desired);
    if (e.status !== 'failed') this.setStatus(e, 'pending', now);
  }

  /** The shape we want in the kernel for this entry, or null (unresolvable: status set here). */
  private desired(e: Entry, want: Want, now: number): RouteShape | null {
    const family: Family = typeof e.key === 'number' ? AF_INET : AF_INET6;
    if (want.kind !== 'unicast')
      return this.shapes.get(
        family,
        want.kind === 'blackhole' ? RTN.RTN_BLACKHOLE : RTN.RTN_UNREACHABLE,
        want.metric,
        [],
      );
    const r = this.resolutions.get(want, family, this.nexthops);
    if (typeof r !== 'string') return r;
    if (e.status !== 'unresolvable' || e.error !== r)
      this.opts.emit({ type: 'route-unresolvable', prefix: formatKey(e.key), reason: r });
    this.setStatus(e, 'unresolvable', now, r);
    return null;
  }

  private reresolveAll(now: number): void {
    this.resolutions.forget();
    for (const e of this.table_.values()) if (e.want?.kind === 'unicast') this.markDirty(e, now);
  }

  private enqueue(e: Entry, type: number, shape: RouteShape): void {
    if (type === NEW && shape.nhid) {
      // The kernel handles our writes in order: the object is created before the route that names it.
      const o = this.nexthops?.get(shape.nhid);
      if (o && o.state === 'absent') {
        o.state = 'pending';
        this.queue.push(null, NEWNH, shape);
      }
    }
    e.busy++;
    this.queue.push(e, type, shape);
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
    this.queue.push(null, DELNH, shape);
  }

  // --- writes out, answers in ----------------------------------------------------------------------

  /** Up to `maxOps` queued writes whose messages fit in `maxBytes`, to be sent as one batch. */
  takeWrites(maxOps: number, maxBytes: number): WriteOps | undefined {
    if (this.closed) return undefined;
    const ops = this.queue.take(maxOps, maxBytes);
    if (ops) {
      this.unanswered += ops.entries.length;
      this.passWrites += ops.entries.length;
    }
    return ops;
  }

  /**
   * The kernel's answer to a batch: `failed` maps the index of each refused write to its errno; `lost` ≠ 0:
   * the batch was lost with that errno (every write in it counts as refused with it).
   */
  answer(ops: WriteOps, failed: ReadonlyMap<number, number> | undefined, lost: number, now: number): void {
    const n = ops.entries.length;
    for (let i = 0; i < n; i++) {
      const e = ops.entries[i];
      const errno = failed?.get(i) ?? lost;
      if (errno !== 0) this.passFailed++;
      if (e === null) this.onNexthopAnswer(ops.types[i], ops.shapes[i], errno);
      else this.onAnswer(e, ops.types[i], ops.shapes[i], errno, now);
    }
    this.unanswered -= n;
    if (this.unanswered === 0 && this.queue.length === 0 && this.routeEventsPaused)
      this.resumeAt ??= now + SETTLE_MS;
    this.checkPassOver(now);
  }

  private onAnswer(e: Entry, type: number, shape: RouteShape, errno: number, now: number): void {
    e.busy--;
    e.answeredAt = ++this.answers;
    const ok = errno === 0 || (type === DEL && (errno === ESRCH || errno === ENOENT));
    if (type === NEW) {
      if (errno === 0) {
        e.installed = shape;
        if (e.status === 'failed') this.opts.emit({ type: 'route-recovered', prefix: formatKey(e.key) });
        e.attempt = 0;
        if (e.busy === 0) this.setStatus(e, 'installed', now);
      } else {
        // A route naming a nexthop object that could not be created fails too: say why the object failed.
        const nh = shape.nhid ? this.nexthops?.get(shape.nhid) : undefined;
        this.fail(
          e,
          nh?.error
            ? `${nh.error} (nexthop object ${shape.nhid} via ${this.kernelView(shape).nexthops.join(' ')})`
            : errnoName(errno),
          now,
        );
      }
    } else if (ok) {
      if (e.installed === shape) e.installed = null;
    } else this.fail(e, errnoName(errno), now);
    if (e.busy === 0 && (e.redo || (ok && (e.want === null || e.want === undefined)))) {
      e.redo = false;
      this.markDirty(e, now);
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

  private fail(e: Entry, error: string, now: number): void {
    const delay = retryDelay(e.attempt);
    e.attempt++;
    this.setStatus(e, 'failed', now, error);
    this.opts.emit({ type: 'route-failed', prefix: formatKey(e.key), error, retryInMs: delay });
    this.retries.schedule(e, now + delay);
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
    for (const e of this.retries.due(now)) if (!e.removed) this.markDirty(e, now);
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
      (this.dirtyHead === this.dirty.length &&
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

  private entry(key: PrefixKey, now: number): Entry {
    let e = this.table_.get(key);
    if (!e) {
      e = new Entry(key, now);
      this.table_.set(key, e);
    }
    return e;
  }

  private setWant(prefix: PrefixKey, want: Want | null, now: number): void {
    if (this.closed) throw new Error('Fib is closed');
    if (typeof prefix !== 'number' && typeof prefix !== 'string')
      throw new Error(`bad prefix key ${String(prefix)}`);
    let e = this.table_.get(prefix);
    if (e === undefined) {
      if (want === null) return;
      e = this.entry(prefix, now);
    } else if (e.want === want) return;
    e.want = want;
    if (want && e.status !== 'failed') this.setStatus(e, 'pending', now);
    this.markDirty(e, now);
  }

  private remove(e: Entry): void {
    this.table_.delete(e.key);
    e.removed = true;
    this.dumping?.removed.add(e.key);
  }

  private setStatus(e: Entry, status: Entry['status'], now: number, error?: string): void {
    if (e.status !== status) e.since = now;
    e.status = status;
    e.error = error;
  }

  private markDirty(e: Entry, now: number): void {
    if (!e.queued) {
      e.queued = true;
      this.dirty.push(e);
    }
    if (this.started_ && this.passStart === undefined) this.passStart = now;
  }

  // --- views ---------------------------------------------------------------------------------------

  entries(): FibEntryView[] {
    const out: FibEntryView[] = [];
    for (const e of this.table_.values()) {
      if (e.want === null && !e.installed) continue;
      out.push(entryView(e, this.kernel, this.opts.protocol));
    }
    return out;
  }

  stats(): FibStats {
    const s: FibStats = { wanted: 0, installed: 0, pending: 0, failed: 0, unresolvable: 0, stale: 0 };
    for (const e of this.table_.values()) {
      if (e.want === undefined) {
        s.stale++;
        continue;
      }
      if (e.want === null) continue;
      s.wanted++;
      s[e.status]++;
    }
    return s;
  }

  /** Our nexthop objects as the mirror knows them (tests, views). */
  nexthopObjects(): readonly NexthopObject[] {
    return this.nexthops ? [...this.nexthops.values()] : [];
  }

  private kernelView(s: RouteShape): ReturnType<typeof kernelView> {
    return kernelView(s, this.kernel, this.opts.protocol);
  }
}

/** Fisher–Yates, in place. */
function shuffle<T>(a: T[], random: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
