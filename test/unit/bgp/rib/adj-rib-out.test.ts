import { describe, expect, it } from 'vitest';
import { AdjRibOut } from '../../../../bgp/rib/adj-rib-out.js';
import {
  COMMUNITY_NO_ADVERTISE as NO_ADVERTISE,
  COMMUNITY_NO_EXPORT as NO_EXPORT,
} from '../../../../bgp/wire/iana.js';
import { LocRib } from '../../../../bgp/rib/loc-rib.js';
import type { RibPeer } from '../../../../bgp/rib/peer.js';
import type { PathAttributes } from '../../../../bgp/wire/types.js';
import type { PrefixKey } from '../../../../ip/prefix.js';
import { key } from '../../../support/prefix.js';
import { announce, attrs, LOCAL_ASN, peer, ROUTER_ID, withdraw } from './helpers.js';

const P1 = key('10.244.1.0/24');
const P2 = key('10.244.2.0/24');
const P6 = key('fd00:244:1::/64');
const CLUSTER = '10.255.0.1';

const client1 = peer('10.0.0.11', LOCAL_ASN, { routeReflectorClient: true, localAddress: '10.0.0.1' });
const client2 = peer('10.0.0.12', LOCAL_ASN, { routeReflectorClient: true, localAddress: '10.0.0.1' });
const nonClient1 = peer('10.0.0.21', LOCAL_ASN, { localAddress: '10.0.0.1' });
const nonClient2 = peer('10.0.0.22', LOCAL_ASN, { localAddress: '10.0.0.1' });
const tor = peer('192.0.2.1', 65001, { localAddress: '192.0.2.254', localAddressIpv6: 'fd00:1::254' });
const tor2 = peer('198.51.100.1', 65002, { localAddress: '198.51.100.254' });

function setup(...peers: RibPeer[]): { rib: LocRib; outs: Map<string, AdjRibOut> } {
  const rib = new LocRib({ localAsn: LOCAL_ASN, routerId: ROUTER_ID, clusterId: CLUSTER });
  const outs = new Map<string, AdjRibOut>();
  for (const x of peers) {
    rib.addPeer(x);
    outs.set(x.address, new AdjRibOut(x, rib));
  }
  return { rib, outs };
}

/** What a peer receives: prefix → [attributes, next hop], or the withdrawn list. */
function sent(out: AdjRibOut): {
  announced: Map<string | number, [PathAttributes, string]>;
  withdrawn: unknown[];
} {
  const pending = out.takePending();
  const announced = new Map<string | number, [PathAttributes, string]>();
  for (const a of pending.announce)
    for (const x of a.reach.prefixes) announced.set(x, [a.attributes, a.reach.nextHop]);
  return { announced, withdrawn: pending.withdraw.flatMap((w) => w.prefixes) };
}

