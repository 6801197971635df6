import { spawn } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main, type CliIo } from '../../../daemon/cli/main.js';
import { formatDuration } from '../../../daemon/cli/format.js';
import { get } from '../../../daemon/client.js';
import { removeStaleSocket, startControlServer, type ControlServer } from '../../../daemon/control.js';
import {
  NotFound,
  type ControlSource,
  type FibView,
  type PeerStatus,
  type RouteView,
  type StatusView,
} from '../../../daemon/views.js';

const NOW = Date.now();

const peer = (p: Partial<PeerStatus> & Pick<PeerStatus, 'address' | 'asn' | 'state'>): PeerStatus => ({
  since: NOW - 724_000,
  received: 0,
  accepted: 0,
  advertised: 0,
  messagesIn: 0,
  messagesOut: 0,
  updatesIn: 0,
  updatesOut: 0,
  establishedCount: 0,
  attributeErrors: 0,
  ...p,
});

const route = (r: Partial<RouteView> & Pick<RouteView, 'prefix' | 'peer'>): RouteView => ({
  nexthops: ['10.77.0.1'],
  asPath: '65001',
  origin: 'igp',
  communities: [],
  largeCommunities: [],
  best: true,
  multipath: false,
  reason: 'best: only path',
  local: false,
  age: 5,
  ...r,
});

const PEERS_AT = (now: number): PeerStatus[] => [
  peer({
    address: '10.77.0.1',
    asn: 65001,
    state: 'Established',
    received: 2,
    accepted: 2,
    advertised: 1,
    description: 'frr',
  }),
  peer({
    address: '10.77.0.3',
    asn: 65003,
    state: 'Active',
    since: now - (3 * 86400 + 2 * 3600) * 1000,
    lastError: 'Cease/Administrative Shutdown (6/2) received',
    lastReason: 'notification-received',
  }),
];
const ROUTES = [
  route({ prefix: '10.0.0.0/16', peer: '10.77.0.3', nexthops: ['10.77.0.3'], asPath: '65003', best: true }),
  route({ prefix: '10.0.1.0/24', peer: '10.77.0.1', communities: ['65001:100'], localPref: 100, med: 5 }),
  route({
    prefix: '10.0.1.0/24',
    peer: '10.77.0.3',
    nexthops: ['10.77.0.3'],
    asPath: '65003 65009',
    best: false,
    reason: 'lost: as-path-length',
  }),
  route({ prefix: '2001:db8:1::/48', peer: '10.77.0.1', nexthops: ['fe80::1'], origin: 'incomplete' }),
  route({
    prefix: '10.244.2.0/24',
    peer: 'local',
    nexthops: [],
    asPath: '',
    local: true,
    reason: 'best: local',
  }),
];
const FIB: FibView = {
  enabled: true,
  entries: [
    {
      prefix: '10.0.1.0/24',
      nexthops: ['10.77.0.1'],
      status: 'installed',
      kernel: { nexthops: ['10.77.0.1%eth0'] },
      since: NOW,
    },
    {
      prefix: '2001:db8:1::/48',
      nexthops: ['fe80::1'],
      status: 'failed',
      error: 'ENETUNREACH',
      kernel: null,
      since: NOW,
    },
  ],
};
const STATUS: StatusView = {
  version: '0.1.0',
  pid: 42,
  startedAt: NOW - 60_000,
  asn: 65002,
  routerId: '10.77.0.2',
  listen: '10.77.0.2 port 179',
  nodeAddress: '10.77.0.2',
  podCIDRs: ['10.244.2.0/24'],
  peers: { configured: 2, established: 1 },
  routes: { prefixes: 4, paths: 5 },
  fib: { enabled: true, installed: 1, pending: 0, failed: 1, unresolvable: 0 },
  config: '/etc/nodebgp/config.yaml',
};

function fakeSource(fib: FibView = FIB): ControlSource {
  const known = (p: string) => {
    if (!PEERS_AT(0).some((x) => x.address === p)) throw new NotFound(`no peer ${p} (see nodebgp neighbors)`);
  };
  return {
    neighbors: () => PEERS_AT(Date.now()),
    routes: () => ROUTES,
    adjRibIn: (p) => (known(p), ROUTES.filter((r) => r.peer === p)),
    adjRibOut: (p) => (known(p), [ROUTES[4]]),
    fib: () => fib,
    status: () => STATUS,
    config: () => ({ asn: 65002 }),
  };
}

