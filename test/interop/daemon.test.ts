/**
 * `bin/nodebgp run` end to end: instances on loopback addresses (127.0.0.x, their own ports) peering with
 * each other through the real binary, inspected through the real CLI (no namespaces, no root needed); and
 * the import policy against real FRR peers in namespaces, with the kernel's table checked (root).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeerStatus, RouteView } from '../../bgp/api.js';
import { Lab, nodebgpAvailable, startFrr, startNodebgp, until } from './harness/index.js';
import type { Frr, Netns, Nodebgp } from './harness/index.js';

const run = promisify(execFile);
const REPO = join(import.meta.dirname, '..', '..');
const BIN = join(REPO, 'bin', 'nodebgp');
const BASE_PORT = 20000 + Math.floor(Math.random() * 20000);

interface Instance {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly nextHop: string;
  readonly nextHop6: string;
  readonly asn: number;
  readonly socket: string;
  readonly config: string;
  proc?: ChildProcess;
  log: string;
  exit?: Promise<number | null>;
}

const dir = mkdtempSync(join(tmpdir(), 'nodebgp-interop-'));

function instance(n: number): Instance {
  return {
    name: `node${n}`,
    address: `127.0.0.${20 + n}`,
    port: BASE_PORT + n,
    nextHop: `192.0.2.${20 + n}`,
    nextHop6: `2001:db8::${20 + n}`,
    asn: 65020 + n,
    socket: join(dir, `node${n}`, 'nodebgp.sock'),
    config: join(dir, `node${n}.yaml`),
    log: '',
  };
}

function writeConfig(self: Instance, peers: readonly Instance[]): void {
  const n = self.asn - 65020;
  const peerLines = peers.map(
    (p) =>
      `  - { address: ${p.address}, asn: ${p.asn}, port: ${p.port}, localAddress: ${self.address}, holdTime: 9, connectRetryTime: 1 }`,
  );
  writeFileSync(
    self.config,
    [
      `asn: ${self.asn}`,
      `listen: { address: ${self.address}, port: ${self.port} }`,
      // Sessions run over 127.0.0.x, but a loopback address is no valid NEXT_HOP: advertise TEST-NET ones.
      `routerId: ${self.address}`,
      `node: { address: ${self.nextHop}, address6: "${self.nextHop6}", podCIDRs: [10.244.${n}.0/24, "fd00:244:${n}::/64"] }`,
      'importPrefixes: [{ prefix: 10.244.0.0/16, le: 24 }, { prefix: "fd00:244::/32", le: 64 }]',
      peers.length > 0 ? 'peers:' : 'peers: []',
      ...peerLines,
      'kernel: { enabled: false }',
      `controlSocket: ${self.socket}`,
      'log: { level: debug }',
      '',
    ].join('\n'),
  );
}

function start(i: Instance): void {
  const proc = spawn(process.execPath, [BIN, 'run', '--config', i.config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.on('data', (c: Buffer) => (i.log += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (i.log += c.toString()));
  i.exit = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  i.proc = proc;
}

async function cli<T>(i: Instance, ...args: string[]): Promise<T> {
  const { stdout } = await run(process.execPath, [BIN, ...args, '--json', '--socket', i.socket]);
  return JSON.parse(stdout) as T;
}

async function peerOf(i: Instance, address: string): Promise<PeerStatus | undefined> {
  return (await cli<PeerStatus[]>(i, 'neighbors')).find((p) => p.address === address);
}

const established = (i: Instance, other: Instance) =>
  until(
    async () => {
      const p = await peerOf(i, other.address);
      return p?.state === 'Established' ? p : undefined;
    },
    { what: `${i.name} Established with ${other.name}`, interval: 250 },
  );

const a = instance(1);
const b = instance(2);
const c = instance(3);

beforeAll(() => {
  // The binary runs dist/: build it from the current tree (tsc emits even when another file has type errors).
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: REPO, stdio: 'ignore' });
  } catch {
    // type errors elsewhere in the tree; what was emitted is what we run
  }
  writeConfig(a, [b]);
  writeConfig(b, [a]);
  start(a);
  start(b);
});

afterAll(async () => {
  for (const i of [a, b, c]) if (i.proc && i.proc.exitCode === null) i.proc.kill('SIGKILL');
});

describe('nodebgp run: two instances on loopback', () => {
  it('reach Established with each other', async () => {
    await established(a, b);
    await established(b, a);
  }, 60_000);

  it("each sees the other's podCIDRs in routes --json", async () => {
    const want = (i: Instance, n: number) =>
      until(
        async () => {
          const routes = await cli<RouteView[]>(i, 'routes');
          const got = routes.filter(
            (r) => r.prefix === `10.244.${n}.0/24` || r.prefix === `fd00:244:${n}::/64`,
          );
          return got.length === 2 ? got : undefined;
        },
        { what: `${i.name} routes from node${n}`, interval: 250 },
      );
    const atA = await want(a, 2);
    expect(atA.every((r) => r.best && r.peer === b.address && r.asPath === String(b.asn))).toBe(true);
    expect(atA.find((r) => r.prefix === '10.244.2.0/24')?.nexthops).toEqual([b.nextHop]);
    expect(atA.find((r) => r.prefix === 'fd00:244:2::/64')?.nexthops).toEqual([b.nextHop6]);
    await want(b, 1);
  });

  it('SIGHUP adds a peer without resetting the existing session', async () => {
    const before = await established(a, b);
    writeConfig(c, [a]);
    start(c);
    writeConfig(a, [b, c]);
    a.proc?.kill('SIGHUP');
    await established(a, c);
    await established(c, a);
    const after = await peerOf(a, b.address);
    expect(after?.state).toBe('Established');
    expect(after?.establishedCount).toBe(before.establishedCount);
    expect(after?.since).toBe(before.since);
    expect(a.log).toContain('"event":"reload-peer-added"');
  }, 60_000);

  it('a changed config file is applied without a signal, leaving the untouched session alone', async () => {
    const before = await established(a, b);
    writeConfig(a, [b]); // node3 removed from the file; no SIGHUP
    await until(
      async () => {
        const peers = await cli<{ address: string }[]>(a, 'neighbors');
        return peers.every((p) => p.address !== c.address) ? peers : undefined;
      },
      { what: 'node1 to drop node3 after the file changed', interval: 250 },
    );
    const after = await peerOf(a, b.address);
    expect(after?.state).toBe('Established');
    expect(after?.establishedCount).toBe(before.establishedCount);
    expect(a.log).toContain('"event":"config-changed"');
  }, 60_000);

  it('SIGTERM sends Cease; the other side records it', async () => {
    b.proc?.kill('SIGTERM');
    expect(await b.exit).toBe(0);
    const down = await until(
      async () => {
        const p = await peerOf(a, b.address);
        return p && p.state !== 'Established' ? p : undefined;
      },
      { what: 'node1 to see node2 go down', interval: 250 },
    );
    // The transition's reason in node1's log: lastError/lastReason may already tell of the reconnect attempt
    // that followed (refused, node2 is gone) by the time a loaded machine asks.
    expect(down.state).not.toBe('Established');
    expect(a.log).toMatch(
      /"event":"peer-state","peer":"127\.0\.0\.22","from":"Established","to":"\w+","reason":"notification-received"/,
    );
    expect(b.log).toContain('"event":"stopped"');
    // the socket is gone with the daemon
    await expect(cli(b, 'neighbors')).rejects.toThrow(/is it running/);
  }, 60_000);
});

/**
 * Imports that cannot hijack (static mode), against real FRR peers in namespaces and the kernel:
 *
 *   tor (FRR, AS 65001) 10.81.1.1 ── nb (nodebgp, AS 65002) ── 10.81.2.1 rogue (FRR, AS 65003)
 *
 * Both FRRs announce 0.0.0.0/1 and 128.0.0.0/1 (together: every address) beside a route of their own. The
 * ToR has import rules (10.0.0.0/16 up to /24), the rogue peer none. Neither half of the Internet may reach
 * the kernel; the ToR's own route must, and its session must stay up.
 */