describe('Adj-RIB-Out: route reflection (RFC 4456 §6)', () => {
  const learned = attrs({ path: [65010], localPref: 150 });

  it('a peer made a client in place: re-evaluating sends only the difference, both ways', () => {
    const a = peer('10.0.0.31', LOCAL_ASN, { localAddress: '10.0.0.1' });
    const b = peer('10.0.0.32', LOCAL_ASN, { localAddress: '10.0.0.1' });
    const { rib, outs } = setup(a, b, tor);
    rib.applyUpdate(b.address, announce(learned, '10.0.0.32', [P1]), 0);
    rib.applyUpdate(tor.address, announce(attrs({ path: [65001] }), '192.0.2.1', [P2]), 0);
    expect([...sent(outs.get(a.address)!).announced.keys()]).toEqual([P2]); // P1: iBGP split horizon
    sent(outs.get(b.address)!);
    expect(rib.setRouteReflectorClient(a.address, true)).toBe(true);
    expect(rib.setRouteReflectorClient(a.address, true)).toBe(false);
    for (const out of outs.values()) out.reevaluate();
    const toA = sent(outs.get(a.address)!);
    expect([...toA.announced.keys()]).toEqual([P1]); // P2 is unchanged: not sent again
    expect(toA.announced.get(P1)![0]).toMatchObject({ originatorId: b.bgpId, clusterList: [CLUSTER] });
    expect(sent(outs.get(b.address)!)).toEqual({ announced: new Map(), withdrawn: [] });
    expect(rib.setRouteReflectorClient(a.address, false)).toBe(true);
    for (const out of outs.values()) out.reevaluate();
    expect(sent(outs.get(a.address)!)).toEqual({ announced: new Map(), withdrawn: [P1] });
  });

  it('from a client: to other clients and non-clients, with ORIGINATOR_ID and CLUSTER_LIST; never back', () => {
    const { rib, outs } = setup(client1, client2, nonClient1);
    rib.applyUpdate(client1.address, announce(learned, '10.0.0.11', [P1]), 0);
    for (const to of [client2, nonClient1]) {
      const [a, nextHop] = sent(outs.get(to.address)!).announced.get(P1)!;
      expect(nextHop).toBe('10.0.0.11');
      expect(a).toMatchObject({ originatorId: client1.bgpId, clusterList: [CLUSTER], localPref: 150 });
      expect(a.asPath).toEqual(learned.asPath);
    }
    expect(sent(outs.get(client1.address)!).announced.size).toBe(0);
  });

  it('from a non-client: to clients only; non-client to non-client is blocked (split horizon)', () => {
    const { rib, outs } = setup(client1, nonClient1, nonClient2);
    rib.applyUpdate(nonClient1.address, announce(learned, '10.0.0.21', [P1]), 0);
    expect(sent(outs.get(client1.address)!).announced.get(P1)![0]).toMatchObject({
      originatorId: nonClient1.bgpId,
      clusterList: [CLUSTER],
    });
    expect(sent(outs.get(nonClient2.address)!).announced.size).toBe(0);
  });

  it('keeps an ORIGINATOR_ID already there and prepends our CLUSTER_ID to the CLUSTER_LIST', () => {
    const { rib, outs } = setup(client1, client2);
    const reflected = attrs({ originatorId: '10.9.9.9', clusterList: ['10.8.8.8'] });
    rib.applyUpdate(client1.address, announce(reflected, '10.0.0.50', [P1]), 0);
    expect(sent(outs.get(client2.address)!).announced.get(P1)![0]).toMatchObject({
      originatorId: '10.9.9.9',
      clusterList: [CLUSTER, '10.8.8.8'],
    });
  });

  it('does not reflect a route to the peer whose router id is its ORIGINATOR_ID', () => {
    const { rib, outs } = setup(client1, client2);
    rib.applyUpdate(client1.address, announce(attrs({ originatorId: client2.bgpId }), '10.0.0.12', [P1]), 0);
    expect(sent(outs.get(client2.address)!).announced.size).toBe(0);
  });

  it('a path carrying our router id as ORIGINATOR_ID or our CLUSTER_ID is not used, so not reflected', () => {
    const { rib, outs } = setup(client1, client2);
    rib.applyUpdate(client1.address, announce(attrs({ originatorId: ROUTER_ID }), '10.0.0.11', [P1]), 0);
    rib.applyUpdate(client1.address, announce(attrs({ clusterList: [CLUSTER] }), '10.0.0.11', [P2]), 0);
    expect(sent(outs.get(client2.address)!).announced.size).toBe(0);
  });

  it('iBGP full mesh without reflection: split horizon, eBGP-learned routes do go to iBGP peers', () => {
    const { rib, outs } = setup(nonClient1, nonClient2, tor);
    rib.applyUpdate(nonClient1.address, announce(attrs({ localPref: 100 }), '10.0.0.21', [P1]), 0);
    rib.applyUpdate(tor.address, announce(attrs({ path: [65001] }), '192.0.2.1', [P2]), 0);
    const got = sent(outs.get(nonClient2.address)!).announced;
    expect([...got.keys()]).toEqual([P2]);
    const [a, nextHop] = got.get(P2)!;
    expect(nextHop).toBe('192.0.2.1');
    expect(a.localPref).toBe(100);
    expect(a.originatorId).toBe(undefined);
  });
});

