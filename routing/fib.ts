/**
 * The FIB mirror: for every prefix, what the daemon WANTS (next hops, or a blackhole) and what is
 * INSTALLED in the kernel, and the writes that make the second equal the first.
 *
 * Ownership: only routes carrying our rtm_protocol (202, "nodebgp") in our table are ever written or
 * deleted; everything else is read, for next-hop resolution, and never changed. A write that would replace
 * another program's route (same table, prefix and metric) is refused and reported.
 *
 * The writes, as their iproute2 equivalents (each with its own sequence number; an error names the route
 * that failed, and the last message of each batch asks for the ack that closes the batch — netlink/socket.ts):
 *
 *   add/change  RTM_NEWROUTE NLM_F_CREATE|NLM_F_REPLACE
 *               = ip route replace 10.244.2.0/24 via 10.0.0.2 dev eth0 proto 202 metric 20 table 254
 *               = ip route replace 10.244.2.0/24 proto 202 metric 20 nexthop via 10.0.0.2 dev eth0 nexthop via 10.0.1.2 dev eth1
 *               = ip route replace blackhole 10.244.1.0/24 proto 202 metric 4000
 *   remove      RTM_DELROUTE = ip route del 10.244.2.0/24 proto 202 metric 20 table 254
 *
 * Changes are coalesced per event-loop turn (setImmediate) and sent in 64 KiB batches, a bounded number
 * unanswered at a time so the event loop (and the BGP sessions on it) keeps turning during a million writes.
 * A failed write is reported with the errno name and retried with exponential backoff, 1 s → 30 s.
 *
 * Cost per route is kept to a map entry and one small object: the wanted next-hop set is interned (the RIB
 * hands over the same array for the same set), resolved once per set, and routes with the same content share
 * one pre-encoded RouteShape (shape.ts). Route dumps are scanned in place, not decoded route by route.
 *
 * Start: dump links, addresses and routes, subscribe to changes. Our routes found in the kernel that are
 * wanted and identical are adopted (no rewrite); ours that are not wanted are STALE — left in place until
 * releaseStale() (after End-of-RIB) or staleGraceMs. A deletion of one of our routes by someone else is
 * re-asserted; a link or address change makes every next hop resolve again (kernel.ts).
 */
import { RouteMsg, RouteNexthop, NLMSG_HDRLEN, RTMSG_LEN, decodeRoute } from './netlink/codec.js';
import {
  RTA,
  RTM,
  RTN,
  NLM_F_REQUEST,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_REPLACE,
  NLM_F_EXCL,
  errnoName,
} from './netlink/constants.js';
import { BATCH_BYTES } from './netlink/channel.js';
import { forEachMessage } from './netlink/codec.js';
import { Backend, NetlinkBackend, NoopBackend, MonitorEvent, KernelDump } from './backend.js';
import { KernelState } from './kernel.js';
import { RouteShape, ShapeTable } from './shape.js';
import { PrefixTable } from './prefix-table.js';
import { NexthopObject, NexthopRegistry } from './nexthops.js';
import { PrefixKey, AF_INET, AF_INET6, encodeKey, Family, parseAddress } from './prefix.js';
import { formatAddress } from '../ip/address.js';
import { formatPrefix as formatKey } from '../ip/prefix.js';

export interface FibOptions {
  backend: 'netlink' | 'noop';
  /** Routing table (default 254, main). */
  table?: number;
  /** rtm_priority of our routes (default 20). */
  metric?: number;
  /** rtm_protocol of our routes (default 202, "nodebgp"). */
  protocol?: number;
  /** Release stale routes this long after start() even if releaseStale() is not called (default: never). */
  staleGraceMs?: number;
  onEvent?: (e: FibEvent) => void;
}

export type FibStatus = 'installed' | 'pending' | 'failed' | 'unresolvable';

export type FibEvent =
  | { type: 'started'; adopted: number; stale: number; kernelRoutes: number }
  | { type: 'route-failed'; prefix: string; error: string; retryInMs: number }
  | { type: 'route-unresolvable'; prefix: string; reason: string }
  | { type: 'route-recovered'; prefix: string }
  | { type: 'route-reasserted'; prefix: string }
  | { type: 'stale-released'; count: number }
  | { type: 'resync'; reason: string }
  /** A bug of ours met in netlink handling (reported, then caught up by a resync), or the monitor thread died. */
  | { type: 'fault'; where: string; message: string };

export interface FibEntryView {
  prefix: string;
  /** Wanted next hops; `[]` for a blackhole/unreachable route or a stale one. */
  nexthops: string[];
  kind: 'unicast' | 'blackhole' | 'unreachable';
  status: FibStatus;
  error?: string;
  /** Ours from a previous run, not wanted (yet): removed by releaseStale(). */
  stale?: boolean;
  kernel: { nexthops: string[]; protocol: string; metric: number } | null;
  since: number;
}

