/**
 * The FIB's shell (fib.ts) against a fake backend on a virtual clock: what it sends, when its one timer
 * fires, how it turns socket failures into retries and resyncs, and what close() leaves in the kernel.
 */
import { describe, it, expect } from 'vitest';
import { Fib, type Clock } from '../../../routing/fib.js';
import { FIRST_CHUNK } from '../../../routing/mirror.js';
import type { Backend, Batch, KernelDump, MonitorEvent, RouteDump } from '../../../routing/backend.js';
import type { FibEvent } from '../../../routing/api.js';
import { forEachMessage } from '../../../routing/netlink/codec.js';
import { IFF_LOWER_UP, IFF_UP, NLM_F_ACK, RTM } from '../../../routing/netlink/constants.js';
import { parsePrefix, type PrefixKey } from '../../../ip/prefix.js';

const P = (text: string): PrefixKey => {
  const p = parsePrefix(text);
  if (p instanceof Error) throw p;
  return p;
};
const ip4 = (s: string): Buffer => Buffer.from(s.split('.').map(Number));

class VirtualClock implements Clock {
  t = 5_000_000;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  /** Armed timers (the shell keeps at most one). */
  get armed(): number[] {
    return this.timers.map((x) => x.at - this.t);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}

/** A kernel in memory: eth0 up with 10.0.0.1/24; answers batches as `policy` says. */
class FakeBackend implements Backend {
  readonly nexthopResolution = 'kernel';
  readonly maxUnanswered = 1 << 16;
  readonly maxBatchMessages = 1 << 16;
  readonly monitorCapacity = 1 << 16;
  batches: { types: number[]; acked: boolean }[] = [];
  /** Called as each batch is handed over (before it is answered). */
  onSend: (() => void) | undefined;
  /** What the next batch's answer is: 'ok', or lost with this errno. */
  policy: 'ok' | number = 'ok';
  dumps = 0;
  failDumps = 0;
  closed = false;
  onEvent: ((e: MonitorEvent) => void) | undefined;

