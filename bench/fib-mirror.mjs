#!/usr/bin/env node
// The FIB mirror's own CPU, without a kernel: npm run build && node bench/fib-mirror.mjs [--count N]
//                                                                  [--rounds R] [--base /other/checkout]
//
// A million IPv4 /24s wanted via one next hop, handed to routing/mirror.ts in 1,000-prefix pieces (one UPDATE
// each), compared, taken as 64 KiB batches and encoded (routing/batch.ts) as the shell would, and answered at
// once (everything succeeds; four batches stay unanswered at a time); then all withdrawn the same way. Prints
// the process CPU time (user + system) of each load and each drop. No root, no kernel: this times our own
// work per route, which is what the main thread spends beside BGP decoding; the kernel's work is timed in
// bench/run.mjs and bench/kernel-raw.mjs. With --base the same rounds run against another built checkout,
// alternating, so before/after figures come from one run (the machine is shared: compare within a run).
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const count = Number(opt('count', '1000000'));
const rounds = Number(opt('rounds', '3'));
const base = opt('base', undefined);
const self = fileURLToPath(import.meta.url);
const here = resolve(self, '../..');

if (argv[0] === '--child') {
  await child(argv[1], Number(argv[2]));
} else {
  for (let r = 1; r <= rounds; r++)
    for (const [label, root] of base
      ? [
          ['this', here],
          ['base', resolve(base)],
        ]
      : [['this', here]]) {
      const out = spawnSync(process.execPath, [self, '--child', root, String(count)], {
        encoding: 'utf8',
      });
      if (out.status !== 0) throw new Error(`${label}: ${out.stderr}`);
      console.log(`round ${r} ${label.padEnd(4)} ${out.stdout.trim()}`);
    }
}

async function child(root, n) {
  const { FibMirror } = await import(`${root}/dist/routing/mirror.js`);
  const { encodeBatch, BATCH_BYTES, SEQ_PER_BATCH } = await import(`${root}/dist/routing/batch.js`);
  const m = new FibMirror({
    table: 254,
    metric: 20,
    protocol: 202,
    nexthopResolution: 'as-given',
    monitorCapacity: 32768,
    emit: () => {},
  });
  const now = 1;
  m.start({ links: [], addrs: [], routes: [], nexthops: undefined }, now);
  const buf = Buffer.alloc(BATCH_BYTES);
  const inflight = [];
  const pump = (all) => {
    for (
      let ops = m.takeWrites(SEQ_PER_BATCH, BATCH_BYTES);
      ops;
      ops = m.takeWrites(SEQ_PER_BATCH, BATCH_BYTES)
    ) {
      encodeBatch(ops, m.shapes, (s) => m.keyOf(s), 1, buf);
      inflight.push(ops);
    }
    while (inflight.length > (all ? 0 : 4)) m.answer(inflight.shift(), undefined, 0, now);
  };
  const run = (want) => {
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i += 1000) {
      for (let j = i; j < Math.min(n, i + 1000); j++) m.set((0x0b000000 + j * 256) * 64 + 24, want, now);
      m.reconcile(now);
      pump(false);
    }
    while (m.hasDirty || m.hasWrites || inflight.length) {
      m.reconcile(now);
      pump(!m.hasDirty && !m.hasWrites);
    }
    const u = process.cpuUsage(t0);
    return (u.user + u.system) / 1000;
  };
  const load = run(['10.0.0.2']);
  if (m.stats().installed !== n) throw new Error(`installed ${m.stats().installed} of ${n}`);
  const drop = run(null);
  if (m.stats().wanted !== 0) throw new Error(`${m.stats().wanted} left after the drop`);
  console.log(`${n} prefixes: load ${load.toFixed(0)} ms, drop ${drop.toFixed(0)} ms`);
}