export interface FibStats {
  wanted: number;
  installed: number;
  pending: number;
  failed: number;
  unresolvable: number;
  stale: number;
}

/** What the daemon asked for, interned: every prefix with the same next-hop set shares one Want. */
interface Want {
  readonly kind: 'unicast' | 'blackhole' | 'unreachable';
  /** Sorted, without duplicates; [] for blackhole/unreachable. */
  readonly nexthops: readonly string[];
  /** rtm_priority of a blackhole/unreachable route (unicast routes use the Fib's metric). */
  readonly metric: number;
}

class Entry {
  /** undefined: not set by the daemon (a stale route of ours); null: to be removed. */
  want: Want | null | undefined = undefined;
  installed: RouteShape | null = null;
  status: FibStatus = 'pending';
  error: string | undefined = undefined;
  /** Writes sent for this prefix and not answered yet. */
  busy = 0;
  /** Reconcile again once `busy` is 0 (it changed while a write was in flight). */
  redo = false;
  attempt = 0;
  /** In the dirty list. */
  queued = false;
  /** The resync generation that last saw this route in the kernel. */
  seen = 0;
  /** Taken out of the map (a later set() of the prefix makes a new Entry). */
  removed = false;
  /** The Fib's answer count when the kernel last answered a write for this prefix. */
  answeredAt = 0;

  constructor(
    readonly key: PrefixKey,
    public since: number,
  ) {}
}

/** Writes of one batch, as parallel arrays (one object per batch, not per route). */
interface BatchOps {
  first: number;
  /** null: a nexthop object write (the shape names it). */
  entries: (Entry | null)[];
  types: number[];
  shapes: RouteShape[];
}

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;
/**
 * This many writes queued or unanswered stop route notifications until the writes are over (see
 * pauseRouteEvents) — fewer if the monitor socket's buffer holds fewer than twice as many notifications.
 */
const BURST = 1024;
/** Route notifications start again this long after the last write of a burst is answered. */
const SETTLE_MS = 200;
/** Dirty prefixes reconciled per event-loop turn: writes start while the rest of a big change is compared. */
const FLUSH_CHUNK = 8192;
/** Sequence numbers reserved per batch: more than the smallest route message fits into one. */
const SEQ_PER_BATCH = Math.ceil(BATCH_BYTES / (NLMSG_HDRLEN + RTMSG_LEN + 16));
/**
 * A backlog of at least this many prefixes is written in random order. The kernel's IPv4 trie is slow to
 * delete neighbouring prefixes in ascending order (it keeps resizing the node they empty): a million /24s
 * deleted in ascending order took 27 s here, in random order 2.6 s (and descending 6.3 s). A session drop
 * withdraws a peer's routes in RIB order, which is usually that order. Insertion does not care (5.5 s vs
 * 4.4 s). Measured in a namespace with raw batched RTM_DELROUTEs on the 2-core dev VM.
 */
const SHUFFLE_MIN = 16384;
const ESRCH = 3;
const ENOENT = 2;
const EEXIST = 17;
const NEW = RTM.RTM_NEWROUTE;
const DEL = RTM.RTM_DELROUTE;
const NEWNH = RTM.RTM_NEWNEXTHOP;
const DELNH = RTM.RTM_DELNEXTHOP;

/** Fisher–Yates, in place. */
function shuffle<T>(a: T[]): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

export class Fib {
  private readonly table: number;
  private readonly metric: number;
  private readonly protocol: number;
  private readonly backend: Backend;
  private readonly kernel: KernelState;
  private readonly shapes: ShapeTable;
  /** Our kernel nexthop objects; undefined when the kernel has none (routes then carry their gateways). */
  private nexthops: NexthopRegistry | undefined;
  private readonly entries_ = new PrefixTable<Entry>();
  private dirty: Entry[] = [];
  private dirtyHead = 0;
  /** Date.now() as of the current event (one clock read per call or callback, not one per route). */
  private now = Date.now();
  private blackholes = new Set<PrefixKey>();
  /** Next-hop arrays as handed over → their interned Want (null: an empty set). */
  private readonly wantByArray = new WeakMap<readonly string[], Want | null>();
  private readonly wants = new Map<string, Want>();
  /** Want → shape to install, or why it cannot be: per family, dropped whenever the kernel's state changes. */
  private readonly resolved = new Map<number, Map<Want, RouteShape | string>>([
    [AF_INET, new Map()],
    [AF_INET6, new Map()],
  ]);
  // The writes waiting to be sent, as parallel arrays from outHead on.
  private outEntries: (Entry | null)[] = [];
  private outTypes: number[] = [];
  private outShapes: RouteShape[] = [];
  private outHead = 0;
  private inFlight = 0;
  private generation = 0;
  /** Writes answered so far (a clock to tell whether a dump is older than what we know of a route). */
  private answers = 0;
  /** While a resync dump is read: prefixes taken out of the mirror since it was asked for. */
  private removedSince: Set<PrefixKey> | undefined;
  private readonly retries = new Map<Entry, number>();
  private retryTimer: NodeJS.Timeout | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private resumeTimer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  private started = false;
  private closed = false;
  private resyncing = false;
  private routeEventsPaused = false;
  private waiters: (() => void)[] = [];

