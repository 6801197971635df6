// The two namespaces of one measurement, from the toolkit (toolkit/netns.ts, compiled into dist/ by
// `npm run build`): the sender's (10.88.0.1) and the daemon's (10.88.0.2), one veth between them. Names are
// unique to the run; teardown kills every process in both and deletes them, also on exit and on signals.
import { mkdtempSync } from 'node:fs';
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
 * Main table in /proc/net/fib_triestat, which the kernel computes by walking its trie, minus what was
 * there when the counter was made (connected and local routes). Unlike parsing `ip route` (1-2 s of
 * formatting and parsing at a million routes) a reading takes milliseconds, so the time until all
 * routes are in (or gone) is seen within a polling interval, for every daemon alike.
 */
export function kernelRouteCounter(ns) {
  const read = () => {
    const stat = runSync(['ip', 'netns', 'exec', ns, 'cat', '/proc/net/fib_triestat']);
    const m = /^Main:[\s\S]*?Prefixes:\s+(\d+)/m.exec(stat);
    if (!m) throw new Error(`no Main table in /proc/net/fib_triestat of ${ns}`);
    return Number(m[1]);
  };
  const base = read();
  return () => read() - base;
}
