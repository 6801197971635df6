/**
 * The netlink transport against the real kernel, in throwaway namespaces: what killed the process with the
 * `netlink` addon (exit 134 on a monitor socket overrun, a FATAL ERROR when a socket failed under it) must
 * now be survived, reported and caught up with a dump. Another program here is `ip -batch` adding 50,000
 * routes to table 100 while the Fib is subscribed and its main thread is busy, as BGP work keeps it.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, deleteNamespaces, until, type Netns } from '../../../toolkit/index.js';
import { key4 } from '../../support/prefix.js';
import { FibDriver, RouteJson, buildDistIfStale } from './fib-driver.js';

let cleanup: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

const lab = new Lab();
beforeAll(() => buildDistIfStale(), 120_000);
afterAll(() => lab.teardown());

const ours = (ns: Netns): string[] =>
  ns
    .ipJson<RouteJson>('route', 'show', 'proto', '202')
    .map((r) => r.dst)
    .sort();
const OURS = ['10.244.20.0/24', '10.244.21.0/24', '10.244.22.0/24'];

async function setup(opts: Record<string, unknown>): Promise<{ ns: Netns; fib: FibDriver }> {
  const ns = lab.namespace('tr');
  cleanup.push(() => lab.remove(ns));
  ns.veth('v0', 'v1', '10.0.0.1/24');
  const fib = new FibDriver(ns, opts);
  cleanup.push(() => fib.kill());
  await fib.call('start');
  for (const p of OURS) await fib.call('set', key4(p), ['10.0.0.2']);
  await fib.call('flushed');
  expect(ours(ns)).toEqual(OURS);
  return { ns, fib };
}

/**
 * 50,000 routes into table 100 by `ip -batch` while the Fib's main thread is blocked for `busyMs`; halfway
 * through, one of our routes is deleted by the same batch — its notification may be among those lost, so
 * only a resync brings it back.
 */
async function burst(ns: Netns, fib: FibDriver, base: number, busyMs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nbr-burst-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  for (let i = 0; i < 50_000; i++) {
    if (i === 25_000) lines.push('route del 10.244.21.0/24 proto 202');
    lines.push(`route add ${base + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24 via 10.0.0.3 table 100`);
  }
  writeFileSync(join(dir, 'routes.batch'), lines.join('\n') + '\n');
  const busy = fib.call('busy', busyMs);
  const code = await new Promise<number | null>((resolve) =>
    spawn('ip', ['-n', ns.name, '-batch', join(dir, 'routes.batch')]).on('exit', resolve),
  );
  expect(code).toBe(0);
  await busy;
}

/** After the burst: alive, our three routes back in the kernel, and still listening. */
async function stillRight(ns: Netns, fib: FibDriver): Promise<void> {
  await until(
    async () => {
      const r = await ours(ns);
      return r.length === OURS.length ? r : undefined;
    },
    { what: 'our routes back after the burst', timeout: 20_000 },
  );
  expect(ours(ns)).toEqual(OURS);
  ns.ipSync('route', 'del', '10.244.22.0/24', 'proto', '202');
  await until(
    async () => {
      const r = await ours(ns);
      return r.includes('10.244.22.0/24') ? r : undefined;
    },
    { what: 're-asserted after the burst', timeout: 10_000 },
  );
  expect(await fib.call('stats')).toMatchObject({ wanted: 3, installed: 3, failed: 0 });
}

const overruns = (fib: FibDriver): number =>
  fib.events.filter((e) => e.type === 'resync' && e.reason === 'monitor socket overrun (ENOBUFS)').length;

describe('netlink transport on the kernel', () => {
  it('survives monitor socket overruns from 50,000 routes of another program, reports them and re-syncs', async () => {
    // An 8 KiB receive buffer (SO_RCVBUF 4096, doubled): a few notifications overflow it.
    const { ns, fib } = await setup({ netlink: { recvBufferBytes: 4096 } });
    await burst(ns, fib, 100, 1000);
    await burst(ns, fib, 110, 0);
    await stillRight(ns, fib);
    expect(overruns(fib)).toBeGreaterThan(0);
    expect(ns.ipSync('route', 'show', 'table', '100').trim().split('\n')).toHaveLength(100_000);
    expect(fib.events.filter((e) => e.type === 'fault')).toEqual([]);
  });

  it('survives the same bursts with the stock 208 KiB receive buffer', async () => {
    // SO_RCVBUF 212992: what every socket gets where net.core.rmem_max is the stock 208 KiB.
    const { ns, fib } = await setup({ netlink: { recvBufferBytes: 212992 } });
    for (let i = 0; i < 2; i++) await burst(ns, fib, 100 + 10 * i, i === 0 ? 1000 : 0);
    await stillRight(ns, fib);
    console.log(`stock 208 KiB buffer: ${overruns(fib)} overruns reported over 2 bursts of 50,000 routes`);
    expect(fib.events.filter((e) => e.type === 'fault')).toEqual([]);
  });

  it('survives its netlink sockets being closed under it: reports, reopens, catches up', async () => {
    const { ns, fib } = await setup({});
    expect(await fib.call<number>('closeNetlinkSockets')).toBeGreaterThanOrEqual(2);
    // Meanwhile one of ours is deleted: the new monitor socket cannot have seen it, the catch-up dump does.
    ns.ipSync('route', 'del', '10.244.20.0/24', 'proto', '202');
    await until(
      async () => {
        const f = await fib.events.filter((e) => e.type === 'fault');
        return f.length > 0 ? f : undefined;
      },
      { what: 'a fault reported for the closed socket', timeout: 30_000 },
    );
    await until(
      async () => {
        const r = await ours(ns);
        return r.length === OURS.length ? r : undefined;
      },
      { what: 'caught up by a dump', timeout: 30_000 },
    );
    // And writes go through the writer's new socket.
    await fib.call('set', key4('10.244.23.0/24'), ['10.0.0.2']);
    await fib.call('flushed');
    await until(
      async () => {
        const n = await (await fib.call<{ installed: number }>('stats')).installed;
        return n === 4 ? n : undefined;
      },
      { what: 'a new route through the new writer socket', timeout: 30_000 },
    );
    expect(ours(ns)).toEqual([...OURS, '10.244.23.0/24']);
  });

  it('survives its namespace being deleted and closes cleanly afterwards', async () => {
    const { ns, fib } = await setup({});
    // `ip netns del` removes the name; the namespace lives on while the Fib's process is in it.
    deleteNamespaces([ns.name]);
    await fib.call('set', key4('10.244.24.0/24'), ['10.0.0.2']);
    await fib.call('flushed');
    expect(await fib.call('stats')).toMatchObject({ wanted: 4, installed: 4 });
    await fib.call('close', { removeRoutes: true });
    expect(await fib.exited()).toBe(0);
  });
});
