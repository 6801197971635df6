/**
 * The FIB mirror on a virtual clock, without a kernel or root: dumps, answers and notifications are values,
 * time is the `now` each call carries. What is asserted is what the kernel would be told (the writes) and
 * what a user sees (statuses, events) — including the races between a resync dump and writes in flight.
 */
import { describe, it, expect } from 'vitest';
import { FibMirror, MirrorAction, SETTLE_MS, RESYNC_DELAY_MS } from '../../../routing/mirror.js';
import type { FibEvent } from '../../../routing/api.js';
import type { KernelDump, RouteDump } from '../../../routing/backend.js';
import type { WriteOps } from '../../../routing/write-queue.js';
import { encodeRouteMsg } from '../../../routing/netlink/encode.js';
import { RouteMsg } from '../../../routing/netlink/codec.js';
import { IFF_LOWER_UP, IFF_UP, NLM_F_MULTI, RTM, RTN } from '../../../routing/netlink/constants.js';
import { parsePrefix, formatPrefix, type PrefixKey } from '../../../ip/prefix.js';

const ENETUNREACH = 101;
const ESRCH = 3;
const ip4 = (s: string): Buffer => Buffer.from(s.split('.').map(Number));
const P = (text: string): PrefixKey => {
  const p = parsePrefix(text);
  if (p instanceof Error) throw p;
  return p;
};

/** A route of ours (or another protocol's) as the kernel would dump it: 10.x/24 via gw dev 2, metric 20. */
function route(prefix: string, gateway: string, over: Partial<RouteMsg> = {}): RouteMsg {
  const [a, len] = prefix.split('/');
  return {
    family: 2,
    dstLen: Number(len),
    dst: ip4(a),
    tos: 0,
    table: 254,
    protocol: 202,
    scope: 0,
    type: RTN.RTN_UNICAST,
    flags: 0,
    priority: 20,
    nexthops: [{ gateway: ip4(gateway), oif: 2, flags: 0, hops: 0 }],
    ...over,
  };
}

/** Route messages as one dump datagram. */
const routeDump = (...routes: RouteMsg[]): Buffer[] => [
  Buffer.concat(routes.map((r) => encodeRouteMsg(RTM.RTM_NEWROUTE, NLM_F_MULTI, 0, r))),
];

/** eth0 (index 2) up with 10.0.0.1/24: next hops 10.0.0.x resolve to it. */
const kernelDump = (...routes: RouteMsg[]): KernelDump => ({
  links: [{ index: 2, flags: IFF_UP | IFF_LOWER_UP, name: 'eth0', operstate: 'up' }],
  addrs: [{ family: 2, prefixLen: 24, scope: 0, index: 2, address: ip4('10.0.0.1'), local: ip4('10.0.0.1') }],
  routes: routeDump(...routes),
  nexthops: undefined,
});

interface Write {
  type: 'add' | 'del' | 'nh-add' | 'nh-del';
  prefix?: string;
  gateway?: string;
}

class Harness {
  readonly events: FibEvent[] = [];
  readonly m: FibMirror;
  now = 1_000_000;
  constructor(opts: { staleGraceMs?: number; monitorCapacity?: number; scanChunk?: number } = {}) {
    this.m = new FibMirror({
      table: 254,
      metric: 20,
      protocol: 202,
      nexthopResolution: 'kernel',
      monitorCapacity: opts.monitorCapacity ?? 32768,
      staleGraceMs: opts.staleGraceMs,
      scanChunk: opts.scanChunk,
      emit: (e) => this.events.push(e),
      random: () => 0.5,
    });
  }

  /** Reconcile everything dirty and take every write (as the shell would, batch by batch). */
  take(): WriteOps[] {
    const out: WriteOps[] = [];
    while (this.m.hasDirty) this.m.reconcile(this.now);
    for (let ops = this.m.takeWrites(1000, 64 * 1024); ops; ops = this.m.takeWrites(1000, 64 * 1024))
      out.push(ops);
    return out;
  }

  /** Answer batches: every write succeeds unless `errno(write)` says otherwise. */
  answer(batches: WriteOps[], errno: (w: Write) => number = () => 0): void {
    for (const ops of batches) {
      const failed = new Map<number, number>();
      this.writes(ops).forEach((w, i) => {
        const e = errno(w);
        if (e) failed.set(i, e);
      });
      this.m.answer(ops, failed.size ? failed : undefined, 0, this.now);
    }
  }