  constructor(private readonly opts: FibOptions) {
    this.table = opts.table ?? 254;
    this.metric = opts.metric ?? 20;
    this.protocol = opts.protocol ?? 202;
    if (!(this.table > 0 && this.table < 2 ** 32))
      throw new Error(`FibOptions.table: bad table ${this.table}`);
    if (!(this.protocol > 0 && this.protocol < 256))
      throw new Error(`FibOptions.protocol: bad protocol ${this.protocol}`);
    this.backend = opts.backend === 'netlink' ? new NetlinkBackend() : new NoopBackend();
    this.kernel = new KernelState(this.table);
    this.shapes = new ShapeTable(this.table, this.protocol);
  }

  private emit(e: FibEvent): void {
    this.opts.onEvent?.(e);
  }

  /** Dump links, addresses and routes, subscribe to their changes, then reconcile. */
  async start(): Promise<void> {
    await this.backend.subscribe((e) => this.onMonitor(e), {
      protocol: this.protocol,
      tableByte: this.table < 256 ? this.table : 252,
    });
    if (await this.backend.nexthopObjects()) {
      this.nexthops = new NexthopRegistry(this.protocol);
      this.nexthops.sync(await this.backend.dumpNexthops());
    }
    const d: KernelDump = await this.backend.dump();
    for (const l of d.links) this.kernel.applyLink(l, false);
    for (const a of d.addrs) this.kernel.applyAddr(a, false);
    let adopted = 0;
    let stale = 0;
    const kernelRoutes = this.scan(
      d.routes,
      (key, shape) => {
        const e = this.entry(key);
        e.installed = shape;
        if (e.want === undefined) stale++;
        else adopted++;
      },
      (r) => this.kernel.applyRoute(r, false),
    );
    this.started = true;
    for (const e of this.entries_.values()) this.markDirty(e);
    this.emit({ type: 'started', adopted, stale, kernelRoutes });
    if (this.opts.staleGraceMs !== undefined) {
      this.staleTimer = setTimeout(() => this.releaseStale(), this.opts.staleGraceMs);
      this.staleTimer.unref();
    }
  }

  /**
   * Want `prefix` routed via `nexthops` (≥2 = one ECMP route); null = remove our route. May be called
   * before start(): nothing is written until the kernel has been dumped. A next-hop array is taken as
   * immutable once handed over (it is remembered by identity, so pass the same array for the same set).
   */
  set(prefix: PrefixKey, nexthops: readonly string[] | null): void {
    this.now = Date.now();
    this.setWant(prefix, nexthops === null ? null : this.unicastWant(nexthops));
  }

  /** set() for parallel arrays. */
  setMany(prefixes: readonly PrefixKey[], nexthops: readonly (readonly string[] | null)[]): void {
    if (prefixes.length !== nexthops.length)
      throw new Error('setMany: prefixes and nexthops differ in length');
    this.now = Date.now();
    for (let i = 0; i < prefixes.length; i++) {
      const nh = nexthops[i];
      this.setWant(prefixes[i], nh === null ? null : this.unicastWant(nh));
    }
  }

  /**
   * The whole set of blackhole/unreachable routes (our own pod CIDRs, so traffic to unused pod addresses
   * is dropped here rather than sent to the default route). A prefix left out of a later call is removed.
   */
  setBlackholes(prefixes: readonly PrefixKey[], kind: 'blackhole' | 'unreachable', metric: number): void {
    const next = new Set(prefixes);
    this.now = Date.now();
    for (const p of this.blackholes) if (!next.has(p)) this.setWant(p, null);
    const id = `${kind}|${metric}`;
    let want = this.wants.get(id);
    if (!want) this.wants.set(id, (want = { kind, nexthops: [], metric }));
    for (const p of next) this.setWant(p, want);
    this.blackholes = next;
  }

  private unicastWant(nexthops: readonly string[]): Want | null {
    let w = this.wantByArray.get(nexthops);
    if (w !== undefined) return w;
    const list = [...new Set(nexthops)].sort();
    if (list.length === 0) w = null;
    else {
      const id = `unicast|${list.join(',')}`;
      w = this.wants.get(id);
      if (!w) this.wants.set(id, (w = { kind: 'unicast', nexthops: list, metric: this.metric }));
    }
    this.wantByArray.set(nexthops, w);
    return w;
  }