describe('Adj-RIB-Out: eBGP export (RFC 4271 §5.1)', () => {
  it('prepends our AS, sets next hop self, removes LOCAL_PREF, MED, ORIGINATOR_ID and CLUSTER_LIST', () => {
    const { rib, outs } = setup(client1, tor);
    const a = attrs({
      path: [65010, 65011],
      localPref: 300,
      med: 40,
      originatorId: '10.9.9.9',
      clusterList: ['10.8.8.8'],
      communities: [65000 * 65536 + 1],
    });
    rib.applyUpdate(client1.address, announce(a, '10.0.0.11', [P1, P6]), 0);
    const got = sent(outs.get(tor.address)!).announced;
    const [out4, nh4] = got.get(P1)!;
    expect(nh4).toBe('192.0.2.254');
    expect(got.get(P6)![1]).toBe('fd00:1::254');
    expect(out4).toEqual({
      origin: 0,
      asPath: [{ type: 2, asns: [LOCAL_ASN, 65010, 65011] }],
      communities: [a.communities![0]],
    });
  });

  it('keeps the MED of our own routes; a new AS_SEQUENCE when the path starts with a set', () => {
    const { rib, outs } = setup(tor);
    const own = attrs({ med: 5, asPath: [{ type: 1, asns: [65020, 65021] }] });
    rib.setLocal([{ prefix: P1, attributes: own }, { prefix: P2 }], 0);
    const got = sent(outs.get(tor.address)!).announced;
    expect(got.get(P1)![0]).toEqual({
      origin: 0,
      med: 5,
      asPath: [
        { type: 2, asns: [LOCAL_ASN] },
        { type: 1, asns: [65020, 65021] },
      ],
    });
    expect(got.get(P2)).toEqual([{ origin: 0, asPath: [{ type: 2, asns: [LOCAL_ASN] }] }, '192.0.2.254']);
  });

  it('removes confederation segments before prepending (RFC 5065 §5.2)', () => {
    const { rib, outs } = setup(client1, tor);
    const confed = attrs({
      asPath: [
        { type: 3, asns: [65100, 65101] },
        { type: 2, asns: [65010] },
      ],
    });
    rib.applyUpdate(client1.address, announce(confed, '10.0.0.11', [P1]), 0);
    expect(sent(outs.get(tor.address)!).announced.get(P1)![0].asPath).toEqual([
      { type: 2, asns: [LOCAL_ASN, 65010] },
    ]);
  });

  it('never carries the received NEXT_HOP attribute: the next hop is on the reach block', () => {
    const { rib, outs } = setup(tor, nonClient1, tor2);
    rib.applyUpdate(
      tor.address,
      announce(attrs({ path: [65001], nextHop: '192.0.2.1' }), '192.0.2.1', [P1]),
      0,
    );
    for (const to of [nonClient1, tor2]) {
      const [a, nextHop] = sent(outs.get(to.address)!).announced.get(P1)!;
      expect(a.nextHop).toBe(undefined);
      expect(nextHop).toBe(to === tor2 ? '198.51.100.254' : '192.0.2.1');
    }
  });

  it('to iBGP, an eBGP-learned path carries the LOCAL_PREF our decision gave it (100), not its own', () => {
    const { rib, outs } = setup(tor, nonClient1);
    rib.applyUpdate(tor.address, announce(attrs({ path: [65001], localPref: 900 }), '192.0.2.1', [P1]), 0);
    expect(sent(outs.get(nonClient1.address)!).announced.get(P1)![0].localPref).toBe(100);
  });

  it('never sends a route back to the peer it came from; sends it to other eBGP peers', () => {
    const { rib, outs } = setup(tor, tor2);
    rib.applyUpdate(tor.address, announce(attrs({ path: [65001] }), '192.0.2.1', [P1]), 0);
    expect(sent(outs.get(tor.address)!).announced.size).toBe(0);
    expect(sent(outs.get(tor2.address)!).announced.get(P1)).toEqual([
      { origin: 0, asPath: [{ type: 2, asns: [LOCAL_ASN, 65001] }] },
      '198.51.100.254',
    ]);
  });

  it('passes unknown optional transitive attributes with Partial set, drops non-transitive ones', () => {
    const { rib, outs } = setup(tor, tor2);
    const unknown = [
      { flags: 0xc0, type: 99, value: new Uint8Array([1]) },
      { flags: 0x80, type: 98, value: new Uint8Array([2]) },
    ];
    rib.applyUpdate(tor.address, announce(attrs({ path: [65001], unknown }), '192.0.2.1', [P1]), 0);
    expect(sent(outs.get(tor2.address)!).announced.get(P1)![0].unknown).toEqual([
      { flags: 0xe0, type: 99, value: new Uint8Array([1]) },
    ]);
  });

  it('honours NO_EXPORT (not to eBGP) and NO_ADVERTISE (to nobody)', () => {
    const { rib, outs } = setup(client1, tor);
    rib.applyUpdate(client1.address, announce(attrs({ communities: [NO_EXPORT] }), '10.0.0.11', [P1]), 0);
    rib.applyUpdate(client1.address, announce(attrs({ communities: [NO_ADVERTISE] }), '10.0.0.11', [P2]), 0);
    expect(sent(outs.get(tor.address)!).announced.size).toBe(0);
  });
});