  /** Reconcile, take and answer until nothing is left. */
  settle(errno?: (w: Write) => number): Write[] {
    const all: Write[] = [];
    for (let b = this.take(); b.length; b = this.take()) {
      all.push(...b.flatMap(this.writes));
      this.answer(b, errno);
    }
    return all;
  }

  advance(ms: number): void {
    this.now += ms;
    this.m.timeout(this.now);
  }

  actions(): MirrorAction[] {
    const out: MirrorAction[] = [];
    for (let a = this.m.pollAction(); a; a = this.m.pollAction()) out.push(a);
    return out;
  }

  status(prefix: string): string | undefined {
    return this.m.entries().find((e) => e.prefix === prefix)?.status;
  }

  /** A batch's writes as text (read before the batch is answered: a slot may be freed then). */
  writes = (ops: WriteOps): Write[] =>
    [...ops.slots].map((slot, i) => {
      const t = ops.types[i];
      const gw = ops.shapes[i].nexthops[0]?.gateway;
      const gateway = gw ? [...gw].join('.') : undefined;
      if (slot < 0) return { type: t === RTM.RTM_NEWNEXTHOP ? 'nh-add' : 'nh-del', gateway };
      return {
        type: t === RTM.RTM_NEWROUTE ? 'add' : 'del',
        prefix: formatPrefix(this.m.keyOf(slot)),
        ...(t === RTM.RTM_NEWROUTE && gateway ? { gateway } : {}),
      };
    });
}

describe('FibMirror: start, adoption and stale routes', () => {
  it('adopts our identical routes without a write and keeps the unwanted ones until released', () => {
    const h = new Harness();
    h.m.set(P('10.244.5.0/24'), ['10.0.0.2'], h.now);
    h.m.set(P('10.244.8.0/24'), ['10.0.0.2'], h.now);
    h.m.start(kernelDump(route('10.244.5.0/24', '10.0.0.2'), route('10.244.6.0/24', '10.0.0.2')), h.now);
    expect(h.events[0]).toEqual({ type: 'started', adopted: 1, stale: 1, kernelRoutes: 2 });
    expect(h.settle()).toEqual([{ type: 'add', prefix: '10.244.8.0/24', gateway: '10.0.0.2' }]);
    expect(h.m.stats()).toMatchObject({ wanted: 2, installed: 2, stale: 1 });
    h.m.releaseStale(h.now);
    expect(h.settle()).toEqual([{ type: 'del', prefix: '10.244.6.0/24' }]);
    expect(h.events).toContainEqual({ type: 'stale-released', count: 1, why: 'asked' });
    expect(h.m.stats()).toMatchObject({ stale: 0 });
  });

  it('releases stale routes at the stale release deadline, once, with nothing else to arm', () => {
    const h = new Harness({ staleGraceMs: 120_000 });
    h.m.start(kernelDump(route('10.244.6.0/24', '10.0.0.2')), h.now);
    expect(h.settle()).toEqual([]);
    expect(h.m.nextDeadline()).toBe(h.now + 120_000);
    h.advance(119_999);
    expect(h.take()).toEqual([]);
    h.advance(1);
    expect(h.events).toContainEqual({ type: 'stale-released', count: 1, why: 'grace time over' });
    expect(h.settle()).toEqual([{ type: 'del', prefix: '10.244.6.0/24' }]);
    expect(h.m.nextDeadline()).toBeUndefined();
    // End-of-RIB arriving later releases nothing more and says nothing.
    h.m.releaseStale(h.now);
    expect(h.events.filter((e) => e.type === 'stale-released')).toHaveLength(1);
  });

  it('released before the deadline, the deadline goes', () => {
    const h = new Harness({ staleGraceMs: 120_000 });
    h.m.start(kernelDump(route('10.244.6.0/24', '10.0.0.2')), h.now);
    h.m.releaseStale(h.now);
    expect(h.m.nextDeadline()).toBeUndefined();
    expect(h.settle()).toEqual([{ type: 'del', prefix: '10.244.6.0/24' }]);
  });

  it("never replaces another program's route at the same prefix and metric", () => {
    const h = new Harness();
    h.m.start(kernelDump(route('10.244.14.0/24', '10.0.0.9', { protocol: 4 })), h.now);
    h.m.set(P('10.244.14.0/24'), ['10.0.0.2'], h.now);
    expect(h.settle()).toEqual([]);
    expect(h.m.entries()[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/^EEXIST/) });
  });
});

