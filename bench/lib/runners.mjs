// One runner per daemon: start it in a namespace, let the sender (sender.mjs, in a second namespace) stream
// N prefixes at it, and measure from the moment the session is Established until the daemon holds all N (in
// its RIB, or in its namespace's kernel table for the FIB runs), then from the moment the TCP session is dropped
// until all N are gone again. Peak RSS is VmHWM of the daemon process(es) at the end of the load, and again at
// the end of the drop (the whole run's peak).
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { existsSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { frrLog, procStatusKb, runSync, startFrr, startLogged, until } from '../../dist/toolkit/index.js';
import { kernelRouteCounter, Pair } from './pair.mjs';

const HERE = import.meta.dirname;
const REPO = join(HERE, '..', '..');
export const NODEBGP_BIN = join(REPO, 'bin', 'nodebgp');
const SENDER = join(HERE, 'sender.mjs');
const FIRST_ROUTE = join(HERE, 'first-route.mjs');

/** JSON lines of a child's stdout → `events` (first of each kind kept). */
function collectEvents(child, events) {
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      const e = JSON.parse(line);
      events[e.event] ??= e;
    } catch {
      /* not ours */
    }
  });
}

/**
 * A CPU hog: a busy loop pinned to CPU 0 (taskset), beside whichever daemon runs, for the "busy machine"
 * figures. The daemons themselves are not pinned: each competes for the same cores as in production.
 */