  async dump(): Promise<KernelDump> {
    return {
      links: [{ index: 2, flags: IFF_UP | IFF_LOWER_UP, name: 'eth0', operstate: 'up' }],
      addrs: [
        { family: 2, prefixLen: 24, scope: 0, index: 2, address: ip4('10.0.0.1'), local: ip4('10.0.0.1') },
      ],
      routes: [],
      nexthops: [],
    };
  }
  async dumpRoutes(): Promise<RouteDump> {
    this.dumps++;
    if (this.failDumps > 0) {
      this.failDumps--;
      throw new Error('netlink dump: EBADF');
    }
    return { routes: [], nexthops: [] };
  }
  async subscribe(onEvent: (e: MonitorEvent) => void): Promise<void> {
    this.onEvent = onEvent;
  }
  batchBuffer(bytes: number): Buffer {
    return Buffer.alloc(bytes);
  }
  send(batch: Batch): void {
    const types: number[] = [];
    let acked = false;
    forEachMessage([batch.buf], (type, buf, off) => {
      types.push(type);
      acked = (buf.readUInt16LE(off + 6) & NLM_F_ACK) !== 0;
    });
    this.batches.push({ types, acked });
    this.onSend?.();
    const policy = this.policy;
    queueMicrotask(() => batch.done(undefined, policy === 'ok' ? 0 : policy));
  }
  routeEvents(): void {}
  close(): void {
    this.closed = true;
  }
}

async function started(opts: { staleGraceMs?: number } = {}) {
  const clock = new VirtualClock();
  const backend = new FakeBackend();
  const events: FibEvent[] = [];
  const fib = new Fib({ backend, clock, onEvent: (e) => events.push(e), ...opts });
  await fib.start();
  await fib.flushed();
  return { fib, clock, backend, events };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Fib shell', () => {
  it('sends one batch with one ack for many routes, the nexthop object first', async () => {
    const { fib, backend } = await started();
    fib.setMany(
      [P('10.244.1.0/24'), P('10.244.2.0/24'), P('10.244.3.0/24')],
      [['10.0.0.2'], ['10.0.0.2'], ['10.0.0.2']],
    );
    await fib.flushed();
    expect(backend.batches).toEqual([
      { types: [RTM.RTM_NEWNEXTHOP, RTM.RTM_NEWROUTE, RTM.RTM_NEWROUTE, RTM.RTM_NEWROUTE], acked: true },
    ]);
    expect(fib.stats()).toMatchObject({ installed: 3 });
  });

  it('sends the first routes of a big change before it takes in the rest of the change', async () => {
    const { fib, backend } = await started();
    const via = ['10.0.0.2'];
    const prefixes = Array.from({ length: 1000 }, (_, i) => P(`11.0.${i >> 8}.${i & 255}/32`));
    let wantedAtFirstSend: number | undefined;
    backend.onSend = () => (wantedAtFirstSend ??= fib.stats().wanted);
    fib.setMany(
      prefixes,
      prefixes.map(() => via),
    );
    // Sent inside the call, when only the first chunk of the change had been taken in.
    expect(backend.batches).toHaveLength(1);
    expect(backend.batches[0]!.types.filter((t) => t === RTM.RTM_NEWROUTE)).toHaveLength(FIRST_CHUNK);
    expect(wantedAtFirstSend).toBe(FIRST_CHUNK);
    await fib.flushed();
    expect(fib.stats()).toMatchObject({ wanted: 1000, installed: 1000 });
  });

  it('turns a batch lost by the socket into failed routes retried by its one timer', async () => {
    const { fib, clock, backend, events } = await started();
    backend.policy = 105; // ENOBUFS
    fib.set(P('10.244.1.0/24'), ['10.0.0.2']);
    await fib.flushed();
    expect(fib.stats()).toMatchObject({ failed: 1 });
    expect(events.find((e) => e.type === 'route-failed')).toMatchObject({
      error: expect.stringMatching(/^ENOBUFS/),
      retryInMs: 1000,
    });
    expect(clock.armed).toEqual([1000]);
    backend.policy = 'ok';
    clock.advance(1000);
    await fib.flushed();
    expect(fib.stats()).toMatchObject({ installed: 1, failed: 0 });
    expect(clock.armed).toEqual([]);
  });

  it('redoes a resync whose dump failed, and reports both', async () => {
    const { fib, clock, backend, events } = await started();
    backend.failDumps = 1;
    backend.onEvent!({ kind: 'overrun' });
    expect(clock.armed).toEqual([50]);
    clock.advance(50);
    await tick();
    expect(backend.dumps).toBe(1);
    expect(clock.armed).toEqual([50]);
    clock.advance(50);
    await tick();
    await fib.flushed();
    expect(backend.dumps).toBe(2);
    expect(events.filter((e) => e.type === 'resync').map((e) => (e as { reason: string }).reason)).toEqual([
      'monitor socket overrun (ENOBUFS)',
      'failed: netlink dump: EBADF',
      'the last dump failed (netlink dump: EBADF)',
    ]);
  });

  it('close({ removeRoutes: false }) writes nothing: the routes and nexthop objects stay', async () => {
    const { fib, backend } = await started();
    fib.set(P('10.244.1.0/24'), ['10.0.0.2']);
    await fib.flushed();
    const sent = backend.batches.length;
    await fib.close({ removeRoutes: false });
    expect(backend.batches.length).toBe(sent);
    expect(backend.closed).toBe(true);
  });

  it('close({ removeRoutes: true }) deletes our routes, then our nexthop objects', async () => {
    const { fib, backend } = await started();
    fib.set(P('10.244.1.0/24'), ['10.0.0.2']);
    await fib.flushed();
    backend.batches = [];
    await fib.close({ removeRoutes: true });
    expect(backend.batches.map((b) => b.types)).toEqual([[RTM.RTM_DELROUTE], [RTM.RTM_DELNEXTHOP]]);
  });

  it('arms the stale release deadline as its timer, and releases on it', async () => {
    const { fib, clock, events } = await started({ staleGraceMs: 120_000 });
    expect(clock.armed).toEqual([120_000]);
    clock.advance(120_000);
    await fib.flushed();
    expect(events).toContainEqual({ type: 'stale-released', count: 0, why: 'grace time over' });
    expect(clock.armed).toEqual([]);
  });
});
