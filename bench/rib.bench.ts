/**
 * RIB throughput: run with `npx vitest bench --run --project unit bench/rib.bench.ts`
 * (without `--project unit` vitest runs it once per project in vitest.config.ts, i.e. twice).
 *
 * One eBGP peer sends 1,000,000 IPv4 /24s in 1,000 UPDATEs of 1,000 prefixes that share one attributes
 * object (what a full-table peer looks like after interning). Measured, each as a whole run:
 *   - apply: Adj-RIB-In + decision + Loc-RIB change batches for all 1,000 UPDATEs;
 *   - export: one iBGP Adj-RIB-Out taking the whole table as packed groups;
 *   - peerDown: withdrawing all 1,000,000 prefixes;
 *   - second peer: another eBGP peer of the same AS sends the same table, every prefix becomes a 2-path ECMP
 *     route (the Loc-RIB change batches carry the new next-hop pair).
 * Each stage prints its own time, prefixes/s and retained heap per prefix (measured after a forced GC) —
 * those lines are the figures; vitest's table times the whole iteration including the 1M-prefix fill.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { bench, describe } from 'vitest';
import { AFI_IPV4 } from '../bgp/prefix.js';
import { ipv4Key } from '../ip/prefix.js';
import { AdjRibOut } from '../bgp/rib/adj-rib-out.js';
import { LocRib } from '../bgp/rib/loc-rib.js';
import type { RibPeer } from '../bgp/rib/peer.js';
import type { PathAttributes, UpdateMessage } from '../bgp/wire/types.js';
import { MESSAGE_UPDATE } from '../bgp/wire/iana.js';

const PREFIXES = 1_000_000;
const PER_UPDATE = 1_000;

const upstream: RibPeer = {
  address: '192.0.2.1',
  asn: 65001,
  localAsn: 65000,
  ibgp: false,
  bgpId: '192.0.2.1',
  routeReflectorClient: false,
  localAddress: '192.0.2.254',
  fourOctetAs: true,
};
const node: RibPeer = { ...upstream, address: '10.0.0.2', asn: 65000, ibgp: true, bgpId: '10.0.0.2' };

const attributes: PathAttributes = Object.freeze({
  origin: 0,
  asPath: Object.freeze([Object.freeze({ type: 2 as const, asns: Object.freeze([65001, 64512, 64513]) })]),
  med: 10,
  communities: Object.freeze([65001 * 65536 + 100]),
});

function updates(nextHop = '192.0.2.1'): UpdateMessage[] {
  const out: UpdateMessage[] = [];
  for (let u = 0; u < PREFIXES / PER_UPDATE; u++) {
    const prefixes: number[] = new Array(PER_UPDATE);
    for (let i = 0; i < PER_UPDATE; i++)
      prefixes[i] = ipv4Key((0x0b000000 + (u * PER_UPDATE + i) * 256) >>> 0, 24);
    out.push({
      type: MESSAGE_UPDATE,
      withdrawn: [],
      reach: [{ afi: AFI_IPV4, safi: 1, nextHop, prefixes }],
      attributes,
      issues: [],
    });
  }
  return out;
}

const messages = updates();
const secondMessages = updates('192.0.2.2');
// Expose V8's gc() to this process without a command-line flag, for the heap figures.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heap(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

function report(stage: string, ms: number, extra = ''): void {
  const rate = Math.round(PREFIXES / (ms / 1000)).toLocaleString('en');
  console.log(`${stage}: ${ms.toFixed(0)} ms, ${rate} prefixes/s${extra}`);
}

function fill(): { rib: LocRib; ms: number; bytesPerPrefix: number } {
  const before = heap();
  const rib = new LocRib({ localAsn: 65000, routerId: '10.0.0.1' });
  rib.addPeer(upstream);
  const t0 = performance.now();
  let changed = 0;
  for (const m of messages) changed += rib.applyUpdate(upstream.address, m, 0).prefixes.length;
  const ms = performance.now() - t0;
  if (changed !== PREFIXES) throw new Error(`expected ${PREFIXES} changes, got ${changed}`);
  return { rib, ms, bytesPerPrefix: (heap() - before) / PREFIXES };
}

describe('rib, 1M IPv4 /24 from one peer in 1,000 UPDATEs', () => {
  bench(
    'apply (Adj-RIB-In + decision + Loc-RIB changes)',
    () => {
      const { ms, bytesPerPrefix } = fill();
      report('apply', ms, `, heap ${bytesPerPrefix.toFixed(0)} B/prefix`);
    },
    { iterations: 3, warmupIterations: 1 },
  );

  bench(
    'export (iBGP Adj-RIB-Out, whole table)',
    () => {
      const { rib } = fill();
      const before = heap();
      const t0 = performance.now();
      const out = new AdjRibOut(node, rib);
      const pending = out.takePending();
      const ms = performance.now() - t0;
      if (pending.announce.length !== 1) throw new Error('expected one packing group');
      const bytes = (heap() - before) / PREFIXES;
      report(
        'export',
        ms,
        `, ${pending.announce.length} group(s), Adj-RIB-Out heap ${bytes.toFixed(0)} B/prefix`,
      );
    },
    { iterations: 3, warmupIterations: 1 },
  );

  bench(
    'second peer, same table (ECMP)',
    () => {
      const { rib } = fill();
      const second: RibPeer = { ...upstream, address: '192.0.2.2', bgpId: '192.0.2.2' };
      rib.addPeer(second);
      const before = heap();
      const t0 = performance.now();
      let changed = 0;
      for (const m of secondMessages) changed += rib.applyUpdate(second.address, m, 0).prefixes.length;
      const ms = performance.now() - t0;
      if (changed !== PREFIXES) throw new Error(`expected ${PREFIXES} changes, got ${changed}`);
      const bytes = (heap() - before) / PREFIXES;
      report('second peer (ECMP)', ms, `, heap +${bytes.toFixed(0)} B/prefix`);
    },
    { iterations: 3, warmupIterations: 1 },
  );

  bench(
    'peerDown (withdraw 1M)',
    () => {
      const { rib } = fill();
      const t0 = performance.now();
      const changes = rib.peerDown(upstream.address);
      const ms = performance.now() - t0;
      if (changes.prefixes.length !== PREFIXES || rib.size !== 0) throw new Error('peerDown left routes');
      report('peerDown', ms);
    },
    { iterations: 3, warmupIterations: 1 },
  );
});
