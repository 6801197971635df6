/**
 * The order of the decision steps, tested through decisions. For each step: two paths that tie on every
 * earlier step, differ at that one, and — wherever the attributes allow — are the other way round at EVERY
 * later step. So the right path wins only if the step runs where it should: a step moved later (or swapped
 * with any later one) hands the prefix to the other path, and the reported deciding step names the step
 * itself. Each case runs in both arrival orders. Then a few mixed cases.
 */
import { describe, expect, it } from 'vitest';
import type { DecisionStep } from '../../../../bgp/rib/decision.js';
import { LocRib } from '../../../../bgp/rib/loc-rib.js';
import type { RibPeer } from '../../../../bgp/rib/peer.js';
import type { PathAttributes } from '../../../../bgp/wire/types.js';
import { key } from '../../../support/prefix.js';
import { announce, attrs, LOCAL_ASN, peer, ROUTER_ID } from './helpers.js';

const PREFIX = key('10.244.1.0/24');

/** A learned path (`peer`), or one we originate (`peer: 'local'`). */
interface Offer {
  readonly peer: RibPeer | 'local';
  readonly attributes: PathAttributes;
}

const who = (o: Offer) => (o.peer === 'local' ? 'local' : o.peer.address);

/** Offer the paths in this order; the winner, its deciding step and every path's reason. */
function race(...offers: Offer[]): { winner: string; step: DecisionStep; reasons: Record<string, string> } {
  const rib = new LocRib({ localAsn: LOCAL_ASN, routerId: ROUTER_ID });
  for (const o of offers) {
    if (o.peer === 'local') {
      rib.setLocal([{ prefix: PREFIX, attributes: o.attributes }], 0);
      continue;
    }
    rib.addPeer(o.peer);
    rib.applyUpdate(o.peer.address, announce(o.attributes, o.peer.address, [PREFIX]), 0);
  }
  const d = rib.bestPaths(PREFIX)!;
  const reasons = Object.fromEntries(rib.routes({ prefix: PREFIX }).map((r) => [r.peer, r.reason]));
  return { winner: d.best.peer?.address ?? 'local', step: d.step, reasons };
}

/** `winner` beats `loser` at `step`, in both orders; the loser is told it lost there. */
function expectDecision(winner: Offer, loser: Offer, step: DecisionStep): void {
  for (const order of [
    [winner, loser],
    [loser, winner],
  ]) {
    expect(race(...order)).toEqual({
      winner: who(winner),
      step,
      reasons: { [who(winner)]: `best: ${step}`, [who(loser)]: `lost: ${step}` },
    });
  }
}

// Peers. The "strong" ones win every late tie-break: lowest BGP Identifier, lowest address.
const ibgpHigh = peer('192.0.2.200', LOCAL_ASN, { bgpId: '10.255.255.200' });
const ibgpLow = peer('192.0.2.1', LOCAL_ASN, { bgpId: '1.1.1.1' });
const ebgpHigh = peer('192.0.2.200', 65002, { bgpId: '10.255.255.200' });
const ebgpLow = peer('192.0.2.1', 65002, { bgpId: '1.1.1.1' });
/** Attributes that lose every late tie-break: a high ORIGINATOR_ID and a long CLUSTER_LIST. */
const weakLate = { originatorId: '10.255.255.201', clusterList: ['10.9.9.1', '10.9.9.2'] };

