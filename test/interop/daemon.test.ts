/**
 * `bin/nodebgp run` end to end: instances on loopback addresses (127.0.0.x, their own ports) peering with
 * each other through the real binary, inspected through the real CLI. No namespaces, no root needed.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeerStatus, RouteView } from '../../bgp/api.js';
import { until } from '../../toolkit/index.js';

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
    expect(`${down.lastError ?? ''} ${down.lastReason ?? ''}`).toMatch(/cease|notification/i);
    expect(b.log).toContain('"event":"stopped"');
    // the socket is gone with the daemon
    await expect(cli(b, 'neighbors')).rejects.toThrow(/is it running/);
  }, 60_000);
});