export function startHog() {
  const hog = spawn('taskset', ['-c', '0', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' });
  return () => hog.kill('SIGKILL');
}

function inNs(ns, cmd, args) {
  return runSync(['ip', 'netns', 'exec', ns, cmd, ...args]);
}

/** Start a long-running daemon process inside `ns`, logging into dir/<name>.log. */
function daemon(pair, name, cmd, args, env) {
  const log = join(pair.dir, `${name}.log`);
  const proc = startLogged(['ip', 'netns', 'exec', pair.daemon, cmd, ...args], log, { env });
  return { name, proc, log };
}

export const RUNNERS = {
  gobgp: {
    label: 'GoBGP 3 (RIB)',
    kind: 'rib',
    async start(pair) {
      const conf = join(pair.dir, 'gobgpd.toml');
      writeFileSync(
        conf,
        `[global.config]\n  as = 65002\n  router-id = "10.88.0.2"\n  local-address-list = ["10.88.0.2"]\n` +
          `[[neighbors]]\n  [neighbors.config]\n    neighbor-address = "10.88.0.1"\n    peer-as = 65001\n` +
          `  [neighbors.timers.config]\n    hold-time = 240\n`,
      );
      const d = daemon(pair, 'gobgpd', 'gobgpd', [
        '-f',
        conf,
        '--api-hosts',
        '127.0.0.1:50051',
        '--pprof-disable',
        '-l',
        'warn',
      ]);
      const summary = () =>
        inNs(pair.daemon, 'gobgp', ['-p', '50051', 'global', 'rib', 'summary', '-a', 'ipv4']);
      await until(
        () => {
          try {
            return summary().includes('Destination');
          } catch {
            return false;
          }
        },
        { timeout: 20_000, what: 'gobgpd API' },
      );
      return {
        processes: [d],
        count: () => Number(/Destination:\s*(\d+)/.exec(summary())?.[1] ?? 0),
      };
    },
  },
  'bird-rib': birdRunner(false),
  'bird-fib': birdRunner(true),
  frr: {
    label: 'FRR 8.4 bgpd+zebra (FIB)',
    kind: 'fib',
    async start(pair) {
      const frr = await startFrr({
        ns: pair.daemon,
        dir: pair.dir,
        configs: {
          zebra: 'hostname bench\n',
          bgpd:
            'hostname bench\nrouter bgp 65002\n bgp router-id 10.88.0.2\n no bgp ebgp-requires-policy\n' +
            ' neighbor 10.88.0.1 remote-as 65001\n neighbor 10.88.0.1 timers 80 240\n',
        },
        args: { zebra: ['-s', '90000000'] },
      });
      const processes = ['bgpd', 'zebra'].map((name) => ({
        name,
        proc: frr.processes.get(name),
        log: frrLog(pair.dir, name),
      }));
      return { processes, count: kernelRouteCounter(pair.daemon) };
    },
  },
  'nodebgp-rib': nodebgpRunner(false),
  'nodebgp-fib': nodebgpRunner(true),
  // Another checkout of nodebgp (NODEBGP_BENCH_BASE=/path, built), for before/after figures in one run.
  'nodebgp-fib-base': nodebgpRunner(true, process.env.NODEBGP_BENCH_BASE),
};

function birdRunner(kernel) {
  return {
    label: kernel ? 'BIRD 2 (FIB, kernel export)' : 'BIRD 2 (RIB)',
    kind: kernel ? 'fib' : 'rib',
    async start(pair) {
      const conf = join(pair.dir, 'bird.conf');
      const ctl = join(pair.dir, 'bird.ctl');
      writeFileSync(
        conf,
        `router id 10.88.0.2;\nprotocol device {}\n` +
          (kernel ? 'protocol kernel { ipv4 { export all; import none; }; }\n' : '') +
          `protocol bgp sender { local 10.88.0.2 as 65002; neighbor 10.88.0.1 as 65001; hold time 240;\n` +
          `  ipv4 { import all; export none; }; }\n`,
      );
      const d = daemon(pair, 'bird', 'bird', ['-f', '-c', conf, '-s', ctl, '-P', join(pair.dir, 'bird.pid')]);
      const birdc = (...a) => inNs(pair.daemon, 'birdc', ['-s', ctl, ...a]);
      await until(
        () => {
          try {
            return birdc('show', 'status').includes('Daemon is up');
          } catch {
            return false;
          }
        },
        { timeout: 10_000, what: 'bird' },
      );
      return {
        processes: [d],
        count: kernel
          ? kernelRouteCounter(pair.daemon)
          : () => Number(/(\d+) of \d+ routes/.exec(birdc('show', 'route', 'count'))?.[1] ?? 0),
      };
    },
  };
}

function nodebgpRunner(kernel, base) {
  const repo = base ?? REPO;
  const bin = join(repo, 'bin', 'nodebgp');
  return {
    label: `nodebgp (${kernel ? 'FIB' : 'RIB'}${base ? ', base' : ''})`,
    kind: kernel ? 'fib' : 'rib',
    available: () => existsSync(bin) && existsSync(join(repo, 'dist', 'daemon', 'cli', 'main.js')),
    async start(pair) {
      const socket = join(pair.dir, 'nodebgp.sock');
      const conf = join(pair.dir, 'nodebgp.yaml');
      writeFileSync(
        conf,
        [
          'asn: 65002',
          'routerId: 10.88.0.2',
          'listen: { address: 10.88.0.2, port: 179 }',
          'node: { address: 10.88.0.2, podCIDRs: [10.244.2.0/24] }',
          'peers: [ { address: 10.88.0.1, asn: 65001, holdTime: 240, passive: true } ]',
          // Every route the sender makes (nodebgp accepts nothing from a peer without import rules).
          'importPrefixes: [ { prefix: 0.0.0.0/0, le: 32 }, { prefix: "::/0", le: 128 } ]',
          `kernel: { enabled: ${kernel} }`,
          `controlSocket: ${socket}`,
          `log: { level: ${process.env.NODEBGP_BENCH_LOG ?? 'warn'} }`,
          '',
        ].join('\n'),
      );
      // NODEBGP_BENCH_NODE_ARGS: extra Node.js options for the daemon, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof';
      // NODEBGP_BENCH_LOG=debug logs the FIB's passes (fib-reconciled) into the run's directory, which
      // NODEBGP_BENCH_KEEP=1 keeps (lib/pair.mjs).
      const nodeArgs = (process.env.NODEBGP_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
      const d = daemon(pair, 'nodebgp', process.execPath, [...nodeArgs, bin, 'run', '--config', conf]);
      // The control API is asked directly over its Unix socket: spawning the CLI (a Node.js start, ~0.2 s on this
      // machine) for every poll would time the CLI, not the daemon; birdc and gobgp are cheap to start.
      const neighbors = () => controlGet(socket, '/neighbors');
      await until(
        async () => {
          try {
            return Array.isArray(await neighbors());
          } catch {
            return false;
          }
        },
        { timeout: 20_000, what: 'nodebgp control socket' },
      );
      return {
        processes: [d],
        count: kernel
          ? kernelRouteCounter(pair.daemon)
          : async () => (await neighbors()).find((n) => n.address === '10.88.0.1')?.accepted ?? 0,
      };
    },
  };
}

/** GET a JSON body from nodebgp's control API on its Unix socket. */
export function controlGet(socketPath, path) {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The daemon's own pid: `ip netns exec … cmd` execs in place, so it is proc.pid. */
const pidOf = (p) => p.proc.pid;

/** How long a load or a drop may take before the run counts as failed (GoBGP needs ~30 s at 1M). */
const LOAD_TIMEOUT_MS = 600_000;

export async function measure(key, n, { log = () => {}, hog = false } = {}) {
  const runner = RUNNERS[key];
  const pair = new Pair(key.replace(/[^a-z]/g, '').slice(0, 6));
  const stopHog = hog ? startHog() : () => {};
  try {
    const d = await runner.start(pair);
    // A daemon that dies mid-run ends the measurement at once instead of after the 10-minute timeout.
    const exited = () => {
      const dead = d.processes.find((p) => p.proc.exitCode !== null || p.proc.signalCode !== null);
      return dead ? `${dead.name} exited; see ${dead.log}` : undefined;
    };
    const load = { timeout: LOAD_TIMEOUT_MS, interval: 50, failIf: exited };
    // For the FIB runs: the kernel's first notification of one of the sender's routes, timed in the namespace.
    const watch = {};
    if (runner.kind === 'fib') {
      const w = pair.spawnIn(pair.daemon, process.execPath, [FIRST_ROUTE], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      collectEvents(w, watch);
      await until(() => watch.listening, { timeout: 10_000, interval: 5, what: 'first-route watcher' });
    }
    const sender = pair.spawnIn(
      pair.sender,
      process.execPath,
      [SENDER, '--peer', '10.88.0.2', '--local', '10.88.0.1', '--asn', '65001', '--count', String(n)],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const events = {};
    const waiters = [];
    createInterface({ input: sender.stdout }).on('line', (line) => {
      try {
        const e = JSON.parse(line);
        events[e.event] ??= e;
        for (const w of waiters) w();
      } catch {
        /* not ours */
      }
    });
    const event = (name, timeout) =>
      until(() => events[name], { timeout, interval: 5, what: `sender ${name}`, failIf: exited });
    const established = await event('established', 60_000);
    log(`  ${key} ${n}: established`);
    await until(async () => (await d.count()) >= n, { ...load, what: `${key}: ${n} routes` });
    const loaded = Date.now();
    // VmHWM of each of the daemon's processes: read after the load, and again after the drop.
    const hwm = () => Object.fromEntries(d.processes.map((p) => [p.name, procStatusKb(pidOf(p), 'VmHWM')]));
    const total = (kb) => Object.values(kb).reduce((a, b) => a + b, 0);
    const rss = hwm();
    log(`  ${key} ${n}: loaded in ${((loaded - established.t) / 1000).toFixed(2)} s`);
    if (runner.kind === 'fib')
      await until(() => watch['first-route'], { timeout: 5000, interval: 5, what: 'first route' });
    const dropAt = Date.now();
    sender.stdin.write('close\n');
    await until(async () => (await d.count()) === 0, { ...load, what: `${key}: routes gone` });
    const gone = Date.now();
    // The whole run's peak, with whatever followed the load (a FIB's resync dump, the drop): the figure after
    // the load alone missed those. The larger of the two readings per process: the kernel updates VmHWM
    // lazily, and pages freed without an unmap can make the later reading the smaller (BIRD at 20k: 6.6 then
    // 6.3 MB).
    const end = hwm();
    const runRss = total(Object.fromEntries(Object.entries(end).map(([k, v]) => [k, Math.max(v, rss[k])])));
    return {
      daemon: key,
      label: runner.label,
      kind: runner.kind,
      prefixes: n,
      loadSeconds: (loaded - established.t) / 1000,
      senderDoneSeconds: events.sent ? (events.sent.t - established.t) / 1000 : undefined,
      withdrawSeconds: (gone - dropAt) / 1000,
      firstRouteMs: watch['first-route'] ? watch['first-route'].t - established.t : undefined,
      hog,
      peakRssKb: rss,
      peakRssTotalKb: total(rss),
      runPeakRssKb: runRss,
    };
  } finally {
    stopHog();
    await pair.teardown();
  }
}