  private setWant(prefix: PrefixKey, want: Want | null): void {
    if (this.closed) throw new Error('Fib is closed');
    if (typeof prefix !== 'number' && typeof prefix !== 'string')
      throw new Error(`bad prefix key ${String(prefix)}`);
    let e = this.entries_.get(prefix);
    if (e === undefined) {
      if (want === null) return;
      e = this.entry(prefix);
    } else if (e.want === want) return;
    e.want = want;
    if (want && e.status !== 'failed') this.setStatus(e, 'pending');
    this.markDirty(e);
  }

  /** Remove our routes from a previous run that nobody wants now. */
  releaseStale(): void {
    let count = 0;
    for (const e of this.entries_.values()) {
      if (e.want !== undefined) continue;
      e.want = null;
      this.markDirty(e);
      count++;
    }
    if (this.staleTimer) clearTimeout(this.staleTimer);
    this.staleTimer = undefined;
    this.emit({ type: 'stale-released', count });
  }

  entries(): FibEntryView[] {
    const out: FibEntryView[] = [];
    for (const e of this.entries_.values()) {
      if (e.want === null && !e.installed) continue;
      out.push(this.view(e));
    }
    return out;
  }

  stats(): FibStats {
    const s: FibStats = { wanted: 0, installed: 0, pending: 0, failed: 0, unresolvable: 0, stale: 0 };
    for (const e of this.entries_.values()) {
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

  /** Resolves once nothing is waiting to be written or acknowledged (failed routes wait for their retry). */
  flushed(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.checkFlushed();
    });
  }

  async close(opts: { removeRoutes: boolean }): Promise<void> {
    if (this.closed) return;
    if (opts.removeRoutes && this.started) {
      for (const e of this.entries_.values()) {
        e.want = null;
        this.markDirty(e);
      }
      this.retries.clear();
      await this.flushed();
      if (this.nexthops) {
        for (const o of [...this.nexthops.values()]) if (o.state !== 'absent') this.deleteNexthop(o);
        this.pump();
        await this.flushed();
      }
    }
    this.closed = true;
    for (const t of [this.retryTimer, this.staleTimer, this.resyncTimer, this.resumeTimer])
      if (t) clearTimeout(t);
    this.backend.close();
    this.checkFlushed();
  }

  // --- the mirror ---------------------------------------------------------------------------------

  private entry(key: PrefixKey): Entry {
    let e = this.entries_.get(key);
    if (!e) {
      e = new Entry(key, this.now);
      this.entries_.set(key, e);
    }
    return e;
  }

  private remove(e: Entry): void {
    this.entries_.delete(e.key);
    e.removed = true;
    this.removedSince?.add(e.key);
  }

  private setStatus(e: Entry, status: FibStatus, error?: string): void {
    if (e.status !== status) e.since = this.now;
    e.status = status;
    e.error = error;
  }

