/**
 * The FIB mirror: for every prefix, what the daemon WANTS (next hops, or a blackhole) and what is
 * INSTALLED in the kernel, and the writes that make the second equal the first.
 *
 * Ownership: only routes carrying our rtm_protocol (202, "nodebgp") in our table are ever written or
 * deleted; everything else is read, for next-hop resolution, and never changed. A write that would replace
 * another program's route (same table, prefix and metric) is refused and reported.
 *
 * The writes, as their iproute2 equivalents (every one with NLM_F_REQUEST|NLM_F_ACK and its own sequence
 * number; the ack or error comes back per route):
 *
 *   add/change  RTM_NEWROUTE NLM_F_CREATE|NLM_F_REPLACE
 *               = ip route replace 10.244.2.0/24 via 10.0.0.2 dev eth0 proto 202 metric 20 table 254
 *               = ip route replace 10.244.2.0/24 proto 202 metric 20 nexthop via 10.0.0.2 dev eth0 nexthop via 10.0.1.2 dev eth1
 *               = ip route replace blackhole 10.244.1.0/24 proto 202 metric 4000
 *   remove      RTM_DELROUTE = ip route del 10.244.2.0/24 proto 202 metric 20 table 254
 *
 * Changes are coalesced per event-loop turn (setImmediate) and sent in batches (see netlink/socket.ts).
 * A failed write is reported with the errno name and retried with exponential backoff, 1 s → 30 s.
 *
 * Start: dump links, addresses and routes, subscribe to changes. Our routes found in the kernel that are
 * wanted and identical are adopted (no rewrite); ours that are not wanted are STALE — left in place until
 * releaseStale() (after End-of-RIB) or staleGraceMs. A deletion of one of our routes by someone else is
 * re-asserted; a link or address change makes every next hop resolve again (kernel.ts).
 */
import { RouteMsg, RouteNexthop } from './netlink/codec.js';
import { RTM, RTN, RT_SCOPE, NLM_F_REQUEST, NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, errnoName } from './netlink/constants.js';
import { writeRouteMsg, routeMsgMaxLen } from './netlink/encode.js';
import { WriteOp } from './netlink/socket.js';
import { Backend, NetlinkBackend, NoopBackend, MonitorEvent, KernelDump } from './backend.js';
import { KernelState, Resolution } from './kernel.js';
import { PrefixKey, decodeKey, encodeKey, formatKey, formatAddress, Family, parseAddress } from './prefix.js';

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
  | { type: 'resync'; reason: string };

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

type Want = { kind: 'unicast'; nexthops: readonly string[] } | { kind: 'blackhole' | 'unreachable'; metric: number };

interface Installed {
  route: RouteMsg;
  sig: string;
}

interface Entry {
  key: PrefixKey;
  /** undefined: not set by the daemon (a stale route of ours); null: to be removed. */
  want: Want | null | undefined;
  installed: Installed | null;
  status: FibStatus;
  error?: string;
  since: number;
  busy: number;
  redo: boolean;
  attempt: number;
}

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;
/** A flush with this many writes stops route notifications until it is acknowledged. */
const BURST = 1024;
const ESRCH = 3;
const ENOENT = 2;

