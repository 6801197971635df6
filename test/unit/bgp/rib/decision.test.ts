/**
 * One scenario per decision step: two paths that differ only in that step, each offered in both arrival
 * orders; the winner and the step it reports must not depend on the order.
 */
import { describe, expect, it } from 'vitest';
import { DECISION_STEPS, type DecisionStep } from '../../../../bgp/rib/decision.js';
import { LocRib } from '../../../../bgp/rib/loc-rib.js';
import type { RibPeer } from '../../../../bgp/rib/peer.js';
import type { PathAttributes } from '../../../../bgp/wire/types.js';
import { key } from '../../../support/prefix.js';
import { announce, attrs, LOCAL_ASN, peer, ROUTER_ID } from './helpers.js';

const PREFIX = key('10.244.1.0/24');

interface Offer {
  peer: RibPeer;
  attributes: PathAttributes;
  nextHop?: string;
}

/** Offer both paths (in the given order) and report the winner, its step and the loser's reason. */
function race(first: Offer, second: Offer): { winner: string; step: DecisionStep; loser: string } {
  const rib = new LocRib({ localAsn: LOCAL_ASN, routerId: ROUTER_ID });
  for (const o of [first, second]) {
    rib.addPeer(o.peer);
    rib.applyUpdate(o.peer.address, announce(o.attributes, o.nextHop ?? o.peer.address, [PREFIX]), 1000);
  }
  const d = rib.bestPaths(PREFIX)!;
  const loser = rib.routes({ prefix: PREFIX }).find((r) => !r.best)!;
  return { winner: d.best.peer!.address, step: d.step, loser: loser.reason };
}

function expectWinner(winner: Offer, other: Offer, step: DecisionStep): void {
  for (const [a, b] of [
    [winner, other],
    [other, winner],
  ] as const) {
    const r = race(a, b);
    expect(r).toEqual({ winner: winner.peer.address, step, loser: `lost: ${step}` });
  }
}

const ebgpA = peer('192.0.2.1', 65001);
const ebgpB = peer('192.0.2.2', 65002);
const ibgpA = peer('10.0.0.2', LOCAL_ASN);
const ibgpB = peer('10.0.0.3', LOCAL_ASN);

