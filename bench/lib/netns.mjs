// Namespaces for the benchmarks (plain .mjs so `npm run bench` needs no TypeScript loader): unique names per
// run, and a teardown that kills every process in each namespace and deletes it, also on exit and on signals.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let counter = 0;
const live = new Set();

export function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

export function nsPids(ns) {
  try {
    return sh('ip', ['netns', 'pids', ns]).split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function killAll(ns) {
  for (let i = 0; i < 50; i += 1) {
    const pids = nsPids(ns);
    if (pids.length === 0) return;
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
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
    sh('ip', ['link', 'add', a, 'netns', this.sender, 'type', 'veth', 'peer', 'name', b, 'netns', this.daemon]);
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
    rmSync(this.dir, { recursive: true, force: true });
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

/** IPv4 routes in the namespace's main table that a routing daemon put there (anything but proto kernel). */
export function kernelRouteCount(ns) {
  const out = sh('ip', ['-n', ns, '-4', 'route', 'show', 'table', 'main']);
  let n = 0;
  for (const line of out.split('\n')) if (line !== '' && !line.includes('proto kernel')) n += 1;
  return n;
}

export function peakRssKb(pid) {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(sh('cat', [`/proc/${pid}/status`]));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