  private markDirty(e: Entry): void {
    if (!e.queued) {
      e.queued = true;
      this.dirty.push(e);
    }
    if (this.flushScheduled || !this.started || this.closed) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    this.now = Date.now();
    if (this.dirtyHead === 0 && this.dirty.length >= SHUFFLE_MIN) shuffle(this.dirty);
    const end = Math.min(this.dirty.length, this.dirtyHead + FLUSH_CHUNK);
    for (; this.dirtyHead < end; this.dirtyHead++) {
      const e = this.dirty[this.dirtyHead];
      e.queued = false;
      if (e.removed) continue;
      if (e.busy) {
        e.redo = true;
        continue;
      }
      this.reconcile(e);
    }
    if (this.dirtyHead === this.dirty.length) {
      this.dirty = [];
      this.dirtyHead = 0;
    } else {
      if (this.dirtyHead > 65536 && this.dirtyHead * 2 > this.dirty.length) {
        this.dirty = this.dirty.slice(this.dirtyHead);
        this.dirtyHead = 0;
      }
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    const burst = Math.min(BURST, this.backend.monitorCapacity >> 1);
    if (this.outEntries.length - this.outHead + this.inFlight >= burst) this.pauseRouteEvents();
    this.pump();
    this.checkFlushed();
  }

  /** Compare wanted with installed for one prefix and queue the writes that make them equal. */
  private reconcile(e: Entry): void {
    if (e.want === undefined) {
      if (!e.installed) this.remove(e);
      return;
    }
    const desired = e.want === null ? null : this.desired(e, e.want);
    if (!desired) {
      if (e.installed) this.enqueue(e, DEL, e.installed);
      else if (e.want === null) this.remove(e);
      return;
    }
    if (e.installed === desired) {
      if (e.status !== 'installed') this.setStatus(e, 'installed');
      return;
    }
    const other = this.kernel.occupiedBy(e.key, desired.priority);
    if (other !== undefined) {
      this.fail(
        e,
        `EEXIST: a route of protocol ${other} holds ${formatKey(e.key)} metric ${desired.priority} in table ${this.table}`,
      );
      return;
    }
    if (e.installed && e.installed.priority !== desired.priority) this.enqueue(e, DEL, e.installed);
    this.enqueue(e, NEW, desired);
    if (e.status !== 'failed') this.setStatus(e, 'pending');
  }

  /** The shape we want in the kernel for this entry, or null (unresolvable: status set here). */
  private desired(e: Entry, want: Want): RouteShape | null {
    const family: Family = typeof e.key === 'number' ? AF_INET : AF_INET6;
    if (want.kind !== 'unicast')
      return this.shapes.get(
        family,
        want.kind === 'blackhole' ? RTN.RTN_BLACKHOLE : RTN.RTN_UNREACHABLE,
        want.metric,
        [],
      );
    const cache = this.resolved.get(family)!;
    let r = cache.get(want);
    if (r === undefined) cache.set(want, (r = this.resolveWant(want, family)));
    if (typeof r !== 'string') return r;
    if (e.status !== 'unresolvable' || e.error !== r)
      this.emit({ type: 'route-unresolvable', prefix: formatKey(e.key), reason: r });
    this.setStatus(e, 'unresolvable', r);
    return null;
  }

  /** Resolve every next hop of a set: the shape to install, or the reasons none can be used. */
  private resolveWant(want: Want, family: Family): RouteShape | string {
    const nexthops: RouteNexthop[] = [];
    const reasons: string[] = [];
    for (const text of want.nexthops) {
      const a = parseAddress(text);
      if (a && a.family !== family) reasons.push(`next hop ${text} is not of the prefix's address family`);
      else if (this.backend.name === 'noop') {
        if (a) nexthops.push({ gateway: a.addr, oif: 0, flags: 0, hops: 0 });
        else reasons.push(`not an IP address: ${text}`);
      } else {
        const r = this.kernel.resolve(text);
        if (r.ok) nexthops.push(r.nexthop);
        else reasons.push(r.reason);
      }
    }
    if (!nexthops.length) return reasons.join('; ');
    // One next hop: through a nexthop object of ours. ECMP sets keep RTA_MULTIPATH.
    const nhid = this.nexthops && nexthops.length === 1 ? this.nexthops.for(family, nexthops[0]).id : 0;
    return this.shapes.get(family, RTN.RTN_UNICAST, this.metric, nexthops, nhid);
  }

  /** The kernel's state changed: every next-hop set resolves again when next used. */
  private forgetResolutions(): void {
    for (const m of this.resolved.values()) m.clear();
  }

  private enqueue(e: Entry, type: number, shape: RouteShape): void {
    if (type === NEW && shape.nhid) {
      // The kernel handles our writes in order: the object is created before the route that names it.
      const o = this.nexthops?.get(shape.nhid);
      if (o && o.state === 'absent') {
        o.state = 'pending';
        this.outEntries.push(null);
        this.outTypes.push(NEWNH);
        this.outShapes.push(shape);
      }
    }
    e.busy++;
    this.outEntries.push(e);
    this.outTypes.push(type);
    this.outShapes.push(shape);
  }

  /** Send queued writes in 64 KiB batches while fewer than backend.maxUnanswered messages are unanswered. */
  private pump(): void {
    while (
      !this.closed &&
      this.outHead < this.outEntries.length &&
      this.inFlight < this.backend.maxUnanswered
    ) {
      const buf = Buffer.from(new ArrayBuffer(BATCH_BYTES)); // its own memory: handed to the writer thread
      const first = this.backend.reserveSeq(SEQ_PER_BATCH);
      const start = this.outHead;
      let off = 0;
      let lastOff = 0;
      const room = Math.min(SEQ_PER_BATCH, this.backend.maxUnanswered - this.inFlight);
      while (this.outHead < this.outEntries.length && this.outHead - start < room) {
        const shape = this.outShapes[this.outHead];
        if (off + shape.maxLen > BATCH_BYTES) break;
        const type = this.outTypes[this.outHead];
        const e = this.outEntries[this.outHead];
        const seq = first + (this.outHead - start);
        lastOff = off;
        if (e === null)
          off = this.shapes.writeNexthop(
            buf,
            off,
            type,
            NLM_F_REQUEST | (type === NEWNH ? NLM_F_CREATE | NLM_F_EXCL : 0),
            seq,
            shape,
          );
        else
          off = this.shapes.write(
            buf,
            off,
            type,
            NLM_F_REQUEST | (type === NEW ? NLM_F_CREATE | NLM_F_REPLACE : 0),
            seq,
            e.key,
            shape,
          );
        this.outHead++;
      }
      const n = this.outHead - start;
      buf.writeUInt16LE(buf.readUInt16LE(lastOff + 6) | NLM_F_ACK, lastOff + 6);
      const ops: BatchOps = {
        first,
        entries: this.outEntries.slice(start, this.outHead),
        types: this.outTypes.slice(start, this.outHead),
        shapes: this.outShapes.slice(start, this.outHead),
      };
      this.inFlight += n;
      this.backend.send({
        buf: buf.subarray(0, off),
        first,
        last: first + n - 1,
        done: (failed, lost) => this.onBatch(ops, failed, lost),
      });
    }
    if (this.outHead === this.outEntries.length) {
      this.outEntries = [];
      this.outTypes = [];
      this.outShapes = [];
      this.outHead = 0;
    } else if (this.outHead > 65536 && this.outHead * 2 > this.outEntries.length) {
      this.outEntries = this.outEntries.slice(this.outHead);
      this.outTypes = this.outTypes.slice(this.outHead);
      this.outShapes = this.outShapes.slice(this.outHead);
      this.outHead = 0;
    }
  }

  private onBatch(ops: BatchOps, failed: ReadonlyMap<number, number> | undefined, lost: number): void {
    this.now = Date.now();
    const n = ops.entries.length;
    for (let i = 0; i < n; i++) {
      const e = ops.entries[i];
      const errno = failed?.get(ops.first + i) ?? lost;
      if (e === null) this.onNexthopAnswer(ops.types[i], ops.shapes[i], errno);
      else this.onAnswer(e, ops.types[i], ops.shapes[i], errno);
    }
    this.inFlight -= n;
    this.pump();
    if (this.inFlight === 0 && this.outHead === this.outEntries.length) {
      if (this.routeEventsPaused) this.armResume();
      this.checkFlushed();
    }
  }

  private onAnswer(e: Entry, type: number, shape: RouteShape, errno: number): void {
    e.busy--;
    e.answeredAt = ++this.answers;
    const ok = errno === 0 || (type === DEL && (errno === ESRCH || errno === ENOENT));
    if (type === NEW) {
      if (errno === 0) {
        e.installed = shape;
        if (e.status === 'failed') this.emit({ type: 'route-recovered', prefix: formatKey(e.key) });
        e.attempt = 0;
        if (e.busy === 0) this.setStatus(e, 'installed');
      } else {
        // A route naming a nexthop object that could not be created fails too: say why the object failed.
        const nh = shape.nhid ? this.nexthops?.get(shape.nhid) : undefined;
        this.fail(
          e,
          nh?.error
            ? `${nh.error} (nexthop object ${shape.nhid} via ${this.kernelView(shape).nexthops.join(' ')})`
            : errnoName(errno),
        );
      }
    } else if (ok) {
      if (e.installed === shape) e.installed = null;
    } else this.fail(e, errnoName(errno));
    if (e.busy === 0 && (e.redo || (ok && (e.want === null || e.want === undefined)))) {
      e.redo = false;
      this.markDirty(e);
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

  /** Queue the deletion of a nexthop object no route uses; it is forgotten at once (a later use makes a new one). */
  private deleteNexthop(o: NexthopObject): void {
    this.nexthops?.forget(o);
    this.outEntries.push(null);
    this.outTypes.push(DELNH);
    this.outShapes.push(
      this.shapes.get(
        o.family,
        RTN.RTN_UNICAST,
        0,
        [{ gateway: o.gateway, oif: o.oif, flags: 0, hops: 0 }],
        o.id,
      ),
    );
  }

  private fail(e: Entry, error: string): void {
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** e.attempt);
    e.attempt++;
    this.setStatus(e, 'failed', error);
    this.emit({ type: 'route-failed', prefix: formatKey(e.key), error, retryInMs: delay });
    this.retries.set(e, Date.now() + delay);
    this.armRetry();
  }

  private armRetry(): void {
    if (this.retryTimer || this.closed || this.retries.size === 0) return;
    let next = Infinity;
    for (const t of this.retries.values()) next = Math.min(next, t);
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        const now = Date.now();
        for (const [e, t] of this.retries)
          if (t <= now) {
            this.retries.delete(e);
            if (!e.removed) this.markDirty(e);
          }
        this.armRetry();
      },
      Math.max(0, next - Date.now()),
    );
    this.retryTimer.unref();
  }