describe('decision steps (RFC 4271 §9.1.2.2 and the usual tie-breaks)', () => {
  it('lists the steps in order, igp-cost included though it never decides', () => {
    expect(DECISION_STEPS).toEqual([
      'only-path',
      'local-pref',
      'local',
      'as-path-length',
      'origin',
      'med',
      'ebgp-over-ibgp',
      'igp-cost',
      'router-id',
      'cluster-list-length',
      'peer-address',
    ]);
  });

  it('only-path: a lone path is best for that reason', () => {
    const r = race(
      { peer: ebgpA, attributes: attrs({ path: [65001] }) },
      {
        peer: ebgpB,
        attributes: attrs({ path: [65002, 65000] }), // our AS: ineligible
      },
    );
    expect(r.winner).toBe(ebgpA.address);
    expect(r.step).toBe('only-path');
    expect(r.loser).toBe('ineligible: as-path-loop');
  });

  it('local-pref: the highest LOCAL_PREF wins', () => {
    expectWinner(
      { peer: ibgpB, attributes: attrs({ path: [65001], localPref: 200 }) },
      { peer: ibgpA, attributes: attrs({ path: [65001], localPref: 100 }) },
      'local-pref',
    );
  });

  it('local-pref: an eBGP path counts as 100 whatever it carries; iBGP without LOCAL_PREF counts 100', () => {
    expectWinner(
      { peer: ibgpA, attributes: attrs({ path: [65001, 65009], localPref: 101 }) },
      { peer: ebgpA, attributes: attrs({ path: [65001], localPref: 500 }) },
      'local-pref',
    );
    const r = race(
      { peer: ibgpA, attributes: attrs({ path: [65001, 65009] }) },
      { peer: ebgpA, attributes: attrs({ path: [65001], localPref: 500 }) },
    );
    expect(r).toMatchObject({ winner: ebgpA.address, step: 'as-path-length' });
  });

  it('as-path-length: the shortest AS_PATH wins', () => {
    expectWinner(
      { peer: ebgpB, attributes: attrs({ path: [65002] }) },
      { peer: ebgpA, attributes: attrs({ path: [65001, 65003] }) },
      'as-path-length',
    );
  });

  it('as-path-length: an AS_SET counts 1 and confederation segments 0', () => {
    const withSet = attrs({
      asPath: [
        { type: 2, asns: [65002] },
        { type: 1, asns: [65005, 65006, 65007] },
      ],
    });
    expectWinner(
      { peer: ebgpB, attributes: withSet },
      { peer: ebgpA, attributes: attrs({ path: [65001, 65003, 65004] }) },
      'as-path-length',
    );
    const withConfed = attrs({
      asPath: [
        { type: 3, asns: [65100, 65101, 65102] },
        { type: 2, asns: [65002] },
      ],
    });
    expectWinner(
      { peer: ebgpB, attributes: withConfed },
      { peer: ebgpA, attributes: attrs({ path: [65001, 65003] }) },
      'as-path-length',
    );
  });

  it('origin: IGP beats INCOMPLETE', () => {
    expectWinner(
      { peer: ebgpB, attributes: attrs({ path: [65002], origin: 0 }) },
      { peer: ebgpA, attributes: attrs({ path: [65001], origin: 2 }) },
      'origin',
    );
  });

  it('med: the lowest MED wins between paths from the same neighbouring AS; missing MED is 0', () => {
    const sameAsB = peer('192.0.2.2', 65001);
    expectWinner(
      { peer: sameAsB, attributes: attrs({ path: [65001], med: 10 }) },
      { peer: ebgpA, attributes: attrs({ path: [65001], med: 20 }) },
      'med',
    );
    expectWinner(
      { peer: sameAsB, attributes: attrs({ path: [65001] }) },
      { peer: ebgpA, attributes: attrs({ path: [65001], med: 5 }) },
      'med',
    );
  });

  it('med: not compared between different neighbouring ASes', () => {
    // B has the lower MED, but comes from another AS: the router id decides, and A's is lower.
    expectWinner(
      { peer: ebgpA, attributes: attrs({ path: [65001], med: 50 }) },
      { peer: ebgpB, attributes: attrs({ path: [65002], med: 10 }) },
      'router-id',
    );
  });

  it('med: the result does not depend on arrival order when MED is not transitive (deterministic MED)', () => {
    // A(AS1, med 20, id .1)  B(AS2, id .2)  C(AS1, med 10, id .3): C beats A by MED, A beats B by router id,
    // B beats C by router id. Grouping by neighbour AS first makes C vs B decide, in every order.
    const a = { peer: peer('192.0.2.1', 65001), attributes: attrs({ path: [65001], med: 20 }) };
    const b = { peer: peer('192.0.2.2', 65002), attributes: attrs({ path: [65002] }) };
    const c = { peer: peer('192.0.2.3', 65001), attributes: attrs({ path: [65001], med: 10 }) };
    const orders = [
      [a, b, c],
      [a, c, b],
      [b, a, c],
      [b, c, a],
      [c, a, b],
      [c, b, a],
    ];
    for (const order of orders) {
      const rib = new LocRib({ localAsn: LOCAL_ASN, routerId: ROUTER_ID });
      for (const o of order) {
        rib.addPeer(o.peer);
        rib.applyUpdate(o.peer.address, announce(o.attributes, o.peer.address, [PREFIX]), 0);
      }
      expect(rib.bestPaths(PREFIX)!.best.peer!.address).toBe('192.0.2.2');
      const reasons = Object.fromEntries(rib.routes().map((r) => [r.peer, r.reason]));
      expect(reasons).toEqual({
        '192.0.2.1': 'lost: med',
        '192.0.2.2': 'best: router-id',
        '192.0.2.3': 'lost: router-id',
      });
    }
  });

  it('ebgp-over-ibgp: an eBGP path beats an otherwise equal iBGP path', () => {
    expectWinner(
      { peer: peer('192.0.2.200', 65002), attributes: attrs({ path: [65002] }) },
      { peer: ibgpA, attributes: attrs({ path: [65001], localPref: 100 }) },
      'ebgp-over-ibgp',
    );
  });

  it('router-id: the lowest BGP Identifier wins', () => {
    expectWinner(
      { peer: peer('10.0.0.9', LOCAL_ASN, { bgpId: '1.1.1.1' }), attributes: attrs({ path: [65001] }) },
      { peer: peer('10.0.0.3', LOCAL_ASN, { bgpId: '9.9.9.9' }), attributes: attrs({ path: [65001] }) },
      'router-id',
    );
  });

  it('router-id: ORIGINATOR_ID stands in for the BGP Identifier (RFC 4456 §9)', () => {
    expectWinner(
      {
        peer: peer('10.0.0.9', LOCAL_ASN, { bgpId: '9.9.9.9' }),
        attributes: attrs({ path: [65001], originatorId: '1.1.1.1', clusterList: ['10.9.9.9'] }),
      },
      { peer: peer('10.0.0.3', LOCAL_ASN, { bgpId: '5.5.5.5' }), attributes: attrs({ path: [65001] }) },
      'router-id',
    );
  });

  it('cluster-list-length: the shorter CLUSTER_LIST wins', () => {
    expectWinner(
      {
        peer: peer('10.0.0.9', LOCAL_ASN),
        attributes: attrs({ path: [65001], originatorId: '10.0.0.50', clusterList: ['10.9.9.1'] }),
      },
      {
        peer: peer('10.0.0.3', LOCAL_ASN),
        attributes: attrs({
          path: [65001],
          originatorId: '10.0.0.50',
          clusterList: ['10.9.9.2', '10.9.9.1'],
        }),
      },
      'cluster-list-length',
    );
  });

  it('peer-address: the lowest peer address wins, compared as a number (10.0.0.9 < 10.0.0.10)', () => {
    const same = attrs({ path: [65001], originatorId: '10.0.0.50', clusterList: ['10.9.9.1'] });
    expectWinner(
      { peer: peer('10.0.0.9', LOCAL_ASN), attributes: same },
      { peer: peer('10.0.0.10', LOCAL_ASN), attributes: same },
      'peer-address',
    );
  });

  it('local: a route we originate beats an equal learned one, but not a higher LOCAL_PREF', () => {
    const rib = new LocRib({ localAsn: LOCAL_ASN, routerId: ROUTER_ID });
    rib.addPeer(ibgpA);
    rib.applyUpdate(ibgpA.address, announce(attrs({ localPref: 100 }), ibgpA.address, [PREFIX]), 0);
    rib.setLocal([{ prefix: PREFIX }], 0);
    expect(rib.bestPaths(PREFIX)).toMatchObject({ step: 'local' });
    expect(rib.bestPaths(PREFIX)!.best.local).toBe(true);
    expect(
      rib
        .routes()
        .map((r) => r.reason)
        .sort(),
    ).toEqual(['best: local', 'lost: local']);
    rib.applyUpdate(ibgpA.address, announce(attrs({ localPref: 200 }), ibgpA.address, [PREFIX]), 0);
    expect(rib.bestPaths(PREFIX)).toMatchObject({ step: 'local-pref' });
    expect(rib.bestPaths(PREFIX)!.best.local).toBe(false);
  });
});
