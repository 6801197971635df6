// The two namespaces of one measurement, from the toolkit (toolkit/netns.ts, compiled into dist/ by
// `npm run build`): the sender's (10.88.0.1) and the daemon's (10.88.0.2), one veth between them. Names are
// unique to the run; teardown kills every process in both and deletes them, also on exit and on signals.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, Netns, runSync } from '../../dist/toolkit/index.js';

export class Pair {
  constructor(label) {
    this.lab = new Lab();
    const sender = this.lab.namespace(`s-${label}`);
    const daemon = this.lab.namespace(`d-${label}`);
    this.lab.link(sender, daemon, { a: ['10.88.0.1/24'], b: ['10.88.0.2/24'] });
    this.sender = sender.name;
    this.daemon = daemon.name;
    // NODEBGP_BENCH_KEEP=1: the run's directory (logs, profiles) outlives the teardown.
    this.dir = process.env.NODEBGP_BENCH_KEEP
      ? mkdtempSync(join(tmpdir(), `nodebgp-bench-${label}-`))
      : this.lab.tempDir(`bench-${label}`);
  }

  /** Starts a process in one of the two namespaces (`ip netns exec`: the child's pid is the program's). */
  spawnIn(ns, cmd, args, opts = {}) {
    return new Netns(ns).spawn(cmd, args, opts);
  }

  /** SIGTERM every process in both namespaces (daemons shut down and write profiles), SIGKILL after 3 s. */
  teardown() {
    return this.lab.teardown();
  }
}

/**
 * Counts the IPv4 routes a routing daemon adds to the namespace's main table: the "Prefixes" line of the
 * Main table in /proc/net/fib_triestat, minus what was there when the counter was made (connected and local
 * routes). The kernel computes it by walking its whole trie: 111 ms of system time at a million routes
 * (measured here, 10 reads in a namespace holding 1M /24s), so a reading every 50 ms kept most of a core
 * busy beside the daemon being timed — worse for a daemon whose threads need both cores. So the file is
 * read through /proc/<pid>/net of a process inside the namespace (no `ip netns exec` per reading), and
 * a call made sooner than READ_SPACING times the last reading's cost after it returns the last count
 * without reading: the counter takes at most ~1/(1+READ_SPACING) of one core, and a change is seen within
 * READ_SPACING+1 readings' time (at 1M, ~0.45 s; the same for every daemon).
 */
const READ_SPACING = 3;

export function kernelRouteCounter(ns) {
  const inside = () => {
    const pid = runSync(['ip', 'netns', 'pids', ns]).split(/\s+/).find(Boolean);
    return pid === undefined ? undefined : `/proc/${pid}/net/fib_triestat`;
  };
  let path = inside();
  const text = () => {
    if (path !== undefined)
      try {
        return readFileSync(path, 'utf8');
      } catch {
        path = inside(); // that process is gone: another of the namespace's, or `ip netns exec`
      }
    return runSync(['ip', 'netns', 'exec', ns, 'cat', '/proc/net/fib_triestat']);
  };
  let last = 0;
  let lastAt = -Infinity;
  let cost = 0;
  const read = () => {
    const t0 = performance.now();
    const m = /^Main:[\s\S]*?Prefixes:\s+(\d+)/m.exec(text());
    if (!m) throw new Error(`no Main table in /proc/net/fib_triestat of ${ns}`);
    lastAt = performance.now();
    cost = lastAt - t0;
    return (last = Number(m[1]));
  };
  const base = read();
  return () => (performance.now() - lastAt < READ_SPACING * cost ? last : read()) - base;
}