describe('Adj-RIB-Out: local routes to iBGP', () => {
  it('next hop = our session address unless the advertisement names one; LOCAL_PREF 100 set', () => {
    const { rib, outs } = setup(nonClient1);
    rib.setLocal([{ prefix: P1 }, { prefix: P2, nextHop: '10.0.0.99' }], 0);
    const got = sent(outs.get(nonClient1.address)!).announced;
    expect(got.get(P1)).toEqual([{ origin: 0, asPath: [], localPref: 100 }, '10.0.0.1']);
    expect(got.get(P2)![1]).toBe('10.0.0.99');
  });
});

describe('Adj-RIB-Out: pending, packing, withdrawals', () => {
  it('groups prefixes by (attributes object, next hop, family): one group per UPDATE received', () => {
    const { rib, outs } = setup(tor, nonClient1);
    const a = attrs({ path: [65001] });
    const b = attrs({ path: [65001, 65002] });
    const many = Array.from({ length: 300 }, (_, i) => key(`10.${i >> 8}.${i & 255}.0/24`));
    rib.applyUpdate(tor.address, announce(a, '192.0.2.1', many.slice(0, 100)), 0);
    rib.applyUpdate(tor.address, announce(a, '192.0.2.1', many.slice(100, 200)), 0);
    rib.applyUpdate(tor.address, announce(b, '192.0.2.1', [...many.slice(200), P6]), 0);
    const pending = outs.get(nonClient1.address)!.takePending();
    expect(pending.announce.map((x) => [x.reach.afi, x.reach.prefixes.length])).toEqual([
      [1, 200],
      [1, 100],
      [2, 1],
    ]);
    expect(pending.announce[0]!.attributes).not.toBe(pending.announce[1]!.attributes);
    expect(outs.get(nonClient1.address)!.advertisedCount).toBe(301);
    expect(outs.get(nonClient1.address)!.takePending()).toEqual({ announce: [], withdraw: [] });
  });

  it('transformed attributes are interned across UPDATEs and stable across calls', () => {
    const { rib, outs } = setup(tor, nonClient1);
    const a = attrs({ path: [65001] });
    const out = outs.get(nonClient1.address)!;
    rib.applyUpdate(tor.address, announce(a, '192.0.2.1', [P1]), 0);
    const first = out.takePending().announce[0]!.attributes;
    rib.applyUpdate(tor.address, announce(a, '192.0.2.1', [P2]), 1);
    expect(out.takePending().announce[0]!.attributes).toBe(first);
  });

  it('withdraws per family what is gone, coalesces flaps, and re-sends everything on route refresh', () => {
    const { rib, outs } = setup(tor, nonClient1);
    const out = outs.get(nonClient1.address)!;
    const a = attrs({ path: [65001] });
    rib.applyUpdate(tor.address, announce(a, '192.0.2.1', [P1, P2, P6]), 0);
    out.takePending();
    rib.applyUpdate(tor.address, withdraw([P1, P6]), 0);
    rib.applyUpdate(tor.address, withdraw([P2]), 0);
    rib.applyUpdate(tor.address, announce(a, '192.0.2.1', [P2]), 0); // flap: back as before
    const pending = out.takePending();
    expect(pending.withdraw).toEqual([
      { afi: 1, safi: 1, prefixes: [P1] },
      { afi: 2, safi: 1, prefixes: [P6] },
    ]);
    expect(pending.announce).toEqual([]);
    out.resendAll();
    expect(out.takePending().announce.flatMap((x) => x.reach.prefixes)).toEqual([P2]);
    expect(out.adjRibOut()).toMatchObject([
      { prefix: '10.244.2.0/24', nexthops: ['192.0.2.1'], asPath: '65001' },
    ]);
  });

  it('re-sends one address family on a ROUTE-REFRESH for it', () => {
    const { rib, outs } = setup(tor, nonClient1);
    const out = outs.get(nonClient1.address)!;
    rib.applyUpdate(tor.address, announce(attrs({ path: [65001] }), '192.0.2.1', [P1, P2, P6]), 0);
    out.takePending();
    out.resendAll(2);
    expect(out.takePending().announce.flatMap((x) => x.reach.prefixes)).toEqual([P6]);
    out.resendAll(1);
    expect(out.takePending().announce.flatMap((x) => x.reach.prefixes)).toEqual([P1, P2]);
    expect(out.takePending().announce).toEqual([]);
  });

  it('re-evaluates everything when the export policy changes, sending only the difference', () => {
    const rib = new LocRib({ localAsn: LOCAL_ASN, routerId: ROUTER_ID });
    rib.addPeer(tor);
    rib.addPeer(tor2);
    let blocked: PrefixKey = P1;
    const out = new AdjRibOut(tor2, rib, { exportFilter: (_peer, prefix) => prefix !== blocked });
    rib.applyUpdate(tor.address, announce(attrs({ path: [65001] }), '192.0.2.1', [P1, P2]), 0);
    expect(out.takePending().announce.flatMap((x) => x.reach.prefixes)).toEqual([P2]);
    blocked = P2;
    out.reevaluate();
    const pending = out.takePending();
    expect(pending.announce.flatMap((x) => x.reach.prefixes)).toEqual([P1]);
    expect(pending.withdraw).toEqual([{ afi: 1, safi: 1, prefixes: [P2] }]);
  });

  it('a new session gets the whole current table; close() stops following the Loc-RIB', () => {
    const { rib } = setup(tor);
    rib.applyUpdate(tor.address, announce(attrs({ path: [65001] }), '192.0.2.1', [P1]), 0);
    rib.addPeer(nonClient1);
    const out = new AdjRibOut(nonClient1, rib);
    expect(out.takePending().announce.flatMap((x) => x.reach.prefixes)).toEqual([P1]);
    out.close();
    rib.applyUpdate(tor.address, withdraw([P1]), 0);
    expect(out.hasPending).toBe(false);
  });

  it('applies the export filter per prefix: false keeps it back, new attributes are interned by content', () => {
    const rib = new LocRib({ localAsn: LOCAL_ASN, routerId: ROUTER_ID });
    rib.addPeer(tor);
    rib.addPeer(tor2);
    const out = new AdjRibOut(tor2, rib, {
      exportFilter: (_peer, prefix, a) => (prefix === P1 ? false : { ...a, communities: [42] }),
    });
    rib.applyUpdate(tor.address, announce(attrs({ path: [65001] }), '192.0.2.1', [P1, P2, P6]), 0);
    const pending = out.takePending();
    expect(pending.announce).toHaveLength(2); // two families, one attributes object
    expect(pending.announce[0]!.attributes).toBe(pending.announce[1]!.attributes);
    expect(pending.announce[0]!.attributes.communities).toEqual([42]);
    expect(pending.announce.flatMap((x) => x.reach.prefixes)).toEqual([P2, P6]);
  });
});
