// Namespaces for the benchmarks (plain .mjs so `npm run bench` needs no TypeScript loader): unique names per
// run, and a teardown that kills every process in each namespace and deletes it, also on exit and on signals.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let counter = 0;
const live = new Set();

export function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...opts,
  });
}

export function nsPids(ns) {
  try {
    return sh('ip', ['netns', 'pids', ns]).split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** SIGTERM every process in `ns` (daemons shut down and write profiles), then SIGKILL what is left after 3 s. */
function killAll(ns) {
  const signal = (sig) => {
    for (const p of nsPids(ns)) {
      try {
        process.kill(p, sig);
      } catch {
        /* gone */
      }
    }
  };
  signal('SIGTERM');
  for (let i = 0; i < 30 && nsPids(ns).length > 0; i += 1) sh('sleep', ['0.1']);
  for (let i = 0; i < 50 && nsPids(ns).length > 0; i += 1) {
    signal('SIGKILL');
    sh('sleep', ['0.1']);
  }
}

export class Pair {
  constructor(label) {
    counter += 1;
    const id = `nbb${process.pid % 10000}${counter}`;
    this.sender = `${id}-s-${label}`;
    this.daemon = `${id}-d-${label}`;
    this.dir = mkdtempSync(join(tmpdir(), `nodebgp-bench-${label}-`));
    sh('chmod', ['755', this.dir]);
    sh('ip', ['netns', 'add', this.sender]);
    sh('ip', ['netns', 'add', this.daemon]);
    live.add(this);
    const a = `${id}a`;
    const b = `${id}b`;
    sh('ip', [
      'link',
      'add',
      a,
      'netns',
      this.sender,
      'type',
      'veth',
      'peer',
      'name',
      b,
      'netns',
      this.daemon,
    ]);
    sh('ip', ['-n', this.sender, 'addr', 'add', '10.88.0.1/24', 'dev', a]);
    sh('ip', ['-n', this.daemon, 'addr', 'add', '10.88.0.2/24', 'dev', b]);
    for (const [ns, dev] of [
      [this.sender, a],
      [this.daemon, b],
    ]) {
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    }
  }

  spawnIn(ns, cmd, args, opts = {}) {
    return spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'ignore', ...opts });
  }

  teardown() {
    killAll(this.sender);
    killAll(this.daemon);
    for (const ns of [this.sender, this.daemon]) {
      try {
        sh('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        /* gone */
      }
    }
    if (!process.env.NODEBGP_BENCH_KEEP) rmSync(this.dir, { recursive: true, force: true });
    live.delete(this);
  }
}

process.on('exit', () => {
  for (const p of live) p.teardown();
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    for (const p of live) p.teardown();
    process.exit(130);
  });
}

export async function waitUntil(probe, { timeout = 600_000, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * Counts the IPv4 routes a routing daemon adds to the namespace's main table: the "Prefixes" line of the
 * Main table in /proc/net/fib_triestat, which the kernel computes by walking its trie, minus what was
 * there when the counter was made (connected and local routes). Unlike parsing `ip route` (1-2 s of
 * formatting and parsing at a million routes) a reading takes milliseconds, so the time until all
 * routes are in (or gone) is seen within a polling interval, for every daemon alike.
 */
export function kernelRouteCounter(ns) {
  const read = () => {
    const stat = sh('ip', ['netns', 'exec', ns, 'cat', '/proc/net/fib_triestat']);
    const m = /^Main:[\s\S]*?Prefixes:\s+(\d+)/m.exec(stat);
    if (!m) throw new Error(`no Main table in /proc/net/fib_triestat of ${ns}`);
    return Number(m[1]);
  };
  const base = read();
  return () => read() - base;
}

export function peakRssKb(pid) {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(sh('cat', [`/proc/${pid}/status`]));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
