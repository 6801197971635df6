/**
 * Random announce / withdraw / peer-down / local-route sequences from several peers. After every step the
 * Loc-RIB must agree with a brute-force recomputation written independently of decision.ts (tuples compared
 * lexicographically), and replaying every emitted change in order must reproduce the final next-hop table.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdjRibOut } from '../../../../bgp/rib/adj-rib-out.js';
import { LocRib } from '../../../../bgp/rib/loc-rib.js';
import type { RibPeer } from '../../../../bgp/rib/peer.js';
import type { PrefixKey } from '../../../../ip/prefix.js';
import type { PathAttributes } from '../../../../bgp/wire/types.js';
// `key` is this file's comparison key below, so the prefix helper goes by `prefix` here.
import { key as prefix } from '../../../support/prefix.js';
import { announce, attrs, LOCAL_ASN, peer, ROUTER_ID, withdraw } from './helpers.js';

const PEERS: RibPeer[] = [
  peer('192.0.2.1', 65001),
  peer('192.0.2.2', 65001),
  peer('192.0.2.3', 65002),
  peer('10.0.0.2', LOCAL_ASN, { bgpId: '10.0.0.2' }),
  peer('10.0.0.10', LOCAL_ASN, { bgpId: '10.0.0.3', routeReflectorClient: true }),
];
const PREFIXES: PrefixKey[] = [
  prefix('10.244.0.0/24'),
  prefix('10.244.1.0/24'),
  prefix('10.0.0.0/8'),
  prefix('fd00:244::/64'),
];
const NEXT_HOPS = ['192.0.2.1', '192.0.2.9', '10.0.0.2'];

/** A pool of interned attributes; the eBGP ones start with the sending peer's AS (set at announce time). */
const POOL: PathAttributes[] = [];
for (const localPref of [undefined, 200])
  for (const med of [undefined, 10])
    for (const extra of [[], [65100]])
      for (const origin of [0, 2] as const) POOL.push(attrs({ path: extra, localPref, med, origin }));
const LOOPED = attrs({ path: [65100, LOCAL_ASN] });
POOL.push(LOOPED, attrs({ originatorId: ROUTER_ID }), attrs({ originatorId: '10.0.0.1' }));

/** Per-peer AS prepend, interned so the same (peer AS, pool entry) is the same object. */
const prepended = new Map<string, PathAttributes>();
function forPeer(x: RibPeer, a: PathAttributes): PathAttributes {
  if (x.ibgp) return a;
  const key = `${x.asn}/${POOL.indexOf(a)}`;
  let out = prepended.get(key);
  if (out === undefined) {
    const seq = a.asPath[0]?.asns ?? [];
    out = Object.freeze({ ...a, asPath: [{ type: 2 as const, asns: [x.asn, ...seq] }] });
    prepended.set(key, out);
  }
  return out;
}

type Op =
  | { kind: 'announce'; peer: number; attr: number; nextHop: number; prefixes: number[]; withdrawn: number[] }
  | { kind: 'withdraw'; peer: number; prefixes: number[] }
  | { kind: 'down'; peer: number }
  | { kind: 'restart'; peer: number }
  | { kind: 'sweep'; peer: number }
  | { kind: 'local'; prefixes: number[] };

const prefixSet = fc.uniqueArray(fc.nat(PREFIXES.length - 1), { minLength: 1, maxLength: PREFIXES.length });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('announce' as const),
    peer: fc.nat(PEERS.length - 1),
    attr: fc.nat(POOL.length - 1),
    nextHop: fc.nat(NEXT_HOPS.length - 1),
    prefixes: prefixSet,
    withdrawn: fc.uniqueArray(fc.nat(PREFIXES.length - 1), { maxLength: 2 }),
  }),
  fc.record({ kind: fc.constant('withdraw' as const), peer: fc.nat(PEERS.length - 1), prefixes: prefixSet }),
  fc.record({ kind: fc.constant('down' as const), peer: fc.nat(PEERS.length - 1) }),
  fc.record({ kind: fc.constant('restart' as const), peer: fc.nat(PEERS.length - 1) }),
  fc.record({ kind: fc.constant('sweep' as const), peer: fc.nat(PEERS.length - 1) }),
  fc.record({ kind: fc.constant('local' as const), prefixes: fc.uniqueArray(fc.nat(PREFIXES.length - 1)) }),
);