  private checkFlushed(): void {
    if (
      !this.closed &&
      (this.dirtyHead < this.dirty.length ||
        this.inFlight ||
        this.outHead < this.outEntries.length ||
        this.flushScheduled ||
        this.resyncing)
    )
      return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /**
   * Each of our writes comes back as a route notification, one datagram each, costing as much as the write:
   * during a burst we leave the route groups, and once the writes have been answered and SETTLE_MS passed
   * without another burst, join them again and dump once to catch up on what happened meanwhile.
   */
  private pauseRouteEvents(): void {
    if (this.resumeTimer) clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
    if (this.routeEventsPaused) return;
    this.routeEventsPaused = true;
    this.backend.routeEvents(false);
  }

  private armResume(): void {
    if (this.resumeTimer || this.closed) return;
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = undefined;
      if (this.closed || !this.routeEventsPaused) return;
      if (this.inFlight > 0 || this.outHead < this.outEntries.length) return; // armed again when these are answered
      this.routeEventsPaused = false;
      this.backend.routeEvents(true);
      this.scheduleResync('route notifications were paused during a burst of writes', 0);
    }, SETTLE_MS);
  }

  // --- the kernel's side ----------------------------------------------------------------------------

  private isOursRoute(r: RouteMsg): boolean {
    return r.protocol === this.protocol && r.table === this.table;
  }

  private routeKey(r: RouteMsg): PrefixKey {
    return encodeKey(r.family as Family, r.dst ?? Buffer.alloc(r.family === AF_INET ? 4 : 16), r.dstLen);
  }

  /**
   * Read a raw route dump: `ours(key, shape)` for each of our routes, scanned in place (routes of the same
   * content are decoded once), `other(route)` for the others of the main table and ours (decoded: they
   * matter for next-hop resolution and are few). Returns how many routes the dump held.
   */
  private scan(
    datagrams: readonly Buffer[],
    ours: (key: PrefixKey, shape: RouteShape) => void,
    other: (r: RouteMsg) => void,
  ): number {
    this.now = Date.now();
    const byBytes = new Map<string, RouteShape>();
    let count = 0;
    forEachMessage(datagrams, (type, buf, off, len) => {
      if (type !== NEW) return;
      const p = off + NLMSG_HDRLEN;
      const end = off + len;
      if (end - p < RTMSG_LEN) return;
      count++;
      const family = buf[p];
      let table = buf[p + 4];
      let dst = -1;
      for (let a = p + RTMSG_LEN; a + 4 <= end; ) {
        const alen = buf.readUInt16LE(a);
        if (alen < 4 || a + alen > end) break;
        const at = buf.readUInt16LE(a + 2) & 0x3fff;
        if (at === RTA.RTA_DST) dst = a + 4;
        else if (at === RTA.RTA_TABLE && alen >= 8) table = buf.readUInt32LE(a + 4);
        else if (at === RTA.RTA_CACHEINFO) buf.fill(0, a + 4, a + alen); // counters, not content
        a += (alen + 3) & ~3;
      }
      if (buf[p + 5] !== this.protocol || table !== this.table) {
        if (table === 254 || table === this.table) other(decodeRoute(buf.subarray(p, end)));
        return;
      }
      if (family !== AF_INET && family !== AF_INET6) return;
      const alen = family === AF_INET ? 4 : 16;
      const dstLen = buf[p + 1];
      const key =
        family === AF_INET
          ? (dst >= 0 ? buf.readUInt32BE(dst) : 0) * 64 + dstLen
          : encodeKey(AF_INET6, dst >= 0 ? buf.subarray(dst, dst + 16) : Buffer.alloc(16), dstLen);
      // With the prefix zeroed, routes of the same content are the same bytes.
      if (dst >= 0) buf.fill(0, dst, dst + alen);
      const bytes = buf.toString('latin1', p, end);
      let shape = byBytes.get(bytes);
      if (shape === undefined)
        byBytes.set(bytes, (shape = this.shapes.fromRoute(decodeRoute(buf.subarray(p, end)))));
      ours(key, shape);
    });
    return count;
  }

  private onMonitor(e: MonitorEvent): void {
    if (this.closed) return;
    switch (e.kind) {
      case 'link':
        if (this.kernel.applyLink(e.link, e.deleted)) {
          this.forgetResolutions();
          this.scheduleResync(`link ${e.link.name ?? e.link.index} changed`);
        }
        return;
      case 'addr':
        this.kernel.applyAddr(e.addr, e.deleted);
        this.forgetResolutions();
        return this.scheduleResync('address changed');
      case 'overrun':
        return this.scheduleResync('monitor socket overrun (ENOBUFS)');
      case 'fault':
        return this.emit({ type: 'fault', where: e.where, message: e.message });
      case 'route':
        return this.onRouteEvent(e.route, e.deleted);
    }
  }

  private onRouteEvent(r: RouteMsg, deleted: boolean): void {
    if (!this.isOursRoute(r)) {
      if (this.kernel.applyRoute(r, deleted)) this.reresolveAll();
      return;
    }
    if (!deleted) return;
    const e = this.entries_.get(this.routeKey(r));
    if (!e || !e.installed || e.installed.priority !== (r.priority ?? 0)) return;
    if (e.busy) {
      e.redo = true;
      return;
    }
    e.installed = null;
    if (e.want) this.emit({ type: 'route-reasserted', prefix: formatKey(e.key) });
    this.markDirty(e);
  }

  private reresolveAll(): void {
    this.forgetResolutions();
    for (const e of this.entries_.values()) if (e.want?.kind === 'unicast') this.markDirty(e);
  }

  /** Links and addresses change what the kernel holds silently (a link set down flushes its routes): re-dump. */
  private scheduleResync(reason: string, delayMs = 50): void {
    if (this.resyncTimer || this.closed) return;
    this.resyncing = true;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = undefined;
      this.emit({ type: 'resync', reason });
      this.resync().catch((err: Error) => this.emit({ type: 'resync', reason: `failed: ${err.message}` }));
    }, delayMs);
  }

  /** Dump the routes again; reconcile the prefixes whose kernel state is not what we think it is. */
  private async resync(): Promise<void> {
    try {
      // A write answered after this mark may be newer than what the dump shows of its route: what the
      // answer said stands for it (a dump is read while deletions go on; believing it would undo them).
      const mark = this.answers;
      const removed = (this.removedSince = new Set());
      // Nexthop objects first: the kernel removes one (and its routes) when its device goes down.
      if (this.nexthops) this.nexthops.sync(await this.backend.dumpNexthops());
      const datagrams = await this.backend.dumpRoutes();
      this.removedSince = undefined;
      if (this.closed) return;
      const before = this.kernel.fingerprint();
      this.kernel.clearRoutes();
      const gen = ++this.generation;
      this.scan(
        datagrams,
        (key, shape) => {
          if (removed.has(key) && !this.entries_.has(key)) return; // deleted by us after the dump began
          const e = this.entry(key);
          e.seen = gen;
          if (e.busy) {
            e.redo = true;
            return;
          }
          if (e.answeredAt > mark || e.installed === shape) return;
          e.installed = shape;
          this.markDirty(e);
        },
        (r) => this.kernel.applyRoute(r, false),
      );
      const reresolve = before !== this.kernel.fingerprint();
      if (reresolve) this.forgetResolutions();
      const inUse = new Set<RouteShape>();
      for (const e of this.entries_.values()) {
        if (e.seen !== gen && e.installed && e.answeredAt <= mark) {
          if (e.busy) e.redo = true;
          else {
            e.installed = null;
            this.markDirty(e);
          }
        }
        if (reresolve && e.want?.kind === 'unicast') this.markDirty(e);
        if (e.installed) inUse.add(e.installed);
      }
      // Shapes no route, queued write or resolution refers to any more are dropped (next hops come and go).
      // Not while writes are in flight: their shapes become `installed` when answered.
      if (this.inFlight === 0 && this.outHead === this.outEntries.length) {
        for (const m of this.resolved.values())
          for (const s of m.values()) if (typeof s !== 'string') inUse.add(s);
        // Nexthop objects of ours that no route uses or may use any more are deleted.
        if (this.nexthops) {
          const used = new Set<number>();
          for (const s of inUse) if (s.nhid) used.add(s.nhid);
          let deleted = 0;
          for (const o of [...this.nexthops.values()])
            if (o.state === 'present' && !used.has(o.id)) {
              this.deleteNexthop(o);
              deleted++;
            }
          if (deleted) this.pump();
        }
        for (const s of this.outShapes) inUse.add(s);
        this.shapes.retain(inUse);
      }
    } finally {
      this.removedSince = undefined;
      this.resyncing = false;
      this.checkFlushed();
    }
  }

  private view(e: Entry): FibEntryView {
    const w = e.want;
    const v: FibEntryView = {
      prefix: formatKey(e.key),
      nexthops: w?.kind === 'unicast' ? [...w.nexthops] : [],
      kind:
        w && w.kind !== 'unicast'
          ? w.kind
          : e.installed?.type === RTN.RTN_BLACKHOLE
            ? 'blackhole'
            : 'unicast',
      status: e.status,
      kernel: e.installed ? this.kernelView(e.installed) : null,
      since: e.since,
    };
    if (e.error) v.error = e.error;
    if (w === undefined) v.stale = true;
    return v;
  }

  private kernelView(s: RouteShape): { nexthops: string[]; protocol: string; metric: number } {
    const nexthops = s.nexthops.map((n) => {
      const dev = this.kernel.links.get(n.oif)?.name;
      return `${n.gateway ? formatAddress(n.gateway) : ''}${dev ? `%${dev}` : ''}`;
    });
    if (s.type === RTN.RTN_BLACKHOLE) nexthops.push('blackhole');
    if (s.type === RTN.RTN_UNREACHABLE) nexthops.push('unreachable');
    return {
      nexthops,
      protocol: this.protocol === 202 ? 'nodebgp' : String(this.protocol),
      metric: s.priority,
    };
  }
}