describe('FibMirror: failed writes and retries', () => {
  it('retries a refused write with backoff 1 s, 2 s, 4 s … 30 s and reports the recovery', () => {
    const h = new Harness();
    h.m.start(kernelDump(), h.now);
    h.m.set(P('10.244.12.0/24'), ['10.0.0.2'], h.now);
    const refuse = (): number => ENETUNREACH;
    expect(h.settle(refuse)).toHaveLength(1);
    expect(h.status('10.244.12.0/24')).toBe('failed');
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      const e = h.events.filter((x) => x.type === 'route-failed').at(-1)!;
      delays.push((e as { retryInMs: number }).retryInMs);
      expect(h.m.nextDeadline()).toBe(h.now + delays.at(-1)!);
      h.advance(delays.at(-1)! - 1);
      expect(h.take()).toEqual([]); // not yet
      h.advance(1);
      expect(h.settle(refuse)).toEqual([{ type: 'add', prefix: '10.244.12.0/24', gateway: '10.0.0.2' }]);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(h.m.entries()[0]).toMatchObject({ status: 'failed', error: 'ENETUNREACH' });
    h.advance(30_000);
    expect(h.settle()).toHaveLength(1);
    expect(h.status('10.244.12.0/24')).toBe('installed');
    expect(h.events.at(-2)).toEqual({ type: 'route-recovered', prefix: '10.244.12.0/24' });
    // The backoff starts again from 1 s after a success.
    h.m.set(P('10.244.12.0/24'), ['10.0.0.3'], h.now);
    h.settle(refuse);
    expect(h.events.filter((x) => x.type === 'route-failed').at(-1)).toMatchObject({ retryInMs: 1000 });
  });

  it('a batch lost by the socket (ENOBUFS) fails every route in it, and each is retried', () => {
    const h = new Harness();
    h.m.start(kernelDump(), h.now);
    for (let i = 0; i < 3; i++) h.m.set(P(`10.244.${i}.0/24`), ['10.0.0.2'], h.now);
    const [batch] = h.take();
    h.m.answer(batch, undefined, 105, h.now);
    expect(h.m.stats()).toMatchObject({ failed: 3 });
    h.advance(1000);
    expect(h.settle()).toHaveLength(3);
    expect(h.m.stats()).toMatchObject({ installed: 3, failed: 0 });
  });

  it('a prefix withdrawn while its retry waits is not written again', () => {
    const h = new Harness();
    h.m.start(kernelDump(), h.now);
    h.m.set(P('10.244.12.0/24'), ['10.0.0.2'], h.now);
    h.settle(() => ENETUNREACH);
    h.m.set(P('10.244.12.0/24'), null, h.now);
    expect(h.settle()).toEqual([]);
    h.advance(1000);
    expect(h.settle()).toEqual([]);
    expect(h.m.entries()).toEqual([]);
  });
});