/** Identity of a route's content: type, metric and the next-hop set (order-free). */
function signature(r: RouteMsg): string {
  const head = `${r.type}|${r.priority ?? 0}|`;
  const nh = (n: RouteNexthop): string => `${n.gateway ? n.gateway.toString('hex') : ''}@${n.oif}`;
  if (r.nexthops.length === 1) return head + nh(r.nexthops[0]);
  return head + r.nexthops.map(nh).sort().join(',');
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class Fib {
  private readonly table: number;
  private readonly metric: number;
  private readonly protocol: number;
  private readonly backend: Backend;
  private readonly kernel: KernelState;
  private readonly entries_ = new Map<PrefixKey, Entry>();
  private readonly dirty = new Set<PrefixKey>();
  private blackholes = new Set<PrefixKey>();
  private readonly retries = new Map<PrefixKey, number>();
  private retryTimer: NodeJS.Timeout | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  private started = false;
  private closed = false;
  private resyncing = false;
  private routeEventsPaused = false;
  private inFlight = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly opts: FibOptions) {
    this.table = opts.table ?? 254;
    this.metric = opts.metric ?? 20;
    this.protocol = opts.protocol ?? 202;
    if (!(this.table > 0 && this.table < 2 ** 32)) throw new Error(`FibOptions.table: bad table ${this.table}`);
    if (!(this.protocol > 0 && this.protocol < 256)) throw new Error(`FibOptions.protocol: bad protocol ${this.protocol}`);
    this.backend = opts.backend === 'netlink' ? new NetlinkBackend() : new NoopBackend();
    this.kernel = new KernelState(this.table);
  }

  private emit(e: FibEvent): void {
    this.opts.onEvent?.(e);
  }

  /** Dump links, addresses and routes, subscribe to their changes, then reconcile. */
  async start(): Promise<void> {
    this.backend.subscribe((e) => this.onMonitor(e), (p) => this.isOursPayload(p));
    const d: KernelDump = await this.backend.dump();
    for (const l of d.links) this.kernel.applyLink(l, false);
    for (const a of d.addrs) this.kernel.applyAddr(a, false);
    let adopted = 0;
    let stale = 0;
    for (const r of d.routes) {
      if (!this.isOursRoute(r)) { this.kernel.applyRoute(r, false); continue; }
      const e = this.entry(this.routeKey(r));
      e.installed = { route: r, sig: signature(r) };
      if (e.want === undefined) stale++;
      else adopted++;
    }
    this.started = true;
    for (const key of this.entries_.keys()) this.markDirty(key);
    this.emit({ type: 'started', adopted, stale, kernelRoutes: d.routes.length });
    if (this.opts.staleGraceMs !== undefined) {
      this.staleTimer = setTimeout(() => this.releaseStale(), this.opts.staleGraceMs);
      this.staleTimer.unref();
    }
  }

  /**
   * Want `prefix` routed via `nexthops` (≥2 = one ECMP route); null = remove our route. May be called
   * before start(): nothing is written until the kernel has been dumped.
   */
  set(prefix: PrefixKey, nexthops: readonly string[] | null): void {
    if (nexthops === null) return this.setWant(prefix, null);
    const nhs = [...new Set(nexthops)].sort();
    const cur = this.entries_.get(prefix)?.want;
    if (cur && cur.kind === 'unicast' && sameList(cur.nexthops, nhs)) return;
    this.setWant(prefix, nhs.length ? { kind: 'unicast', nexthops: nhs } : null);
  }

  /** set() for parallel arrays. */
  setMany(prefixes: readonly PrefixKey[], nexthops: readonly (readonly string[] | null)[]): void {
    if (prefixes.length !== nexthops.length) throw new Error('setMany: prefixes and nexthops differ in length');
    for (let i = 0; i < prefixes.length; i++) this.set(prefixes[i], nexthops[i]);
  }

  /**
   * The whole set of blackhole/unreachable routes (our own pod CIDRs, so traffic to unused pod addresses
   * is dropped here rather than sent to the default route). A prefix left out of a later call is removed.
   */
  setBlackholes(prefixes: readonly PrefixKey[], kind: 'blackhole' | 'unreachable', metric: number): void {
    const next = new Set(prefixes);
    for (const p of this.blackholes) if (!next.has(p)) this.setWant(p, null);
    for (const p of next) {
      const cur = this.entries_.get(p)?.want;
      if (cur && cur.kind === kind && cur.metric === metric) continue;
      this.setWant(p, { kind, metric });
    }
    this.blackholes = next;
  }

  private setWant(prefix: PrefixKey, want: Want | null): void {
    if (this.closed) throw new Error('Fib is closed');
    if (typeof prefix !== 'number' && typeof prefix !== 'string') throw new Error(`bad prefix key ${String(prefix)}`);
    const e = this.entries_.get(prefix);
    if (!e && want === null) return;
    const entry = e ?? this.entry(prefix);
    entry.want = want;
    if (want && entry.status !== 'failed') this.setStatus(entry, 'pending');
    this.markDirty(prefix);
  }

  /** Remove our routes from a previous run that nobody wants now. */
  releaseStale(): void {
    let count = 0;
    for (const e of this.entries_.values()) {
      if (e.want !== undefined) continue;
      e.want = null;
      this.markDirty(e.key);
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
      if (e.want === undefined) { s.stale++; continue; }
      if (e.want === null) continue;
      s.wanted++;
      s[e.status]++;
    }
    return s;
  }

  /** Resolves once nothing is waiting to be written or acknowledged (failed routes wait for their retry). */
  flushed(): Promise<void> {
    return new Promise((resolve) => { this.waiters.push(resolve); this.checkFlushed(); });
  }

  async close(opts: { removeRoutes: boolean }): Promise<void> {
    if (this.closed) return;
    if (opts.removeRoutes && this.started) {
      for (const e of this.entries_.values()) { e.want = null; this.markDirty(e.key); }
      this.retries.clear();
      await this.flushed();
    }
    this.closed = true;
    for (const t of [this.retryTimer, this.staleTimer, this.resyncTimer]) if (t) clearTimeout(t);
    this.backend.close();
    this.checkFlushed();
  }

  // --- the mirror ---------------------------------------------------------------------------------

  private entry(key: PrefixKey): Entry {
    let e = this.entries_.get(key);
    if (!e) {
      e = { key, want: undefined, installed: null, status: 'pending', since: Date.now(), busy: 0, redo: false, attempt: 0 };
      this.entries_.set(key, e);
    }
    return e;
  }

  private setStatus(e: Entry, status: FibStatus, error?: string): void {
    if (e.status !== status) e.since = Date.now();
    e.status = status;
    e.error = error;
  }

  private markDirty(key: PrefixKey): void {
    this.dirty.add(key);
    if (this.flushScheduled || !this.started || this.closed) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    const ops: WriteOp[] = [];
    const cache = new Map<string, Resolution>();
    for (const key of this.dirty) {
      const e = this.entries_.get(key);
      if (!e) continue;
      if (e.busy) { e.redo = true; continue; }
      this.reconcile(e, ops, cache);
    }
    this.dirty.clear();
    if (ops.length >= BURST && !this.routeEventsPaused) {
      // Each of our writes would come back as a notification, costing as much as its ack: listen again,
      // and dump once to catch up, when the burst is acknowledged.
      this.routeEventsPaused = true;
      this.backend.routeEvents(false);
    }
    if (ops.length) this.backend.write(ops);
    this.checkFlushed();
  }

  /** Compare wanted with installed for one prefix and queue the writes that make them equal. */
  private reconcile(e: Entry, ops: WriteOp[], cache: Map<string, Resolution>): void {
    if (e.want === undefined) {
      if (!e.installed) this.entries_.delete(e.key);
      return;
    }
    const desired = e.want === null ? null : this.desired(e, e.want, cache);
    if (!desired) {
      if (e.installed) this.queue(e, ops, RTM.RTM_DELROUTE, e.installed.route);
      else if (e.want === null) this.entries_.delete(e.key);
      return;
    }
    const sig = signature(desired);
    if (e.installed?.sig === sig) {
      if (e.status !== 'installed') this.setStatus(e, 'installed');
      return;
    }
    const other = this.kernel.occupiedBy(desired.family, desired.dst, desired.dstLen, desired.priority ?? 0);
    if (other !== undefined) {
      this.fail(e, `EEXIST: a route of protocol ${other} holds ${formatKey(e.key)} metric ${desired.priority} in table ${this.table}`);
      return;
    }
    if (e.installed && e.installed.route.priority !== desired.priority) this.queue(e, ops, RTM.RTM_DELROUTE, e.installed.route);
    this.queue(e, ops, RTM.RTM_NEWROUTE, desired);
    if (e.status !== 'failed') this.setStatus(e, 'pending');
  }

  /** The route we want in the kernel for this entry, or null (unresolvable: status set here). */
  private desired(e: Entry, want: Want, cache: Map<string, Resolution>): RouteMsg | null {
    const p = decodeKey(e.key);
    const route = (type: number, priority: number, nexthops: RouteNexthop[]): RouteMsg => ({
      family: p.family, dstLen: p.len, dst: p.addr, tos: 0, table: this.table, protocol: this.protocol,
      scope: RT_SCOPE.RT_SCOPE_UNIVERSE, type, flags: 0, priority, nexthops,
    });
    if (want.kind !== 'unicast') return route(want.kind === 'blackhole' ? RTN.RTN_BLACKHOLE : RTN.RTN_UNREACHABLE, want.metric, []);
    const nexthops: RouteNexthop[] = [];
    const reasons: string[] = [];
    for (const text of want.nexthops) {
      let r = cache.get(text);
      if (!r) cache.set(text, (r = this.resolve(text, p.family)));
      if (r.ok) nexthops.push(r.nexthop);
      else reasons.push(r.reason);
    }
    if (!nexthops.length) {
      const reason = reasons.join('; ');
      if (e.status !== 'unresolvable' || e.error !== reason) this.emit({ type: 'route-unresolvable', prefix: formatKey(e.key), reason });
      this.setStatus(e, 'unresolvable', reason);
      return null;
    }
    return route(RTN.RTN_UNICAST, this.metric, nexthops);
  }

  private resolve(text: string, family: Family): Resolution {
    const a = parseAddress(text);
    if (a && a.family !== family) return { ok: false, reason: `next hop ${text} is not of the prefix's address family` };
    if (this.backend.name === 'noop') {
      return a ? { ok: true, nexthop: { gateway: a.addr, oif: 0, flags: 0, hops: 0 } } : { ok: false, reason: `not an IP address: ${text}` };
    }
    return this.kernel.resolve(text);
  }

  private queue(e: Entry, ops: WriteOp[], type: number, route: RouteMsg): void {
    // RTM_NEWROUTE: NLM_F_CREATE|NLM_F_REPLACE (`ip route replace`); RTM_DELROUTE: `ip route del … proto 202`.
    const flags = NLM_F_REQUEST | NLM_F_ACK | (type === RTM.RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_REPLACE : 0);
    e.busy++;
    this.inFlight++;
    ops.push({
      maxLen: routeMsgMaxLen(route),
      encode: (buf, off, seq) => writeRouteMsg(buf, off, type, flags, seq, route),
      done: (errno) => this.onAck(e, type, route, errno),
    });
  }

  private onAck(e: Entry, type: number, route: RouteMsg, errno: number): void {
    e.busy--;
    this.inFlight--;
    const ok = errno === 0 || (type === RTM.RTM_DELROUTE && (errno === ESRCH || errno === ENOENT));
    if (type === RTM.RTM_NEWROUTE) {
      if (errno === 0) {
        e.installed = { route, sig: signature(route) };
        if (e.status === 'failed') this.emit({ type: 'route-recovered', prefix: formatKey(e.key) });
        e.attempt = 0;
        if (e.busy === 0) this.setStatus(e, 'installed');
      } else this.fail(e, errnoName(errno));
    } else if (ok) {
      if (e.installed?.route === route) e.installed = null;
    } else this.fail(e, errnoName(errno));
    if (e.busy === 0 && (e.redo || (ok && (e.want === null || e.want === undefined)))) {
      e.redo = false;
      this.markDirty(e.key);
    }
    if (this.inFlight === 0) {
      if (this.routeEventsPaused) {
        this.routeEventsPaused = false;
        this.backend.routeEvents(true);
        this.scheduleResync('route notifications were paused during a burst of writes', 0);
      }
      this.checkFlushed();
    }
  }

  private fail(e: Entry, error: string): void {
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** e.attempt);
    e.attempt++;
    this.setStatus(e, 'failed', error);
    this.emit({ type: 'route-failed', prefix: formatKey(e.key), error, retryInMs: delay });
    this.retries.set(e.key, Date.now() + delay);
    this.armRetry();
  }

  private armRetry(): void {
    if (this.retryTimer || this.closed || this.retries.size === 0) return;
    let next = Infinity;
    for (const t of this.retries.values()) next = Math.min(next, t);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      const now = Date.now();
      for (const [key, t] of this.retries) if (t <= now) { this.retries.delete(key); this.markDirty(key); }
      this.armRetry();
    }, Math.max(0, next - Date.now()));
    this.retryTimer.unref();
  }

  private checkFlushed(): void {
    if (!this.closed && (this.dirty.size || this.inFlight || this.flushScheduled || this.resyncing)) return;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  // --- the kernel's side ----------------------------------------------------------------------------

  private isOursRoute(r: RouteMsg): boolean {
    return r.protocol === this.protocol && r.table === this.table;
  }

  /** Fast check on a raw rtmsg (no decoding): rtm_table at 4, rtm_protocol at 5. */
  private isOursPayload(p: Buffer): boolean {
    return p[5] === this.protocol && (this.table < 256 ? p[4] === this.table : p[4] === 252);
  }

  private routeKey(r: RouteMsg): PrefixKey {
    return encodeKey(r.family as Family, r.dst ?? Buffer.alloc(r.family === 2 ? 4 : 16), r.dstLen);
  }

  private onMonitor(e: MonitorEvent): void {
    if (this.closed) return;
    switch (e.kind) {
      case 'link':
        if (this.kernel.applyLink(e.link, e.deleted)) this.scheduleResync(`link ${e.link.name ?? e.link.index} changed`);
        return;
      case 'addr':
        this.kernel.applyAddr(e.addr, e.deleted);
        return this.scheduleResync('address changed');
      case 'overrun':
        return this.scheduleResync('monitor socket overrun (ENOBUFS)');
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
    if (!e || !e.installed || e.installed.route.priority !== r.priority) return;
    if (e.busy) { e.redo = true; return; }
    e.installed = null;
    if (e.want) this.emit({ type: 'route-reasserted', prefix: formatKey(e.key) });
    this.markDirty(e.key);
  }

  private reresolveAll(): void {
    for (const e of this.entries_.values()) if (e.want?.kind === 'unicast') this.markDirty(e.key);
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
      const routes = await this.backend.dumpRoutes();
      const before = this.kernel.fingerprint();
      this.kernel.clearRoutes();
      const ours = new Map<PrefixKey, RouteMsg>();
      for (const r of routes) {
        if (this.isOursRoute(r)) ours.set(this.routeKey(r), r);
        else this.kernel.applyRoute(r, false);
      }
      const reresolve = before !== this.kernel.fingerprint();
      for (const e of this.entries_.values()) {
        if (e.busy) { e.redo = true; continue; }
        const k = ours.get(e.key);
        const sig = k ? signature(k) : undefined;
        if (sig === e.installed?.sig && !(reresolve && e.want?.kind === 'unicast')) continue;
        e.installed = k && sig ? { route: k, sig } : null;
        this.markDirty(e.key);
      }
      for (const [key, r] of ours) if (!this.entries_.has(key)) this.entry(key).installed = { route: r, sig: signature(r) };
    } finally {
      this.resyncing = false;
      this.checkFlushed();
    }
  }

  private view(e: Entry): FibEntryView {
    const w = e.want;
    const v: FibEntryView = {
      prefix: formatKey(e.key),
      nexthops: w?.kind === 'unicast' ? [...w.nexthops] : [],
      kind: w && w.kind !== 'unicast' ? w.kind : e.installed?.route.type === RTN.RTN_BLACKHOLE ? 'blackhole' : 'unicast',
      status: e.status,
      kernel: e.installed ? this.kernelView(e.installed.route) : null,
      since: e.since,
    };
    if (e.error) v.error = e.error;
    if (w === undefined) v.stale = true;
    return v;
  }

  private kernelView(r: RouteMsg): { nexthops: string[]; protocol: string; metric: number } {
    const nexthops = r.nexthops.map((n) => {
      const dev = this.kernel.links.get(n.oif)?.name;
      return `${n.gateway ? formatAddress(n.gateway) : ''}${dev ? `%${dev}` : ''}`;
    });
    if (r.type === RTN.RTN_BLACKHOLE) nexthops.push('blackhole');
    if (r.type === RTN.RTN_UNREACHABLE) nexthops.push('unreachable');
    return { nexthops, protocol: r.protocol === 202 ? 'nodebgp' : String(r.protocol), metric: r.priority ?? 0 };
  }
}