describe.skipIf(!nodebgpAvailable())('imports that cannot hijack (static mode, real FRR, kernel)', () => {
  let lab: Lab;
  let nb: Nodebgp;
  let nsNb: Netns;
  const frrs: Frr[] = [];
  const frrConfig = (asn: number, self: string, peer: string, own: string) =>
    [
      `router bgp ${asn}`,
      ` bgp router-id ${self}`,
      ' no bgp ebgp-requires-policy',
      ' no bgp network import-check',
      ` neighbor ${peer} remote-as 65002`,
      ` neighbor ${peer} timers 3 9`,
      ` neighbor ${peer} timers connect 1`,
      ' address-family ipv4 unicast',
      `  network ${own}`,
      '  network 0.0.0.0/1',
      '  network 128.0.0.0/1',
      ' exit-address-family',
      '',
    ].join('\n');

  beforeAll(async () => {
    lab = new Lab();
    nsNb = lab.namespace('nb');
    const nsTor = lab.namespace('tor');
    const nsRogue = lab.namespace('rogue');
    lab.link(nsTor, nsNb, { a: ['10.81.1.1/24'], b: ['10.81.1.2/24'] });
    lab.link(nsRogue, nsNb, { a: ['10.81.2.1/24'], b: ['10.81.2.2/24'] });
    frrs.push(
      await startFrr(nsTor, lab.tempDir('tor'), {
        bgpd: frrConfig(65001, '10.81.1.1', '10.81.1.2', '10.0.1.0/24'),
      }),
      await startFrr(nsRogue, lab.tempDir('rogue'), {
        bgpd: frrConfig(65003, '10.81.2.1', '10.81.2.2', '10.0.2.0/24'),
      }),
    );
    nb = await startNodebgp(nsNb, lab.tempDir('nb'), {
      asn: 65002,
      routerId: '10.81.1.2',
      listen: { address: '0.0.0.0' },
      node: { address: '10.81.1.2', podCIDRs: ['10.244.2.0/24'] },
      peers: [
        { address: '10.81.1.1', asn: 65001, holdTime: 9, import: [{ prefix: '10.0.0.0/16', le: 24 }] },
        { address: '10.81.2.1', asn: 65003, holdTime: 9 },
      ],
      // nodebgp's own default for a peer without rules (the harness would otherwise fill some in).
      importPrefixes: undefined,
      kernel: { enabled: true },
    });
  }, 60_000);

  afterAll(async () => {
    for (const f of frrs) await f.bgpd.stop().catch(() => undefined);
    await nb?.stop().catch(() => undefined);
    await lab?.teardown();
  }, 30_000);

  const kernel = async () => {
    const routes = JSON.parse((await nsNb.ip(['-j', 'route', 'show', 'proto', '202'])) || '[]') as {
      dst: string;
      gateway?: string;
    }[];
    return Object.fromEntries(routes.map((r) => [r.dst, r.gateway]));
  };
  const routeGet = (address: string) =>
    nsNb.ip(['route', 'get', address]).catch((err: Error) => `no route: ${err.message}`);

  it('installs the ToR’s own route and neither 0.0.0.0/1 nor 128.0.0.0/1 from anyone', async () => {
    await until(async () => (await nb.neighbors()).filter((p) => p.state === 'Established').length === 2, {
      what: 'both FRR sessions Established',
      timeout: 30_000,
      interval: 200,
    });
    await until(async () => (await kernel())['10.0.1.0/24'] === '10.81.1.1', {
      what: 'the ToR’s 10.0.1.0/24 in the kernel',
      timeout: 20_000,
      interval: 200,
    });
    // Give a wrongly accepted route time to arrive, then look at everything.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await kernel()).toEqual({ '10.0.1.0/24': '10.81.1.1' });
    expect(await routeGet('8.8.8.8')).not.toMatch(/via 10\.81\./);
    expect(await routeGet('192.0.2.7')).not.toMatch(/via 10\.81\./);
    expect(await routeGet('10.0.1.5')).toMatch(/via 10\.81\.1\.1/);
    // (FRR also sends our own podCIDR back, refused for the AS loop; not of interest here.)
    const verdicts = async (peer: string) =>
      Object.fromEntries(
        (await nb.cli<RouteView[]>(['adj-rib-in', peer]))
          .filter((r) => r.prefix !== '10.244.2.0/24')
          .map((r) => [r.prefix, r.reason.startsWith('ineligible') ? 'refused' : r.reason]),
      );
    expect(await verdicts('10.81.1.1')).toEqual({
      '0.0.0.0/1': 'refused',
      '10.0.1.0/24': 'accepted',
      '128.0.0.0/1': 'refused',
    });
    // The rogue peer: everything refused (what it sends back of ours too, for the AS loop).
    const rogue = await verdicts('10.81.2.1');
    expect(rogue).toMatchObject({
      '0.0.0.0/1': 'refused',
      '10.0.2.0/24': 'refused',
      '128.0.0.0/1': 'refused',
    });
    expect(Object.values(rogue).every((v) => v === 'refused')).toBe(true);
    expect(nb.daemon.log()).toMatch(/"event":"import-policy-missing".*"peer":"10\.81\.2\.1"/);
  }, 60_000);

  it('the ToR session stays Established with its route in the kernel', async () => {
    const before = (await nb.neighbors()).find((p) => p.address === '10.81.1.1');
    await new Promise((r) => setTimeout(r, 3000));
    const after = (await nb.neighbors()).find((p) => p.address === '10.81.1.1');
    expect(after).toMatchObject({ state: 'Established', establishedCount: before?.establishedCount });
    expect(await kernel()).toEqual({ '10.0.1.0/24': '10.81.1.1' });
  }, 30_000);
});