describe('FibMirror: resync races', () => {
  /** A mirror holding 10.244.1.0/24 via 10.0.0.2, installed. */
  function installed(): Harness {
    const h = new Harness();
    h.m.start(kernelDump(), h.now);
    h.m.set(P('10.244.1.0/24'), ['10.0.0.2'], h.now);
    h.settle();
    h.actions();
    return h;
  }

  /** Overrun → resync → the dump action; returns the harness with the dump asked for. */
  function askDump(h: Harness): void {
    h.m.kernelEvent({ kind: 'overrun' }, h.now);
    expect(h.m.nextDeadline()).toBe(h.now + RESYNC_DELAY_MS);
    h.advance(RESYNC_DELAY_MS);
    expect(h.actions()).toEqual([{ type: 'dump', nexthops: false }]);
    expect(h.events.at(-1)).toEqual({ type: 'resync', reason: 'monitor socket overrun (ENOBUFS)' });
  }

  const dumpOf = (...routes: RouteMsg[]): RouteDump => ({
    routes: routeDump(...routes),
    nexthops: undefined,
  });

  it('reinstalls a route of ours that a dump no longer shows', () => {
    const h = installed();
    askDump(h);
    h.m.dumpDone(dumpOf(), h.now);
    expect(h.settle()).toEqual([{ type: 'add', prefix: '10.244.1.0/24', gateway: '10.0.0.2' }]);
  });

  it('believes an answer newer than the dump: a change written meanwhile is not undone', () => {
    const h = installed();
    askDump(h);
    // While the dump is read, the route moves to 10.0.0.3 and the kernel answers that write.
    h.m.set(P('10.244.1.0/24'), ['10.0.0.3'], h.now);
    h.settle();
    // The dump (older than that answer) still shows 10.0.0.2.
    h.m.dumpDone(dumpOf(route('10.244.1.0/24', '10.0.0.2')), h.now);
    expect(h.settle()).toEqual([]);
    expect(h.m.entries()[0].kernel?.nexthops).toEqual(['10.0.0.3%eth0']);
  });

  it('a dump that disagrees with a prefix whose write is in flight re-checks it after the answer', () => {
    const h = installed();
    askDump(h);
    h.m.set(P('10.244.1.0/24'), ['10.0.0.3'], h.now);
    const inFlight = h.take();
    // The dump shows the route gone (someone deleted it) while our write is out …
    h.m.dumpDone(dumpOf(), h.now);
    expect(h.take()).toEqual([]);
    // … and our write's answer is the truth afterwards: installed via 10.0.0.3, nothing more to write.
    h.answer(inFlight);
    expect(h.settle()).toEqual([]);
    expect(h.status('10.244.1.0/24')).toBe('installed');
  });

  it('a dump read while our deletion is in flight does not cause a second deletion', () => {
    const h = installed();
    askDump(h);
    h.m.set(P('10.244.1.0/24'), null, h.now);
    const inFlight = h.take();
    expect(inFlight.flatMap(h.writes)).toEqual([{ type: 'del', prefix: '10.244.1.0/24' }]);
    // The dump still shows the route, with other content (it was changed by hand before we deleted it).
    h.m.dumpDone(dumpOf(route('10.244.1.0/24', '10.0.0.9')), h.now);
    h.answer(inFlight);
    expect(h.settle()).toEqual([]);
    expect(h.m.entries()).toEqual([]);
  });

  it('a route we deleted after the dump began is not brought back by it', () => {
    const h = installed();
    askDump(h);
    h.m.set(P('10.244.1.0/24'), null, h.now);
    expect(h.settle()).toEqual([{ type: 'del', prefix: '10.244.1.0/24' }]);
    h.m.dumpDone(dumpOf(route('10.244.1.0/24', '10.0.0.2')), h.now);
    expect(h.settle()).toEqual([]);
    expect(h.m.entries()).toEqual([]);
  });

  it('puts back our route when someone deletes it, after the in-flight write if there is one', () => {
    const h = installed();
    h.m.kernelEvent({ kind: 'route', deleted: true, route: route('10.244.1.0/24', '10.0.0.2') }, h.now);
    expect(h.events.at(-1)).toEqual({ type: 'route-reasserted', prefix: '10.244.1.0/24' });
    expect(h.settle()).toEqual([{ type: 'add', prefix: '10.244.1.0/24', gateway: '10.0.0.2' }]);
    // The deletion arrives while a replace is in flight: redo once it is answered.
    h.m.set(P('10.244.1.0/24'), ['10.0.0.3'], h.now);
    const inFlight = h.take();
    h.m.kernelEvent({ kind: 'route', deleted: true, route: route('10.244.1.0/24', '10.0.0.3') }, h.now);
    h.answer(inFlight);
    expect(h.status('10.244.1.0/24')).toBe('installed');
  });

  it('one dump at a time: an overrun during a dump asks for another after it', () => {
    const h = installed();
    askDump(h);
    h.m.kernelEvent({ kind: 'overrun' }, h.now);
    expect(h.m.nextDeadline()).toBeUndefined();
    expect(h.m.idle).toBe(false);
    h.m.dumpDone(dumpOf(route('10.244.1.0/24', '10.0.0.2')), h.now);
    expect(h.m.nextDeadline()).toBe(h.now + RESYNC_DELAY_MS);
    h.advance(RESYNC_DELAY_MS);
    expect(h.actions()).toEqual([{ type: 'dump', nexthops: false }]);
    // A failed dump is tried again.
    h.m.dumpFailed('netlink dump: EBADF', h.now);
    expect(h.events.at(-1)).toEqual({ type: 'resync', reason: 'failed: netlink dump: EBADF' });
    h.advance(RESYNC_DELAY_MS);
    expect(h.actions()).toEqual([{ type: 'dump', nexthops: false }]);
    h.m.dumpDone(dumpOf(route('10.244.1.0/24', '10.0.0.2')), h.now);
    expect(h.m.idle).toBe(true);
    expect(h.settle()).toEqual([]);
  });

  it('reads a big dump in pieces, believing answers that come between them', () => {
    const h = new Harness({ scanChunk: 1 });
    h.m.start(kernelDump(), h.now);
    for (const p of ['10.244.1.0/24', '10.244.2.0/24']) h.m.set(P(p), ['10.0.0.2'], h.now);
    h.settle();
    h.actions();
    askDump(h);
    // The kernel shows 10.244.1.0/24 as we left it and 10.244.2.0/24 changed by hand; 10.244.3.0/24 is new.
    h.m.dumpDone(dumpOf(route('10.244.1.0/24', '10.0.0.2'), route('10.244.2.0/24', '10.0.0.9')), h.now);
    expect(h.m.hasScan).toBe(true);
    expect(h.settle()).toEqual([]);
    expect(h.m.idle).toBe(false);
    // Between the pieces a new route is written and answered: newer than the dump, it is not undone.
    h.m.set(P('10.244.3.0/24'), ['10.0.0.3'], h.now);
    expect(h.settle()).toEqual([{ type: 'add', prefix: '10.244.3.0/24', gateway: '10.0.0.3' }]);
    h.m.scanDump(h.now);
    expect(h.m.hasScan).toBe(false);
    expect(h.settle()).toEqual([{ type: 'add', prefix: '10.244.2.0/24', gateway: '10.0.0.2' }]);
    expect(h.m.idle).toBe(true);
    expect(h.m.stats()).toMatchObject({ wanted: 3, installed: 3 });
  });

  it('a deletion answered ESRCH (already gone) counts as done', () => {
    const h = installed();
    h.m.set(P('10.244.1.0/24'), null, h.now);
    h.settle(() => ESRCH);
    expect(h.m.entries()).toEqual([]);
    expect(h.events.some((e) => e.type === 'route-failed')).toBe(false);
  });
});