interface ModelPath {
  peer: RibPeer | null;
  a: PathAttributes;
  nextHop: string;
}

function ipNum(s: string): number {
  return s.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** The comparison key, lower is better: [-localPref, notLocal, asLen, origin, MED, iBGP, routerId, clusters, peer]. */
function key(m: ModelPath): number[] {
  const ebgp = m.peer !== null && !m.peer.ibgp;
  const asLen = m.a.asPath.reduce((n, s) => n + (s.type === 2 ? s.asns.length : s.type === 1 ? 1 : 0), 0);
  return [
    -(ebgp ? 100 : (m.a.localPref ?? 100)),
    m.peer === null ? 0 : 1,
    asLen,
    m.a.origin ?? 0,
    m.a.med ?? 0,
    ebgp ? 0 : 1,
    ipNum(m.a.originatorId ?? m.peer?.bgpId ?? '0.0.0.0'),
    m.a.clusterList?.length ?? 0,
    m.peer === null ? 0 : ipNum(m.peer.address),
  ];
}

function lexLess(x: number[], y: number[], skip: number): boolean {
  for (let i = 0; i < x.length; i++) if (i !== skip && x[i] !== y[i]) return x[i]! < y[i]!;
  return false;
}

function neighbour(m: ModelPath): number {
  return m.peer === null ? -1 : (m.a.asPath[0]?.asns[0] ?? 0);
}

function eligible(m: ModelPath): boolean {
  if (m.peer === null) return true;
  if (!m.peer.ibgp && m.a.asPath.some((s) => s.asns.includes(LOCAL_ASN))) return false;
  return m.a.originatorId !== ROUTER_ID;
}

/** Brute force: best per neighbouring AS (MED counts), then best of those (MED skipped); ECMP set's next hops. */
function bruteForce(candidates: ModelPath[]): readonly string[] | null {
  const ok = candidates.filter(eligible);
  if (ok.length === 0) return null;
  const groups = new Map<number, ModelPath>();
  for (const m of ok) {
    const w = groups.get(neighbour(m));
    if (w === undefined || lexLess(key(m), key(w), -1)) groups.set(neighbour(m), m);
  }
  let best: ModelPath | undefined;
  for (const w of groups.values()) if (best === undefined || lexLess(key(w), key(best), 4)) best = w;
  if (best!.peer === null) return null;
  const bk = key(best!);
  const same = ok.filter(
    (m) =>
      m.peer !== null &&
      neighbour(m) === neighbour(best!) &&
      key(m).slice(0, 6).join() === bk.slice(0, 6).join(),
  );
  return [...new Set(same.map((m) => m.nextHop))].sort();
}

describe('Loc-RIB property: matches brute force, change stream replays to the final table', () => {
  it('holds for random sequences', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40, size: 'medium' }), (ops) => {
        const rib = new LocRib({ localAsn: LOCAL_ASN, routerId: ROUTER_ID });
        for (const x of PEERS) rib.addPeer(x);
        const out = new AdjRibOut(PEERS[3]!, rib);
        const model = PEERS.map(() => new Map<PrefixKey, ModelPath>());
        const stale = PEERS.map(() => new Map<PrefixKey, ModelPath>());
        let local = new Map<PrefixKey, ModelPath>();
        const replay = new Map<PrefixKey, readonly string[]>();
        const advertised = new Map<PrefixKey, string>();
        for (const op of ops) {
          const changes = apply(rib, op, model, stale, (l) => (local = l) && local);
          expect(new Set(changes.prefixes).size).toBe(changes.prefixes.length);
          changes.prefixes.forEach((x, i) => {
            const nh = changes.nexthops[i];
            if (nh === null || nh === undefined) replay.delete(x);
            else replay.set(x, nh);
          });
          for (const x of PREFIXES) {
            const candidates = [
              ...model.map((m) => m.get(x)),
              ...stale.map((m) => m.get(x)),
              local.get(x),
            ].filter((m) => m !== undefined);
            expect(rib.nexthops(x)).toEqual(bruteForce(candidates));
          }
          const pending = out.takePending();
          for (const w of pending.withdraw) for (const x of w.prefixes) advertised.delete(x);
          for (const a of pending.announce)
            for (const x of a.reach.prefixes) advertised.set(x, a.reach.nextHop);
        }
        for (const x of PREFIXES) {
          expect(replay.get(x) ?? null).toEqual(rib.nexthops(x));
          expect(advertised.get(x)).toEqual(expectedExport(rib, x, PEERS[3]!));
        }
        // The counts `nodebgp status` shows are those of the full listing.
        const all = rib.routes();
        expect(rib.totals()).toEqual({ prefixes: new Set(all.map((r) => r.prefix)).size, paths: all.length });
      }),
      { numRuns: 1000 },
    );
  });
});

