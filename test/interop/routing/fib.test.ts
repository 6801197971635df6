/**
 * The Fib against the real kernel, each test in its own throwaway namespace (the toolkit's Lab). What is
 * asserted is what a user would see: routes in `ip route`, statuses in `fib.entries()`, events.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, until, type Netns } from '../../../toolkit/index.js';
import { key4 } from '../../support/prefix.js';
import { FibDriver, RouteJson, buildDistIfStale } from './fib-driver.js';

interface EntryView {
  prefix: string;
  status: string;
  error?: string;
  nexthops: string[];
  kernel: { nexthops: string[] } | null;
  stale?: boolean;
}

const lab = new Lab();
let cleanup: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

beforeAll(() => buildDistIfStale(), 120_000);
afterAll(() => lab.teardown());

function setup(...addrs: string[]): Netns {
  const ns = lab.namespace('fib');
  cleanup.push(() => lab.remove(ns));
  ns.veth('v0', 'v1', ...(addrs.length ? addrs : ['10.0.0.1/24']));
  return ns;
}

async function fibIn(ns: Netns, opts: Record<string, unknown> = {}): Promise<FibDriver> {
  const fib = new FibDriver(ns, opts);
  cleanup.push(() => fib.kill());
  await fib.call('start');
  return fib;
}

const ours = (ns: Netns, ...args: string[]): RouteJson[] =>
  ns.ipJson<RouteJson>('route', 'show', 'proto', '202', ...args);
const entry = async (fib: FibDriver, prefix: string): Promise<EntryView | undefined> =>
  (await fib.call<EntryView[]>('entries')).find((e) => e.prefix === prefix);

describe('Fib on the kernel', () => {
  it('installs, replaces and deletes a route, tagged proto 202 metric 20', async () => {
    const ns = setup('10.0.0.1/24');
    const fib = await fibIn(ns);
    await fib.call('set', key4('10.244.2.0/24'), ['10.0.0.2']);
    await fib.call('flushed');
    expect(ours(ns)).toMatchObject([{ dst: '10.244.2.0/24', gateway: '10.0.0.2', dev: 'v0', metric: 20 }]);
    expect(await entry(fib, '10.244.2.0/24')).toMatchObject({
      status: 'installed',
      kernel: { nexthops: ['10.0.0.2%v0'] },
    });
    await fib.call('set', key4('10.244.2.0/24'), ['10.0.0.3']);
    await fib.call('flushed');
    expect(ours(ns)).toMatchObject([{ dst: '10.244.2.0/24', gateway: '10.0.0.3' }]);
    await fib.call('set', key4('10.244.2.0/24'), null);
    await fib.call('flushed');
    expect(ours(ns)).toEqual([]);
    expect(await fib.call('entries')).toEqual([]);
  });

  it('installs 100,000 routes and removes them on close', async () => {
    const ns = setup('10.0.0.1/24');
    const fib = await fibIn(ns);
    const t0 = Date.now();
    await fib.call('setRange', key4('11.0.0.0/24'), 100_000, 256, ['10.0.0.2']);
    await fib.call('flushed');
    const ms = Date.now() - t0;
    expect(ns.ipSync('route', 'show', 'proto', '202').trim().split('\n')).toHaveLength(100_000);
    expect(await fib.call('stats')).toMatchObject({
      wanted: 100_000,
      installed: 100_000,
      pending: 0,
      failed: 0,
    });
    console.log(`100,000 routes installed in ${ms} ms`);
    await fib.call('close', { removeRoutes: true });
    expect(ns.ipSync('route', 'show', 'proto', '202')).toBe('');
  });

  it('installs ECMP as one multipath route and replaces the set atomically', async () => {
    const ns = setup('10.0.0.1/24');
    const fib = await fibIn(ns);
    await fib.call('set', key4('10.244.3.0/24'), ['10.0.0.2', '10.0.0.3']);
    await fib.call('flushed');
    const [r] = ours(ns);
    expect(r.nexthops?.map((n) => n.gateway).sort()).toEqual(['10.0.0.2', '10.0.0.3']);
    await fib.call('set', key4('10.244.3.0/24'), ['10.0.0.4', '10.0.0.2', '10.0.0.3']);
    await fib.call('flushed');
    const routes = ours(ns);
    expect(routes).toHaveLength(1);
    expect(routes[0].nexthops?.map((n) => n.gateway).sort()).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.4']);
  });

  it('puts back a route that someone deletes with `ip route del`', async () => {
    const ns = setup('10.0.0.1/24');
    const fib = await fibIn(ns);
    await fib.call('set', key4('10.244.4.0/24'), ['10.0.0.2']);
    await fib.call('flushed');
    ns.ipSync('route', 'del', '10.244.4.0/24');
    await until(() => ours(ns).length === 1, { what: 'route re-asserted', timeout: 10_000 });
    await until(() => fib.events.some((e) => e.type === 'route-reasserted' && e.prefix === '10.244.4.0/24'), {
      what: 'event',
      timeout: 10_000,
    });
  });

  it('after SIGKILL, adopts wanted identical routes without rewriting them and releases stale ones', async () => {
    const ns = setup('10.0.0.1/24');
    const first = await fibIn(ns);
    for (const p of ['10.244.5.0/24', '10.244.6.0/24', '10.244.7.0/24'])
      await first.call('set', key4(p), ['10.0.0.2']);
    await first.call('flushed');
    await first.kill('SIGKILL');
    expect(ours(ns)).toHaveLength(3);
    // Watch the kernel: a rewrite of the adopted route would show up here.
    const mon = spawn('ip', ['-n', ns.name, 'monitor', 'route']);
    let seen = '';
    mon.stdout.on('data', (d: Buffer) => {
      seen += d.toString();
    });
    cleanup.push(() => {
      mon.kill();
    });
    await new Promise((r) => setTimeout(r, 200));
    const second = new FibDriver(ns);
    cleanup.push(() => second.kill());
    await second.call('set', key4('10.244.5.0/24'), ['10.0.0.2']);
    await second.call('set', key4('10.244.8.0/24'), ['10.0.0.2']);
    await second.call('start');
    await second.call('flushed');
    expect(second.events.find((e) => e.type === 'started')).toMatchObject({ adopted: 1, stale: 2 });
    expect(
      ours(ns)
        .map((r) => r.dst)
        .sort(),
    ).toEqual(['10.244.5.0/24', '10.244.6.0/24', '10.244.7.0/24', '10.244.8.0/24']);
    await second.call('releaseStale');
    await second.call('flushed');
    expect(
      ours(ns)
        .map((r) => r.dst)
        .sort(),
    ).toEqual(['10.244.5.0/24', '10.244.8.0/24']);
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toContain('10.244.8.0/24');
    expect(seen).toContain('Deleted 10.244.6.0/24');
    expect(seen).not.toContain('10.244.5.0/24');
  });

  it('withdraws routes whose next-hop interface goes down and reinstalls them when it comes back', async () => {
    const ns = setup('10.0.0.1/24');
    const fib = await fibIn(ns);
    await fib.call('set', key4('10.244.9.0/24'), ['10.0.0.2']);
    await fib.call('flushed');
    ns.ipSync('link', 'set', 'v0', 'down');
    await until(async () => (await entry(fib, '10.244.9.0/24'))?.status === 'unresolvable', {
      what: 'unresolvable',
      timeout: 10_000,
    });
    expect(ours(ns)).toEqual([]);
    ns.ipSync('link', 'set', 'v0', 'up');
    await until(async () => (await entry(fib, '10.244.9.0/24'))?.status === 'installed', {
      what: 'reinstalled',
      timeout: 10_000,
    });
    expect(ours(ns)).toMatchObject([{ dst: '10.244.9.0/24', gateway: '10.0.0.2' }]);
  });

  it('reports an unreachable next hop and installs nothing', async () => {
    const ns = setup('10.0.0.1/24');
    const fib = await fibIn(ns);
    await fib.call('set', key4('10.244.10.0/24'), ['10.9.9.9']);
    await fib.call('flushed');
    expect(await entry(fib, '10.244.10.0/24')).toMatchObject({ status: 'unresolvable', kernel: null });
    expect((await entry(fib, '10.244.10.0/24'))?.error).toMatch(/10\.9\.9\.9.*not reachable/);
    expect(ours(ns)).toEqual([]);
  });

  it('resolves a next hop recursively through another route to its connected gateway', async () => {
    const ns = setup('10.0.0.1/24');
    ns.ipSync('route', 'add', '10.50.0.0/16', 'via', '10.0.0.3', 'proto', 'static');
    const fib = await fibIn(ns);
    await fib.call('set', key4('10.244.11.0/24'), ['10.50.1.1']);
    await fib.call('flushed');
    expect(ours(ns)).toMatchObject([{ dst: '10.244.11.0/24', gateway: '10.0.0.3', dev: 'v0' }]);
    // The covering route moves: the next hop follows.
    ns.ipSync('route', 'replace', '10.50.0.0/16', 'via', '10.0.0.4', 'proto', 'static');
    await until(() => ours(ns)[0]?.gateway === '10.0.0.4', { what: 're-resolved', timeout: 10_000 });
    expect(ns.ipJson<RouteJson>('route', 'show', 'proto', 'static')).toMatchObject([
      { dst: '10.50.0.0/16', gateway: '10.0.0.4' },
    ]);
  });

  it('installs IPv6 routes via global and link-local next hops', async () => {
    const ns = setup('fd00::1/64');
    const fib = await fibIn(ns);
    await fib.call('set', 'fd00:244:1::/64', ['fd00::2']);
    await fib.call('set', 'fd00:244:2::/64', ['fe80::2%v0']);
    await fib.call('set', 'fd00:244:3::/64', ['fe80::2']);
    await fib.call('flushed');
    const routes = ns.ipJson<RouteJson>('-6', 'route', 'show', 'proto', '202');
    expect(routes).toMatchObject([
      { dst: 'fd00:244:1::/64', gateway: 'fd00::2', dev: 'v0', metric: 20 },
      { dst: 'fd00:244:2::/64', gateway: 'fe80::2', dev: 'v0', metric: 20 },
    ]);
    expect(await entry(fib, 'fd00:244:3::/64')).toMatchObject({ status: 'unresolvable' });
  });

  it('installs IPv4 routes through IPv6 next hops (RFC 8950): an IPv6 nexthop object, RTA_VIA in ECMP', async () => {
    const ns = setup('10.0.0.1/24', 'fd00::1/64');
    const first = await fibIn(ns);
    await first.call('set', key4('10.244.1.0/24'), ['fd00::2']);
    await first.call('set', key4('10.244.2.0/24'), ['fd00::2', 'fd00::3']);
    await first.call('set', key4('10.244.3.0/24'), ['10.0.0.2', 'fd00::3']);
    await first.call('flushed');
    expect(ours(ns)).toMatchObject([
      { dst: '10.244.1.0/24', via: { family: 'inet6', host: 'fd00::2' }, dev: 'v0', metric: 20 },
      { dst: '10.244.2.0/24', metric: 20 },
      { dst: '10.244.3.0/24', metric: 20 },
    ]);
    const [, two, three] = ours(ns);
    const hops = (r: RouteJson): string[] =>
      (r.nexthops ?? []).map((n) => `${n.gateway ?? `inet6 ${n.via?.host}`}%${n.dev}`).sort();
    expect(hops(two)).toEqual(['inet6 fd00::2%v0', 'inet6 fd00::3%v0']);
    expect(hops(three)).toEqual(['10.0.0.2%v0', 'inet6 fd00::3%v0']);
    // The single next hop is an IPv6 object of ours that the IPv4 route names.
    const objects = ns.ipJson<{ id: number; gateway: string; dev: string; protocol: string }>(
      'nexthop',
      'show',
    );
    expect(objects).toMatchObject([{ gateway: 'fd00::2', dev: 'v0' }]);
    expect(ns.ipSync('route', 'show', '10.244.1.0/24')).toContain(`nhid ${objects[0].id} via inet6 fd00::2`);
    expect(await entry(first, '10.244.1.0/24')).toMatchObject({
      status: 'installed',
      kernel: { nexthops: ['fd00::2%v0'] },
    });
    // A restart reads them back as the same routes: adopted, none rewritten, none stale.
    await first.kill('SIGKILL');
    const second = new FibDriver(ns);
    cleanup.push(() => second.kill());
    await second.call('set', key4('10.244.1.0/24'), ['fd00::2']);
    await second.call('set', key4('10.244.2.0/24'), ['fd00::2', 'fd00::3']);
    await second.call('set', key4('10.244.3.0/24'), ['10.0.0.2', 'fd00::3']);
    await second.call('start');
    await second.call('flushed');
    expect(second.events.find((e) => e.type === 'started')).toMatchObject({ adopted: 3, stale: 0 });
    for (const e of second.events.filter((x) => x.type === 'reconciled'))
      expect(e).toMatchObject({ writes: 0 });
  });

  it('installs blackhole routes for our own prefixes and removes those left out later', async () => {
    const ns = setup('10.0.0.1/24');
    const fib = await fibIn(ns);
    await fib.call('setBlackholes', [key4('10.244.1.0/24'), key4('10.244.100.0/24')], 'blackhole', 4000);
    await fib.call('flushed');
    expect(ours(ns, 'type', 'blackhole').map((r) => [r.dst, r.metric])).toEqual([
      ['10.244.1.0/24', 4000],
      ['10.244.100.0/24', 4000],
    ]);
    await fib.call('setBlackholes', [key4('10.244.1.0/24')], 'blackhole', 4000);
    await fib.call('flushed');
    expect(ours(ns).map((r) => r.dst)).toEqual(['10.244.1.0/24']);
  });

  it('reports a kernel write failure with its errno and retries until the next hop works', async () => {
    // The address is there but without its prefix route: we call 10.1.0.2 connected, the kernel refuses it.
    const ns = setup('10.0.0.1/24');
    ns.ipSync('addr', 'add', '10.1.0.1/24', 'dev', 'v0', 'noprefixroute');
    const fib = await fibIn(ns);
    await fib.call('set', key4('10.244.12.0/24'), ['10.1.0.2']);
    await fib.call('set', key4('10.244.13.0/24'), ['10.0.0.2']);
    await fib.call('flushed');
    const failed = await entry(fib, '10.244.12.0/24');
    expect(failed).toMatchObject({ status: 'failed', kernel: null });
    // The kernel's errno; with nexthop objects (Linux ≥ 5.3) it is the object's, and the error names it.
    expect(failed?.error).toMatch(/^E[A-Z]+( \(nexthop object \d+ via 10\.1\.0\.2%v0\))?$/);
    expect(fib.events.find((e) => e.type === 'route-failed')).toMatchObject({
      prefix: '10.244.12.0/24',
      retryInMs: 1000,
    });
    expect(await entry(fib, '10.244.13.0/24')).toMatchObject({ status: 'installed' });
    ns.ipSync('route', 'add', '10.1.0.0/24', 'dev', 'v0');
    await until(async () => (await entry(fib, '10.244.12.0/24'))?.status === 'installed', {
      what: 'installed after retry',
      timeout: 10_000,
    });
    expect(
      ours(ns)
        .map((r) => r.dst)
        .sort(),
    ).toEqual(['10.244.12.0/24', '10.244.13.0/24']);
  });

  it('names the routes the kernel refused inside a batch of thousands, and installs all the others', async () => {
    // Only the last message of a batch asks for an ack; a refused one is answered with its own sequence
    // number. Refused here: every 7th route, and a run around where the first 64 KiB batch ends.
    const ns = setup('10.0.0.1/24');
    ns.ipSync('addr', 'add', '10.1.0.1/24', 'dev', 'v0', 'noprefixroute');
    const fib = await fibIn(ns);
    const n = 3000;
    const refused = (i: number): boolean => i % 7 === 3 || (i >= 950 && i < 980);
    const prefixes: number[] = [];
    const nexthops: string[][] = [];
    const good = ['10.0.0.2'];
    const bad = ['10.1.0.2'];
    for (let i = 0; i < n; i++) {
      prefixes.push(key4(`12.${i >> 8}.${i & 255}.0/24`));
      nexthops.push(refused(i) ? bad : good);
    }
    await fib.call('setMany', prefixes, nexthops);
    await fib.call('flushed');
    const entries = await fib.call<EntryView[]>('entries');
    const failed = entries.filter((e) => e.status === 'failed').map((e) => e.prefix);
    const expected = prefixes.flatMap((_, i) => (refused(i) ? [`12.${(i >> 8) & 255}.${i & 255}.0/24`] : []));
    expect(failed.sort()).toEqual(expected.sort());
    expect(entries.filter((e) => e.status === 'installed')).toHaveLength(n - expected.length);
    expect(ours(ns)).toHaveLength(n - expected.length);
  });

  it("survives a flood of another program's route changes while its main thread is busy, and keeps listening", async () => {
    // 20,000 notifications (~20 MB of socket buffer) arrive while the Fib's main thread is blocked for 1.5 s.
    // Read on the main thread they overflowed the monitor socket, and the netlink addon aborts the process on
    // that (exit 134). The monitor thread reads them as they come.
    const ns = setup('10.0.0.1/24');
    const fib = await fibIn(ns);
    await fib.call('set', key4('10.244.15.0/24'), ['10.0.0.2']);
    await fib.call('flushed');
    const dir = mkdtempSync(join(tmpdir(), 'nbr-flood-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const batch = join(dir, 'routes.batch');
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++)
      lines.push(`route add 13.${i >> 8}.${i & 255}.0/24 via 10.0.0.3 proto static`);
    writeFileSync(batch, lines.join('\n') + '\n');
    const busy = fib.call('busy', 1500);
    const flood = new Promise<number | null>((resolve) =>
      spawn('ip', ['-n', ns.name, '-batch', batch]).on('exit', resolve),
    );
    expect(await flood).toBe(0);
    await busy;
    expect(ns.ipSync('route', 'show', 'proto', 'static').trim().split('\n')).toHaveLength(20_000);
    // Still alive, and still listening: our route deleted by hand comes back.
    ns.ipSync('route', 'del', '10.244.15.0/24', 'proto', '202');
    await until(() => ours(ns).some((x) => x.dst === '10.244.15.0/24'), {
      what: 're-asserted',
      timeout: 10_000,
    });
    expect(fib.events.filter((e) => e.type === 'fault')).toEqual([]);
  });

  it('never touches a route of another protocol at the same prefix and metric', async () => {
    const ns = setup('10.0.0.1/24');
    ns.ipSync('route', 'add', '10.244.14.0/24', 'via', '10.0.0.9', 'proto', 'static', 'metric', '20');
    const fib = await fibIn(ns);
    await fib.call('set', key4('10.244.14.0/24'), ['10.0.0.2']);
    await fib.call('flushed');
    expect((await entry(fib, '10.244.14.0/24'))?.error).toMatch(/EEXIST/);
    expect(ns.ipJson<RouteJson>('route', 'show', '10.244.14.0/24')).toMatchObject([
      { gateway: '10.0.0.9', protocol: 'static' },
    ]);
  });
});