describe('each decision step decides where it stands (RFC 4271 §9.1.2.2 and the usual tie-breaks)', () => {
  it('only-path: a lone eligible path is best for that reason; the ineligible one says why', () => {
    const r = race(
      { peer: ebgpHigh, attributes: attrs({ path: [65002] }) },
      { peer: ebgpLow, attributes: attrs({ path: [65002, LOCAL_ASN] }) }, // our AS: a loop
    );
    expect(r).toEqual({
      winner: ebgpHigh.address,
      step: 'only-path',
      reasons: { [ebgpHigh.address]: 'best: only-path', [ebgpLow.address]: 'ineligible: as-path-loop' },
    });
  });

  it('local-pref: LOCAL_PREF 200 beats a path better at every later step', () => {
    expectDecision(
      {
        peer: ibgpHigh,
        attributes: attrs({ path: [65002, 65005, 65006], origin: 2, med: 50, localPref: 200, ...weakLate }),
      },
      // eBGP (counts 100), shorter AS_PATH, IGP, no MED from the same neighbouring AS, low id, no
      // CLUSTER_LIST, lower address.
      { peer: ebgpLow, attributes: attrs({ path: [65002] }) },
      'local-pref',
    );
  });

  it('local: a route we originate beats a learned one with the same LOCAL_PREF, better at every later step', () => {
    expectDecision(
      {
        peer: 'local',
        attributes: attrs({ path: [65100, 65101], origin: 2, med: 99, ...weakLate }),
      },
      // The same degree of preference (eBGP: 100), an empty AS_PATH, IGP, eBGP, low id, no CLUSTER_LIST.
      { peer: ebgpLow, attributes: attrs({ path: [] }) },
      'local',
    );
  });

  it('as-path-length: the shorter AS_PATH beats a path better at every later step', () => {
    expectDecision(
      { peer: ibgpHigh, attributes: attrs({ path: [65002], origin: 2, med: 50, ...weakLate }) },
      { peer: ebgpLow, attributes: attrs({ path: [65002, 65003] }) },
      'as-path-length',
    );
  });

  it('origin: IGP beats EGP on a path better at every later step', () => {
    expectDecision(
      { peer: ibgpHigh, attributes: attrs({ path: [65002], origin: 0, med: 50, ...weakLate }) },
      { peer: ebgpLow, attributes: attrs({ path: [65002], origin: 1 }) },
      'origin',
    );
  });

  it('med: the lower MED (same neighbouring AS) beats a path better at every later step', () => {
    expectDecision(
      { peer: ibgpHigh, attributes: attrs({ path: [65002], med: 10, ...weakLate }) },
      { peer: ebgpLow, attributes: attrs({ path: [65002], med: 20 }) },
      'med',
    );
  });

  it('ebgp-over-ibgp: an eBGP path beats an iBGP one better at every later step', () => {
    expectDecision(
      { peer: ebgpHigh, attributes: attrs({ path: [65002], ...weakLate }) },
      { peer: ibgpLow, attributes: attrs({ path: [65002] }) },
      'ebgp-over-ibgp',
    );
  });

  // igp-cost: this speaker has no IGP; every next hop costs 0, so the step can never decide (decision.ts).

  it('router-id: the lower BGP Identifier beats a path with a shorter CLUSTER_LIST and a lower address', () => {
    expectDecision(
      {
        peer: peer('192.0.2.200', LOCAL_ASN, { bgpId: '1.1.1.1' }),
        attributes: attrs({ path: [65002], clusterList: ['10.9.9.1', '10.9.9.2'] }),
      },
      { peer: peer('192.0.2.1', LOCAL_ASN, { bgpId: '9.9.9.9' }), attributes: attrs({ path: [65002] }) },
      'router-id',
    );
  });

  it('cluster-list-length: the shorter CLUSTER_LIST beats a path from a lower address', () => {
    const from50 = { path: [65002], originatorId: '10.0.0.50' };
    expectDecision(
      { peer: ibgpHigh, attributes: attrs({ ...from50, clusterList: ['10.9.9.1'] }) },
      { peer: ibgpLow, attributes: attrs({ ...from50, clusterList: ['10.9.9.2', '10.9.9.1'] }) },
      'cluster-list-length',
    );
  });

  it('peer-address: the lowest address wins, compared as a number (10.0.0.9 < 10.0.0.10)', () => {
    const same = attrs({ path: [65002], originatorId: '10.0.0.50', clusterList: ['10.9.9.1'] });
    expectDecision(
      { peer: peer('10.0.0.9', LOCAL_ASN), attributes: same },
      { peer: peer('10.0.0.10', LOCAL_ASN), attributes: same },
      'peer-address',
    );
  });
});

