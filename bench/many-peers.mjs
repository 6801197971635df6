#!/usr/bin/env node
// Many peers (issue 13): nodebgp, FRR 8.4 and BIRD 2 on the same job in the same run.
//
//   rr N    the daemon is an iBGP route reflector for N clients; each client (lib/many-peers-sim.mjs, one
//           process, one address per client) announces one /24; converged = every client holds the other
//           N−1 routes. RIB only: nodebgp `kernel.enabled: false`, FRR bgpd alone (-Z), BIRD without a kernel
//           protocol.
//   mesh N  the daemon is one node of an iBGP full mesh with N peers (no reflection): converged = every peer
//           holds the node's own /24 and the node's kernel table holds the N peers' routes (nodebgp with the
//           kernel, FRR bgpd+zebra, BIRD with `protocol kernel`).
//
// Measured per run: time to converge (from the simulator's start), peak RSS (VmHWM of the daemon's processes),
// idle CPU over --idle seconds after convergence (utime+stime from /proc/<pid>/stat), and the time for one
// client's new /24 to reach every other client (rr) — printed side by side with nodebgp/FRR and nodebgp/BIRD.
//
//   quiet N (--quiet 100,1000) the rr setup with clients that announce nothing: the cost of idle peers.
//
//   node bench/many-peers.mjs [--sizes 100,500,1000] [--big] [--mesh 300] [--quiet N,…] [--only nodebgp,frr,bird]
//                             [--idle 10] [--json FILE]                              (root; npm run build)
//   --only nodebgp-base runs another built checkout (NODEBGP_BENCH_BASE=/path) beside this one.
//   --big adds N = 2000; --mesh 0 skips the mesh run.
//
//   simulator 10.89.0.1 (clients 10.90.1.0 upwards, `local` route on lo) ── veth ── daemon 10.89.0.2
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Lab, procStatusKb, startFrr, startLogged, until } from '../dist/toolkit/index.js';
import { kernelRouteCounter } from './lib/pair.mjs';
import { controlGet } from './lib/runners.mjs';

const REPO = join(import.meta.dirname, '..');
const BIN = join(REPO, 'bin', 'nodebgp');
const SIM = join(REPO, 'bench', 'lib', 'many-peers-sim.mjs');
const args = Object.fromEntries(
  process.argv
    .slice(2)
    .reduce(
      (acc, a, i, all) =>
        a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]?.startsWith('--') ? 'true' : all[i + 1]]] : acc,
      [],
    ),
);
const SIZES = (args.sizes ?? '100,500,1000').split(',').map(Number);
if (args.big !== undefined) SIZES.push(2000);
const MESH = Number(args.mesh ?? 300);
const ONLY = (args.only ?? 'nodebgp,frr,bird').split(',');
const IDLE_S = Number(args.idle ?? 10);
const ASN = 65000;
const DAEMON = '10.89.0.2';
const FIRST = '10.90.1.0';
const HOLD = 90;
const TICK = 100; // USER_HZ
const OWN = '10.244.2.0/24'; // the node's own route (mesh)