/** What an iBGP non-client should hold from us: local and eBGP-learned routes, and routes from RR clients. */
function expectedExport(rib: LocRib, prefix: PrefixKey, to: RibPeer): string | undefined {
  const best = rib.bestPath(prefix);
  if (best === undefined) return undefined;
  if (best.peer === null) return to.localAddress;
  if (best.peer.address === to.address || (best.peer.ibgp && !best.peer.routeReflectorClient))
    return undefined;
  return best.nextHop;
}

function apply(
  rib: LocRib,
  op: Op,
  model: Map<PrefixKey, ModelPath>[],
  stale: Map<PrefixKey, ModelPath>[],
  setLocal: (l: Map<PrefixKey, ModelPath>) => unknown,
): ReturnType<LocRib['applyUpdate']> {
  const keys = (idx: number[]) => idx.map((i) => PREFIXES[i]!);
  switch (op.kind) {
    case 'announce': {
      const x = PEERS[op.peer]!;
      const a = forPeer(x, POOL[op.attr]!);
      const nextHop = NEXT_HOPS[op.nextHop]!;
      for (const k of [...keys(op.withdrawn), ...keys(op.prefixes)]) {
        model[op.peer]!.delete(k);
        stale[op.peer]!.delete(k);
      }
      for (const k of keys(op.prefixes)) model[op.peer]!.set(k, { peer: x, a, nextHop });
      return rib.applyUpdate(x.address, announce(a, nextHop, keys(op.prefixes), keys(op.withdrawn)), 0);
    }
    case 'withdraw':
      for (const k of keys(op.prefixes)) {
        model[op.peer]!.delete(k);
        stale[op.peer]!.delete(k);
      }
      return rib.applyUpdate(PEERS[op.peer]!.address, withdraw(keys(op.prefixes)), 0);
    case 'down':
      model[op.peer]!.clear();
      stale[op.peer]!.clear();
      return rib.peerDown(PEERS[op.peer]!.address);
    case 'restart': {
      // Graceful restart: routes go stale, the session comes back as a new RibPeer object.
      for (const [k, m] of model[op.peer]!) stale[op.peer]!.set(k, m);
      model[op.peer]!.clear();
      rib.markStale(PEERS[op.peer]!.address);
      rib.addPeer({ ...PEERS[op.peer]! });
      return { prefixes: [], nexthops: [] };
    }
    case 'sweep':
      stale[op.peer]!.clear();
      return rib.sweepStale(PEERS[op.peer]!.address);
    case 'local': {
      const l = new Map<PrefixKey, ModelPath>();
      for (const k of keys(op.prefixes)) l.set(k, { peer: null, a: attrs(), nextHop: '' });
      setLocal(l);
      return rib.setLocal(
        keys(op.prefixes).map((prefix) => ({ prefix })),
        0,
      );
    }
  }
}