describe('mixed cases', () => {
  it('the reported step is the one against the strongest other path; each loser names its own', () => {
    // A beats B at origin and C only at router-id: C was the closer call.
    const a = { peer: peer('192.0.2.1', 65002, { bgpId: '1.1.1.1' }), attributes: attrs({ path: [65002] }) };
    const b = { peer: peer('192.0.2.2', 65003), attributes: attrs({ path: [65003], origin: 2 }) };
    const c = { peer: peer('192.0.2.3', 65004, { bgpId: '9.9.9.9' }), attributes: attrs({ path: [65004] }) };
    for (const order of [
      [a, b, c],
      [c, b, a],
      [b, a, c],
    ])
      expect(race(...order)).toEqual({
        winner: '192.0.2.1',
        step: 'router-id',
        reasons: {
          '192.0.2.1': 'best: router-id',
          '192.0.2.2': 'lost: origin',
          '192.0.2.3': 'lost: router-id',
        },
      });
  });

  it('local-pref: an eBGP path counts 100 whatever LOCAL_PREF it carries; iBGP without one counts 100', () => {
    expectDecision(
      { peer: ibgpHigh, attributes: attrs({ path: [65001, 65009], localPref: 101 }) },
      { peer: ebgpLow, attributes: attrs({ path: [65002], localPref: 500 }) },
      'local-pref',
    );
    expectDecision(
      { peer: ebgpLow, attributes: attrs({ path: [65002], localPref: 500 }) },
      { peer: ibgpHigh, attributes: attrs({ path: [65001, 65009] }) },
      'as-path-length',
    );
  });

  it('local: our route loses to a learned one with a higher LOCAL_PREF', () => {
    expectDecision(
      { peer: ibgpHigh, attributes: attrs({ path: [65002, 65003], localPref: 200 }) },
      { peer: 'local', attributes: attrs({}) },
      'local-pref',
    );
  });

  it('as-path-length: an AS_SET counts 1 and confederation segments 0', () => {
    const withSet = attrs({
      asPath: [
        { type: 2, asns: [65002] },
        { type: 1, asns: [65005, 65006, 65007] },
      ],
    });
    expectDecision(
      { peer: ebgpHigh, attributes: withSet },
      { peer: peer('192.0.2.1', 65001), attributes: attrs({ path: [65001, 65003, 65004] }) },
      'as-path-length',
    );
    const withConfed = attrs({
      asPath: [
        { type: 3, asns: [65100, 65101, 65102] },
        { type: 2, asns: [65002] },
      ],
    });
    expectDecision(
      { peer: ebgpHigh, attributes: withConfed },
      { peer: peer('192.0.2.1', 65001), attributes: attrs({ path: [65001, 65003] }) },
      'as-path-length',
    );
  });

  it('med: a missing MED counts 0; MED is not compared between different neighbouring ASes', () => {
    expectDecision(
      { peer: ebgpHigh, attributes: attrs({ path: [65002] }) },
      { peer: ebgpLow, attributes: attrs({ path: [65002], med: 5 }) },
      'med',
    );
    // The lower MED, but from another neighbouring AS: the router id decides.
    expectDecision(
      { peer: peer('192.0.2.1', 65001), attributes: attrs({ path: [65001], med: 50 }) },
      { peer: peer('192.0.2.2', 65002), attributes: attrs({ path: [65002], med: 10 }) },
      'router-id',
    );
  });

  it('med: the result does not depend on arrival order (deterministic MED)', () => {
    // A(AS1, med 20, id .1)  B(AS2, id .2)  C(AS1, med 10, id .3): C beats A by MED, A beats B by router id,
    // B beats C by router id. Grouping by neighbour AS first makes C vs B decide, in every order.
    const a = { peer: peer('192.0.2.1', 65001), attributes: attrs({ path: [65001], med: 20 }) };
    const b = { peer: peer('192.0.2.2', 65002), attributes: attrs({ path: [65002] }) };
    const c = { peer: peer('192.0.2.3', 65001), attributes: attrs({ path: [65001], med: 10 }) };
    for (const order of [
      [a, b, c],
      [a, c, b],
      [b, a, c],
      [b, c, a],
      [c, a, b],
      [c, b, a],
    ])
      expect(race(...order)).toEqual({
        winner: '192.0.2.2',
        step: 'router-id',
        reasons: { '192.0.2.1': 'lost: med', '192.0.2.2': 'best: router-id', '192.0.2.3': 'lost: router-id' },
      });
  });

  it('router-id: ORIGINATOR_ID stands in for the BGP Identifier (RFC 4456 §9)', () => {
    expectDecision(
      {
        peer: peer('10.0.0.9', LOCAL_ASN, { bgpId: '9.9.9.9' }),
        attributes: attrs({ path: [65001], originatorId: '1.1.1.1', clusterList: ['10.9.9.9'] }),
      },
      { peer: peer('10.0.0.3', LOCAL_ASN, { bgpId: '5.5.5.5' }), attributes: attrs({ path: [65001] }) },
      'router-id',
    );
  });
});