let dir: string;
let socket: string;
let server: ControlServer | undefined;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    env: { NODEBGP_SOCKET: socket },
  };
  const code = await main(argv, io);
  return { code, out, err };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nodebgp-ctl-'));
  socket = join(dir, 'run', 'nodebgp.sock');
  server = await startControlServer(socket, fakeSource());
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('control socket', () => {
  it('creates the socket 0660 in a directory it creates', () => {
    expect(statSync(socket).isSocket()).toBe(true);
    expect(statSync(socket).mode & 0o777).toBe(0o660);
    expect(statSync(join(dir, 'run')).isDirectory()).toBe(true);
  });

  it('serves JSON; unknown endpoints, unknown peers and bad prefixes are errors', async () => {
    expect(await get<PeerStatus[]>(socket, '/neighbors')).toHaveLength(2);
    expect(await get(socket, '/config')).toEqual({ asn: 65002 });
    await expect(get(socket, '/nope')).rejects.toThrow('no such endpoint /nope');
    await expect(get(socket, '/adj-rib-in?peer=1.2.3.4')).rejects.toThrow('no peer 1.2.3.4');
    await expect(get(socket, '/routes?prefix=10.0.1.1/24')).rejects.toThrow('host bits');
  });

  it('replaces a stale socket file nobody answers on, refuses one that answers', async () => {
    await server?.close();
    const stale = join(dir, 'stale.sock');
    const s = createServer();
    await new Promise<void>((r) => s.listen(stale, r));
    await expect(removeStaleSocket(stale)).rejects.toThrow('another nodebgp is answering');
    await new Promise<void>((r) => s.close(() => r()));
    // A crash: a process listening on the socket is killed, so the file stays with nobody behind it.
    writeFileSync(join(dir, 'keep'), '');
    const child = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`,
    ]);
    await new Promise((r) => child.stdout.once('data', r));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(statSync(stale).isSocket()).toBe(true);
    server = await startControlServer(stale, fakeSource());
    expect(await get<PeerStatus[]>(stale, '/neighbors')).toHaveLength(2);
    await expect(startControlServer(join(dir, 'keep'), fakeSource())).rejects.toThrow('is not a socket');
  });
});

describe('CLI', () => {
  it('neighbors: a vtysh-like summary with durations, counts and the last error', async () => {
    const { code, out } = await cli('neighbors');
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Peer\s+AS\s+State\s+Up\/Down\s+Rcvd\s+Accepted\s+Adv\s+Last error\/reason$/);
    expect(lines[1]).toMatch(/^10\.77\.0\.1 \(frr\)\s+65001\s+Established\s+00:12:0\d\s+2\s+2\s+1/);
    expect(lines[2]).toMatch(
      /^10\.77\.0\.3\s+65003\s+Active\s+3d02h\s+0\s+0\s+0\s+Cease\/Administrative Shutdown \(6\/2\) received; notification-received$/,
    );
  });

  it('neighbors --json: the array with address, asn, state and the counts', async () => {
    const { out } = await cli('neighbors', '--json');
    const peers = JSON.parse(out) as PeerStatus[];
    expect(peers.map((p) => [p.address, p.asn, p.state, p.received, p.accepted, p.advertised])).toEqual([
      ['10.77.0.1', 65001, 'Established', 2, 2, 1],
      ['10.77.0.3', 65003, 'Active', 0, 0, 0],
    ]);
  });

  it('routes: *> on the best path, the losing path with its reason, communities, local routes', async () => {
    const { code, out } = await cli('routes');
    expect(code).toBe(0);
    expect(out).toMatch(
      /Network\s+Next hop\(s\)\s+Peer\s+LocPrf\s+MED\s+Path\s+Origin\s+Communities\s+Best\/Reason/,
    );
    expect(out).toMatch(
      /\*> 10\.0\.1\.0\/24\s+10\.77\.0\.1\s+10\.77\.0\.1\s+100\s+5\s+65001\s+i\s+65001:100\s+best: only path/,
    );
    expect(out).toMatch(
      /\*  10\.0\.1\.0\/24\s+10\.77\.0\.3\s+10\.77\.0\.3\s+65003 65009\s+i\s+lost: as-path-length/,
    );
    expect(out).toMatch(/\*> 2001:db8:1::\/48\s+fe80::1\s+10\.77\.0\.1\s+65001\s+\?/);
    expect(out).toMatch(/\*> 10\.244\.2\.0\/24\s+0\.0\.0\.0 \(local\)\s+local\s+\(empty\)/);
    expect(out).toContain('4 prefixes, 5 paths, 4 best');
  });

  it('routes PREFIX: exact; ADDRESS: longest match; --longer: everything inside', async () => {
    const exact = JSON.parse((await cli('routes', '10.0.1.0/24', '--json')).out) as RouteView[];
    expect(exact.map((r) => r.peer)).toEqual(['10.77.0.1', '10.77.0.3']);
    const longest = JSON.parse((await cli('routes', '10.0.1.7', '--json')).out) as RouteView[];
    expect(new Set(longest.map((r) => r.prefix))).toEqual(new Set(['10.0.1.0/24']));
    const covering = JSON.parse((await cli('routes', '10.0.9.1', '--json')).out) as RouteView[];
    expect(covering.map((r) => r.prefix)).toEqual(['10.0.0.0/16']);
    const inside = JSON.parse((await cli('routes', '10.0.0.0/8', '--longer', '--json')).out) as RouteView[];
    expect(inside.map((r) => r.prefix)).toEqual([
      '10.0.0.0/16',
      '10.0.1.0/24',
      '10.0.1.0/24',
      '10.244.2.0/24',
    ]);
    expect((await cli('routes', '192.0.2.0/24')).out).toBe('No routes.\n');
  });

  it('fib: wanted beside kernel, differences marked; --json is the entries', async () => {
    const { out } = await cli('fib');
    expect(out).toMatch(/^Prefix\s+Wanted next hops\s+Kernel next hops\s+Status\s+Error/);
    expect(out).toMatch(/10\.0\.1\.0\/24\s+10\.77\.0\.1\s+10\.77\.0\.1%eth0\s+installed/);
    expect(out).toMatch(/2001:db8:1::\/48\s+fe80::1\s+! \(none\)\s+failed\s+ENETUNREACH/);
    expect(out).toContain('2 routes, 1 differ from the kernel');
    const entries = JSON.parse((await cli('fib', '--json')).out) as FibView['entries'];
    expect(entries.map((e) => [e.prefix, e.status])).toEqual([
      ['10.0.1.0/24', 'installed'],
      ['2001:db8:1::/48', 'failed'],
    ]);
  });

  it('fib with the kernel disabled says so', async () => {
    await server?.close();
    server = await startControlServer(socket, fakeSource({ enabled: false, entries: [] }));
    expect((await cli('fib')).out).toContain('kernel disabled');
  });

  it('status, adj-rib-in, adj-rib-out', async () => {
    const status = await cli('status');
    expect(status.out).toMatch(/Router:\s+AS 65002, router id 10\.77\.0\.2/);
    expect(status.out).toMatch(/Peers:\s+1\/2 Established/);
    expect(JSON.parse((await cli('status', '--json')).out)).toMatchObject({
      asn: 65002,
      podCIDRs: ['10.244.2.0/24'],
    });
    const rin = await cli('adj-rib-in', '10.77.0.1');
    expect(rin.out).toMatch(/^Received from 10\.77\.0\.1:\nNetwork/);
    expect(rin.out).toContain('2001:db8:1::/48');
    expect((await cli('adj-rib-out', '10.77.0.1')).out).toContain('10.244.2.0/24');
    const unknown = await cli('adj-rib-in', '192.0.2.9');
    expect([unknown.code, unknown.err]).toEqual([1, 'no peer 192.0.2.9 (see nodebgp neighbors)\n']);
  });

  it('a daemon that is not running: a clear message and exit 1', async () => {
    const gone = join(dir, 'none.sock');
    const r = await cli('neighbors', '--socket', gone);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`cannot reach nodebgp at ${gone}: is it running?\n`);
  });

  it('usage errors exit 2; --help exits 0', async () => {
    expect((await cli('neighbors', '--bogus')).code).toBe(2);
    expect((await cli('adj-rib-in')).code).toBe(2);
    expect((await cli('frobnicate')).code).toBe(2);
    const help = await cli('routes', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('longest prefix containing it');
    expect((await cli('--help')).out).toMatch(/neighbors\s+BGP peers/);
  });

  it('config check: ok with a summary, or exit 1 naming the field', async () => {
    const good = await cli('config', 'check', 'deploy/example-config.yaml');
    expect(good).toMatchObject({
      code: 0,
      out: 'config deploy/example-config.yaml: ok (AS 65002, 1 peers, 2 pod CIDRs)\n',
    });
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'asn: 65002\nnode: { address: 10.77.0.2 }\npeers: [{ address: 10.77.0.1, asn: 65001, holdTime: 2 }]\n',
    );
    const r = await cli('config', 'check', bad);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`config ${bad}: peers[0].holdTime: 2 is not allowed: must be 0 or 3..65535\n`);
  });

  it('durations read like vtysh', () => {
    expect(formatDuration(724_000)).toBe('00:12:04');
    expect(formatDuration((3 * 86400 + 2 * 3600) * 1000)).toBe('3d02h');
    expect(formatDuration(100 * 86400_000)).toBe('14w2d');
  });
});

describe('nodebgp shutdown', () => {
  it('POSTs /shutdown, with withdraw only when asked; other POSTs stay refused', async () => {
    await server?.close();
    const asked: boolean[] = [];
    server = await startControlServer(socket, {
      ...fakeSource(),
      shutdown: ({ withdraw }) => (asked.push(withdraw), { stopping: true, withdraw }),
    });
    const plain = await cli('shutdown');
    expect(plain).toMatchObject({ code: 0, out: 'nodebgp stopping\n' });
    const hard = await cli('shutdown', '--withdraw');
    expect(hard.code).toBe(0);
    expect(hard.out).toContain('Hard Reset sent to every peer');
    expect(asked).toEqual([false, true]);
    expect((await cli('shutdown', 'now')).code).toBe(2);
  });

  it('a daemon without the command says so', async () => {
    const r = await cli('shutdown', '--withdraw');
    expect(r.code).toBe(1);
    expect(r.err).toContain('shutdown is not available');
  });
});