describe('FibMirror: bursts, notifications and passes', () => {
  it('pauses route notifications during a burst and catches up with one dump after it settles', () => {
    const h = new Harness({ monitorCapacity: 400 }); // burst: 200 writes
    h.m.start(kernelDump(), h.now);
    h.actions();
    for (let i = 0; i < 300; i++) h.m.set(P(`11.0.${i >> 8}.${i & 255}/32`), ['10.0.0.2'], h.now);
    while (h.m.hasDirty) h.m.reconcile(h.now);
    expect(h.actions()).toEqual([{ type: 'route-events', on: false }]);
    h.settle();
    expect(h.m.nextDeadline()).toBe(h.now + SETTLE_MS);
    h.advance(SETTLE_MS - 1);
    expect(h.actions()).toEqual([]);
    h.advance(1);
    expect(h.actions()).toEqual([
      { type: 'route-events', on: true },
      { type: 'dump', nexthops: false },
    ]);
    expect(h.events.at(-1)).toMatchObject({ type: 'resync', reason: expect.stringMatching(/paused/) });
  });

  it('reports a reconcile pass from the first change to the last answer, with its writes', () => {
    const h = new Harness();
    h.m.start(kernelDump(), h.now);
    h.settle();
    h.events.length = 0;
    const t0 = h.now;
    h.m.set(P('10.244.1.0/24'), ['10.0.0.2'], h.now);
    h.m.set(P('10.244.2.0/24'), ['10.0.0.2'], h.now);
    const b = h.take();
    h.now = t0 + 250;
    h.answer(b, (w) => (w.prefix === '10.244.2.0/24' ? ENETUNREACH : 0));
    expect(h.events.filter((e) => e.type === 'reconciled')).toEqual([
      { type: 'reconciled', seconds: 0.25, writes: 2, failed: 1 },
    ]);
  });

  it('with nexthop objects, creates the object before the first route naming it, in the same order', () => {
    const h = new Harness();
    h.m.start({ ...kernelDump(), nexthops: [] }, h.now);
    h.m.set(P('10.244.1.0/24'), ['10.0.0.2'], h.now);
    h.m.set(P('10.244.2.0/24'), ['10.0.0.2'], h.now);
    expect(h.settle()).toEqual([
      { type: 'nh-add', gateway: '10.0.0.2' },
      { type: 'add', prefix: '10.244.1.0/24', gateway: '10.0.0.2' },
      { type: 'add', prefix: '10.244.2.0/24', gateway: '10.0.0.2' },
    ]);
    expect(h.m.nexthopObjects()).toMatchObject([{ state: 'present' }]);
  });

  it('installs an IPv4 prefix through an IPv6 next hop (RFC 8950) with an IPv6 nexthop object; never IPv6 via IPv4', () => {
    const h = new Harness();
    const dump = kernelDump();
    dump.addrs.push({
      family: 10,
      prefixLen: 64,
      scope: 0,
      index: 2,
      address: Buffer.from('fd000079000100000000000000000002', 'hex'),
    });
    h.m.start({ ...dump, nexthops: [] }, h.now);
    h.m.set(P('10.244.1.0/24'), ['fd00:79:1::1'], h.now);
    h.m.set(P('fd00:244:1::/64'), ['10.0.0.2'], h.now);
    const b = h.take();
    const shapes = b.flatMap((ops) => [...ops.slots].map((_, i) => ops.shapes[i]));
    expect(shapes.map((s) => [s.family, s.nhid > 0, s.nexthops[0]?.gateway?.toString('hex')])).toEqual([
      [2, true, 'fd000079000100000000000000000001'], // the object (written from the route's shape)
      [2, true, 'fd000079000100000000000000000001'],
    ]);
    h.answer(b);
    expect(h.m.nexthopObjects()).toMatchObject([{ family: 10, oif: 2, state: 'present' }]);
    expect(h.status('10.244.1.0/24')).toBe('installed');
    expect(h.m.entries().find((e) => e.prefix === 'fd00:244:1::/64')).toMatchObject({
      status: 'unresolvable',
      error: expect.stringMatching(/IPv6 prefix needs an IPv6 next hop/),
    });
  });

  it('uses a link-local alternative on the interface holding the zone address while the global is unusable', () => {
    const h = new Harness();
    h.m.start({ ...kernelDump(), nexthops: [] }, h.now);
    // eth0 holds 10.0.0.1 (the session's local address); nothing of ours covers fd00:82::1.
    h.m.set(P('fd00:244:1::/64'), ['fd00:82::1|fe80::2%10.0.0.1'], h.now);
    h.m.set(P('10.244.1.0/24'), ['fd00:82::1|fe80::2%10.0.0.1'], h.now);
    h.m.set(P('10.244.2.0/24'), ['fd00:82::1|fe80::2%10.9.9.9'], h.now);
    const b = h.take();
    const hops = b.flatMap((ops) =>
      [...ops.slots].map((slot, i) => [
        slot < 0 ? 'object' : formatPrefix(h.m.keyOf(slot)),
        ops.shapes[i].nexthops.map((n) => `${n.gateway?.toString('hex')}@${n.oif}`),
      ]),
    );
    expect(hops).toEqual([
      ['object', ['fe800000000000000000000000000002@2']],
      ['fd00:244:1::/64', ['fe800000000000000000000000000002@2']],
      ['10.244.1.0/24', ['fe800000000000000000000000000002@2']], // RFC 8950 with a link-local next hop
    ]);
    h.answer(b);
    expect(h.status('10.244.1.0/24')).toBe('installed');
    // No interface holds 10.9.9.9: neither alternative works, and both say why.
    expect(h.m.entries().find((e) => e.prefix === '10.244.2.0/24')).toMatchObject({
      status: 'unresolvable',
      error: expect.stringMatching(/fd00:82::1 is not reachable.*; no interface 10\.9\.9\.9/),
    });
  });

  it('makes an unresolvable next hop a status with its reason, and resolves it when the address comes', () => {
    const h = new Harness();
    h.m.start(kernelDump(), h.now);
    h.m.set(P('10.244.1.0/24'), ['10.1.0.2'], h.now);
    expect(h.settle()).toEqual([]);
    expect(h.m.entries()[0]).toMatchObject({
      status: 'unresolvable',
      error: expect.stringMatching(/10\.1\.0\.2/),
    });
    h.m.kernelEvent(
      {
        kind: 'addr',
        deleted: false,
        addr: {
          family: 2,
          prefixLen: 24,
          scope: 0,
          index: 2,
          address: ip4('10.1.0.1'),
          local: ip4('10.1.0.1'),
        },
      },
      h.now,
    );
    h.advance(RESYNC_DELAY_MS);
    expect(h.actions()).toEqual([{ type: 'dump', nexthops: false }]);
    // An address without a prefix route (noprefixroute): the dump's routes are the same as before.
    h.m.dumpDone({ routes: [], nexthops: undefined }, h.now);
    expect(h.settle()).toEqual([{ type: 'add', prefix: '10.244.1.0/24', gateway: '10.1.0.2' }]);
  });
});
