#!/usr/bin/env node
// npm run bench [-- --sizes 100000,1000000] [--only gobgp,bird-rib,bird-fib,frr,nodebgp-rib,nodebgp-fib]
//                 [--rounds N] [--hog]
//
// Side by side: the same hand-encoded stream (lib/sender.mjs: N IPv4 /24s, ~1000 per UPDATE, one attribute set)
// into GoBGP, BIRD, FRR and nodebgp, each in its own network namespace pair. For each daemon and size:
//   load     seconds from Established until the daemon holds all N routes — in its RIB (GoBGP `global rib
//            summary`, BIRD `show route count`, nodebgp `neighbors --json` accepted) or in its namespace's kernel
//            table (BIRD with kernel export, FRR bgpd+zebra, nodebgp with kernel.enabled)
//   drop     seconds from dropping the TCP session until all N are gone again (same counter)
//   peak RSS VmHWM of the daemon process(es) after the load (FRR: bgpd + zebra); "run peak": VmHWM after the
//            drop, the whole run's peak (a FIB's resync after the load included)
//   first    FIB runs: ms from Established (the sender's first UPDATE follows at once) until the kernel
//            announces the first of the routes (lib/first-route.mjs listens inside the namespace)
// --rounds N repeats the whole list N times, alternating the daemons (A B A B …), and prints each ratio as the
// median over the rounds with its range: on a shared machine one run of each means little. --hog runs a busy
// loop pinned to CPU 0 during every measurement (lib/runners.mjs startHog).
// Ratios are against nodebgp of the same kind (RIB vs RIB, FIB vs FIB). Needs root. Results are also written to
// bench/results/<date>.json.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// The namespaces and the FRR starter are the toolkit's (toolkit/), compiled by `npm run build` (npm run bench
// builds first).
if (!existsSync(new URL('../dist/toolkit/index.js', import.meta.url))) {
  console.error('bench: dist/toolkit/index.js is missing: run npm run build first');
  process.exit(1);
}
const { measure, RUNNERS } = await import('./lib/runners.mjs');

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : def;
};
const sizes = opt('sizes', '100000,1000000').split(',').map(Number);
const only = opt('only', Object.keys(RUNNERS).join(',')).split(',');
const rounds = Number(opt('rounds', '1'));
const hog = argv.includes('--hog');

if (process.getuid?.() !== 0) {
  console.error('bench: run as root (network namespaces, kernel routes)');
  process.exit(1);
}

const results = [];
for (let round = 1; round <= rounds; round++)
  for (const n of sizes) {
    for (const key of only) {
      const runner = RUNNERS[key];
      if (!runner) throw new Error(`unknown runner ${key}`);
      if (runner.available && !runner.available()) {
        console.log(`skipping ${key}: bin/nodebgp or dist/ is missing (npm run build)`);
        continue;
      }
      try {
        results.push({ round, ...(await measure(key, n, { log: (s) => console.log(s), hog })) });
      } catch (err) {
        console.log(`  ${key} ${n}: FAILED ${err.message}`);
      }
    }
  }

const mb = (kb) => (kb / 1024).toFixed(1);
const rows = [
  [
    'round',
    'daemon',
    'prefixes',
    'first ms',
    'load s',
    'drop s',
    'peak RSS MB',
    'run peak MB',
    'load ×nodebgp',
    'RSS ×nodebgp',
  ],
];
for (const r of results) {
  const ref = results.find(
    (x) =>
      x.daemon.startsWith('nodebgp') && x.kind === r.kind && x.prefixes === r.prefixes && x.round === r.round,
  );
  const ratio = (a, b) => (ref ? (a / b).toFixed(2) : 'n/a');
  const rss =
    Object.entries(r.peakRssKb).length > 1
      ? `${mb(r.peakRssTotalKb)} (${Object.entries(r.peakRssKb)
          .map(([k, v]) => `${k} ${mb(v)}`)
          .join(', ')})`
      : mb(r.peakRssTotalKb);
  rows.push([
    String(r.round),
    r.label,
    String(r.prefixes),
    r.firstRouteMs === undefined ? '' : String(r.firstRouteMs),
    r.loadSeconds.toFixed(2),
    r.withdrawSeconds.toFixed(2),
    rss,
    r.runPeakRssKb === undefined ? '' : mb(r.runPeakRssKb),
    ref ? ratio(r.loadSeconds, ref.loadSeconds) : 'n/a',
    ref ? ratio(r.peakRssTotalKb, ref.peakRssTotalKb) : 'n/a',
  ]);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
console.log('');
for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  '));
// Per round, nodebgp's time over each other daemon's of the same kind (below 1: nodebgp faster); the median
// and range over the rounds.
const summary = [];
for (const n of sizes)
  for (const key of only) {
    const kind = RUNNERS[key].kind;
    if (key === `nodebgp-${kind}`) continue;
    const ratios = { load: [], drop: [] };
    for (let round = 1; round <= rounds; round++) {
      const o = results.find((x) => x.daemon === key && x.prefixes === n && x.round === round);
      const me = results.find((x) => x.daemon === `nodebgp-${kind}` && x.prefixes === n && x.round === round);
      if (!o || !me) continue;
      ratios.load.push(me.loadSeconds / o.loadSeconds);
      ratios.drop.push(me.withdrawSeconds / o.withdrawSeconds);
    }
    if (!ratios.load.length) continue;
    const med = (a) => {
      const v = [...a].sort((x, y) => x - y);
      const m = v.length >> 1;
      return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
    };
    const fmt = (a) => `${med(a).toFixed(2)} (${Math.min(...a).toFixed(2)}–${Math.max(...a).toFixed(2)})`;
    summary.push({ n, key, load: ratios.load, drop: ratios.drop });
    console.log(
      `nodebgp-${kind} / ${key} at ${n}${hog ? ' (hog)' : ''}: load ${fmt(ratios.load)}, drop ${fmt(ratios.drop)} over ${ratios.load.length} rounds`,
    );
  }
const outDir = join(import.meta.dirname, 'results');
mkdirSync(outDir, { recursive: true });
const file = join(outDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  `${JSON.stringify({ date: new Date().toISOString(), hog, results, summary }, null, 2)}\n`,
);
console.log(`\nresults: ${file}`);