const ip4n = (s) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
const ip4s = (n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const clientAddress = (i) => ip4s(ip4n(FIRST) + i);
const clientAddresses = (n) => Array.from({ length: n }, (_, i) => clientAddress(i));

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

/** nodebgp from this checkout, or from another built one (`NODEBGP_BENCH_BASE=/path`: before/after in one run). */
function nodebgp(bin, label) {
  return {
    label,
    async start(ns, dir, mode, n) {
      const socket = join(dir, 'nodebgp.sock');
      const conf = join(dir, 'nodebgp.yaml');
      const rr = mode !== 'mesh';
      const peers = clientAddresses(n).map(
        (a) =>
          `  - { address: ${a}, asn: ${ASN}, holdTime: ${HOLD}, passive: true` +
          `${rr ? ', routeReflectorClient: true' : ''} }`,
      );
      writeFileSync(
        conf,
        [
          `asn: ${ASN}`,
          `routerId: ${DAEMON}`,
          `listen: { address: ${DAEMON}, port: 179 }`,
          `node: { address: ${DAEMON}, podCIDRs: [${rr ? '' : OWN}] }`,
          'peers:',
          ...peers,
          'importPrefixes: [ { prefix: 0.0.0.0/0, le: 32 } ]',
          `kernel: { enabled: ${!rr} }`,
          `controlSocket: ${socket}`,
          `log: { level: ${process.env.NODEBGP_BENCH_LOG ?? 'warn'} }`,
          '',
        ].join('\n'),
      );
      const nodeArgs = (process.env.NODEBGP_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
      const proc = startLogged(
        ['ip', 'netns', 'exec', ns.name, process.execPath, ...nodeArgs, bin, 'run', '--config', conf],
        join(dir, 'nodebgp.log'),
      );
      await until(
        async () => {
          try {
            return Array.isArray(await controlGet(socket, '/neighbors'));
          } catch {
            return false;
          }
        },
        { timeout: 30_000, what: 'nodebgp control socket' },
      );
      return { pids: { nodebgp: proc.pid }, log: join(dir, 'nodebgp.log') };
    },
  };
}

const DAEMONS = {
  nodebgp: nodebgp(BIN, 'nodebgp'),
  'nodebgp-base': nodebgp(join(process.env.NODEBGP_BENCH_BASE ?? REPO, 'bin', 'nodebgp'), 'nodebgp (base)'),
  frr: {
    label: 'FRR 8.4',
    async start(ns, dir, mode, n) {
      const rr = mode !== 'mesh';
      const lines = [
        'hostname bench',
        `router bgp ${ASN}`,
        ` bgp router-id ${DAEMON}`,
        ' no bgp default ipv4-unicast',
        ' no bgp network import-check',
        ' neighbor C peer-group',
        ` neighbor C remote-as ${ASN}`,
        ` neighbor C timers ${HOLD / 3} ${HOLD}`,
        ' neighbor C passive',
        ` bgp listen range 10.90.0.0/16 peer-group C`,
        ` bgp listen limit ${Math.max(100, n + 10)}`,
        ' address-family ipv4 unicast',
        '  neighbor C activate',
        ...(rr ? ['  neighbor C route-reflector-client'] : [`  network ${OWN}`]),
        ' exit-address-family',
        '',
      ];
      const frr = await startFrr({
        ns: ns.name,
        dir,
        zebra: !rr,
        configs: { bgpd: lines.join('\n'), ...(rr ? {} : { zebra: 'hostname bench\n' }) },
        ...(rr ? {} : { args: { zebra: ['-s', '90000000'] } }),
      });
      const pids = {};
      for (const [name, p] of frr.processes) pids[name] = p.pid;
      return { pids, log: join(dir, 'bgpd.log') };
    },
  },
  bird: {
    label: 'BIRD 2',
    async start(ns, dir, mode, n) {
      const rr = mode !== 'mesh';
      const conf = join(dir, 'bird.conf');
      const ctl = join(dir, 'bird.ctl');
      const protos = clientAddresses(n).map(
        (a, i) => `protocol bgp c${i} from C { neighbor ${a} as ${ASN}; }`,
      );
      writeFileSync(
        conf,
        [
          `router id ${DAEMON};`,
          'protocol device {}',
          // The clients' next hops are behind 10.89.0.1: the route that resolves them (iBGP, recursive).
          'protocol static sims { ipv4; route 10.90.0.0/16 via 10.89.0.1; }',
          ...(rr
            ? []
            : [
                `protocol static own { ipv4 { export none; }; route ${OWN} blackhole; }`,
                'protocol kernel { ipv4 { export where source = RTS_BGP; import none; }; }',
              ]),
          `template bgp C { local ${DAEMON} as ${ASN}; passive; hold time ${HOLD};` +
            `${rr ? ' rr client;' : ''}`,
          `  ipv4 { import all; export ${rr ? 'where source = RTS_BGP' : 'where source = RTS_STATIC && net = ' + OWN}; }; }`,
          ...protos,
          '',
        ].join('\n'),
      );
      const proc = startLogged(
        ['ip', 'netns', 'exec', ns.name, 'bird', '-f', '-c', conf, '-s', ctl, '-P', join(dir, 'bird.pid')],
        join(dir, 'bird.log'),
      );
      await until(
        async () => {
          try {
            return (await ns.exec('birdc', ['-s', ctl, 'show', 'status'])).includes('Daemon is up');
          } catch {
            return false;
          }
        },
        { timeout: 30_000, what: 'bird' },
      );
      return { pids: { bird: proc.pid }, log: join(dir, 'bird.log') };
    },
  },
};

/** One daemon, one job: returns its figures. */
async function measure(key, mode, n) {
  const lab = new Lab();
  try {
    const sim = lab.namespace('sim');
    const dns = lab.namespace(key.slice(0, 4));
    lab.link(sim, dns, { a: ['10.89.0.1/24'], b: [`${DAEMON}/24`] });
    // Every client address is ours in the simulator's namespace (one `local` route), routed there from the
    // daemon's: one neighbour entry, however many clients.
    sim.ipSync('route', 'add', 'local', '10.90.0.0/16', 'dev', 'lo', 'table', 'local');
    dns.ipSync('route', 'add', '10.90.0.0/16', 'via', '10.89.0.1');
    const dir = lab.tempDir(`many-${key}`);
    const d = await DAEMONS[key].start(dns, dir, mode, n);
    const counter = mode === 'mesh' ? kernelRouteCounter(dns.name) : undefined;
    const proc = sim.spawn(
      process.execPath,
      [
        SIM,
        '--peer',
        DAEMON,
        '--first',
        FIRST,
        '--count',
        String(n),
        '--asn',
        String(ASN),
        '--hold',
        String(HOLD),
        '--mode',
        mode,
        '--cluster-id',
        DAEMON,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const events = [];
    createInterface({ input: proc.stdout }).on('line', (l) => {
      try {
        events.push(JSON.parse(l));
      } catch {
        /* not ours */
      }
    });
    const event = (name, timeout, from = 0) =>
      until(() => events.slice(from).find((e) => e.event === name), {
        timeout,
        interval: 10,
        what: `${key} ${mode} ${n}: ${name} (log ${d.log})`,
        failIf: () => (proc.exitCode !== null ? 'simulator exited' : undefined),
      });
    const t0 = Date.now();
    const converged = await event('converged', 600_000);
    let convergedMs = converged.ms;
    if (counter !== undefined) {
      await until(() => counter() >= n, {
        timeout: 600_000,
        interval: 20,
        what: `${key}: ${n} kernel routes`,
      });
      convergedMs = Math.max(convergedMs, Date.now() - t0);
    }
    const rss = {};
    for (const [name, pid] of Object.entries(d.pids)) rss[name] = procStatusKb(pid, 'VmHWM');
    // Idle: a few seconds to settle (FRR's and BIRD's periodic work, our own end of export), then measure.
    await new Promise((r) => setTimeout(r, 2000));
    const before = Object.values(d.pids).reduce((a, pid) => a + cpuTicks(pid), 0);
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const after = Object.values(d.pids).reduce((a, pid) => a + cpuTicks(pid), 0);
    const idleCpu = ((after - before) / TICK / IDLE_S) * 100;
    let reachMs;
    if (mode === 'rr') {
      const from = events.length;
      proc.stdin.write('announce 0\n');
      reachMs = (await event('reached', 120_000, from)).ms;
    }
    const statsFrom = events.length;
    proc.stdin.write('stats\n');
    const stats = await event('stats', 10_000, statsFrom);
    proc.stdin.end();
    return {
      daemon: key,
      mode,
      n,
      convergedMs,
      establishedMs: events.find((e) => e.event === 'established')?.ms,
      simCpuMs: converged.cpuMs,
      peakRssKb: Object.values(rss).reduce((a, b) => a + b, 0),
      rssKb: rss,
      idleCpuPercent: idleCpu,
      reachMs,
      backToOriginator: stats.backToOriginator,
      resets: stats.resets,
    };
  } finally {
    await lab.teardown();
  }
}

const fmt = (x, d = 2) => (x === undefined ? '—' : typeof x === 'number' ? x.toFixed(d) : String(x));
const ratio = (a, b) => (a !== undefined && b !== undefined && b > 0 ? (a / b).toFixed(2) : '—');

const QUIET = (args.quiet ?? '').split(',').filter(Boolean).map(Number);
const jobs = [
  ...QUIET.map((n) => ['quiet', n]),
  ...SIZES.map((n) => ['rr', n]),
  ...(MESH > 0 ? [['mesh', MESH]] : []),
];
const results = [];
console.log(`# many-peers ${new Date().toISOString()} load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
for (const [mode, n] of jobs) {
  const row = {};
  for (const key of ONLY) {
    try {
      const r = await measure(key, mode, n);
      row[key] = r;
      results.push(r);
      console.log(
        `${mode} ${n} ${DAEMONS[key].label}: converged ${(r.convergedMs / 1000).toFixed(2)} s ` +
          `(all up ${fmt((r.establishedMs ?? NaN) / 1000)} s, simulator CPU ${fmt(r.simCpuMs / 1000)} s), peak RSS ` +
          `${(r.peakRssKb / 1024).toFixed(0)} MB ${JSON.stringify(r.rssKb)}, idle CPU ${fmt(r.idleCpuPercent, 1)} %, ` +
          `new route to all ${fmt(r.reachMs, 0)} ms, back to originator ${r.backToOriginator}, resets ${r.resets}`,
      );
    } catch (err) {
      console.log(`${mode} ${n} ${DAEMONS[key].label}: FAILED ${err.message}`);
      results.push({ daemon: key, mode, n, error: err.message });
    }
  }
  const nb = row.nodebgp;
  for (const other of ['nodebgp-base', 'frr', 'bird']) {
    const o = row[other];
    if (nb === undefined || o === undefined) continue;
    console.log(
      `  nodebgp/${DAEMONS[other].label} (${mode} ${n}): converge ${ratio(nb.convergedMs, o.convergedMs)}, ` +
        `RSS ${ratio(nb.peakRssKb, o.peakRssKb)}, idle CPU ${ratio(nb.idleCpuPercent, o.idleCpuPercent)}, ` +
        `new route ${ratio(nb.reachMs, o.reachMs)}`,
    );
  }
}
console.log(`# done ${new Date().toISOString()} load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
if (args.json !== undefined) writeFileSync(args.json, JSON.stringify(results, null, 2));
