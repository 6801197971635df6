import { describe, expect, it } from 'vitest';
import { LocRib } from '../../../../bgp/rib/loc-rib.js';
import { key } from '../../../support/prefix.js';
import type { PrefixKey } from '../../../../ip/prefix.js';
import type { UpdateMessage } from '../../../../bgp/wire/types.js';
import { AFI_IPV4, AFI_IPV6 } from '../../../../bgp/prefix.js';
import { announce, attrs, LOCAL_ASN, peer, ROUTER_ID, withdraw } from './helpers.js';
import { formatPathAttributes } from '../../../../bgp/wire/attributes.js';
import {
  COMMUNITY_NO_ADVERTISE,
  COMMUNITY_NO_EXPORT,
  COMMUNITY_NO_EXPORT_SUBCONFED,
} from '../../../../bgp/wire/iana.js';

const P1 = key('10.244.1.0/24');
const P2 = key('10.244.2.0/24');
const P6 = key('fd00:244:1::/64');

function rib(importFilter?: ConstructorParameters<typeof LocRib>[0]['importFilter']): LocRib {
  return new LocRib({ localAsn: LOCAL_ASN, routerId: ROUTER_ID, clusterId: '10.255.0.1', importFilter });
}

describe('Loc-RIB: options', () => {
  it('refuses a bad AS number, router id or cluster id, naming the field', () => {
    expect(() => new LocRib({ localAsn: 0, routerId: ROUTER_ID })).toThrow(/localAsn 0/);
    expect(() => new LocRib({ localAsn: 65000, routerId: 'r1' })).toThrow(/routerId "r1"/);
    expect(() => new LocRib({ localAsn: 65000, routerId: ROUTER_ID, clusterId: '1.2.3' })).toThrow(
      /clusterId/,
    );
  });
});

describe('Loc-RIB: ECMP', () => {
  const a = peer('192.0.2.1', 65001);
  const b = peer('192.0.2.2', 65001);
  const at = attrs({ path: [65001, 65010] });

  it('two eBGP peers in the same AS with equal paths form one multipath route with both next hops', () => {
    const r = rib();
    r.addPeer(b);
    r.addPeer(a);
    r.applyUpdate(b.address, announce(at, '192.0.2.2', [P1]), 0);
    const changes = r.applyUpdate(a.address, announce(at, '192.0.2.1', [P1]), 0);
    expect(changes).toEqual({ prefixes: [P1], nexthops: [['192.0.2.1', '192.0.2.2']] });
    expect(r.bestPaths(P1)!.multipath.map((x) => x.peer!.address)).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(r.routes().map((v) => [v.peer, v.best, v.multipath])).toEqual([
      ['192.0.2.2', false, true],
      ['192.0.2.1', true, true],
    ]);
  });

  it('a different MED leaves a single path', () => {
    const r = rib();
    r.addPeer(a);
    r.addPeer(b);
    r.applyUpdate(a.address, announce(attrs({ path: [65001], med: 20 }), '192.0.2.1', [P1]), 0);
    const changes = r.applyUpdate(
      b.address,
      announce(attrs({ path: [65001], med: 10 }), '192.0.2.2', [P1]),
      0,
    );
    expect(changes.nexthops).toEqual([['192.0.2.2']]);
    expect(r.bestPaths(P1)).toMatchObject({ step: 'med' });
    expect(r.bestPaths(P1)!.multipath).toHaveLength(1);
  });

  it('different neighbouring ASes are not multipath (FRR default), iBGP peers can be', () => {
    const r = rib();
    const c = peer('192.0.2.3', 65002);
    r.addPeer(a);
    r.addPeer(c);
    r.applyUpdate(a.address, announce(attrs({ path: [65001] }), '192.0.2.1', [P1]), 0);
    r.applyUpdate(c.address, announce(attrs({ path: [65002] }), '192.0.2.3', [P1]), 0);
    expect(r.nexthops(P1)).toEqual(['192.0.2.1']);

    const i1 = peer('10.0.0.2', LOCAL_ASN);
    const i2 = peer('10.0.0.3', LOCAL_ASN);
    const ir = rib();
    ir.addPeer(i1);
    ir.addPeer(i2);
    ir.applyUpdate(i1.address, announce(attrs({ localPref: 100 }), '10.0.0.2', [P1]), 0);
    ir.applyUpdate(i2.address, announce(attrs({ localPref: 100 }), '10.0.0.3', [P1]), 0);
    expect(ir.nexthops(P1)).toEqual(['10.0.0.2', '10.0.0.3']);
  });

  it('interns next-hop sets: prefixes with the same set share one frozen array', () => {
    const r = rib();
    r.addPeer(a);
    r.addPeer(b);
    r.applyUpdate(a.address, announce(at, '192.0.2.1', [P1, P2]), 0);
    const c = r.applyUpdate(b.address, announce(at, '192.0.2.2', [P1, P2]), 0);
    expect(c.nexthops[0]).toBe(c.nexthops[1]);
    expect(Object.isFrozen(c.nexthops[0])).toBe(true);
    expect(r.bestPath(P1)).not.toBe(undefined);
  });
});

describe('Loc-RIB: Adj-RIB-In, withdrawals, peer down', () => {
  const a = peer('192.0.2.1', 65001);
  const b = peer('192.0.2.2', 65002);

  it('shares one Path between every prefix of an UPDATE', () => {
    const r = rib();
    r.addPeer(a);
    r.applyUpdate(a.address, announce(attrs({ path: [65001] }), '192.0.2.1', [P1, P2]), 0);
    expect(r.bestPath(P1)).toBe(r.bestPath(P2));
  });

  it('shares one candidate set (and its decision) between prefixes with the same candidates', () => {
    const r = rib();
    r.addPeer(a);
    r.addPeer(b);
    r.applyUpdate(a.address, announce(attrs({ path: [65001] }), '192.0.2.1', [P1, P2, P6]), 0);
    r.applyUpdate(b.address, announce(attrs({ path: [65002] }), '192.0.2.2', [P1, P2]), 0);
    expect(r.candidates(P1)).toHaveLength(2);
    expect(r.candidates(P1)).toBe(r.candidates(P2));
    expect(r.bestPaths(P1)).toEqual(r.bestPaths(P2));
    // Leaving the set by the same path leads to the same place.
    r.applyUpdate(b.address, withdraw([P1, P2]), 0);
    expect(r.candidates(P1)).toBe(r.candidates(P2));
    expect(r.candidates(P1)).toHaveLength(1);
  });

  it('withdrawing the best falls back to the second; withdrawing the last reports null', () => {
    const r = rib();
    r.addPeer(a);
    r.addPeer(b);
    r.applyUpdate(a.address, announce(attrs({ path: [65001] }), '192.0.2.1', [P1]), 0);
    r.applyUpdate(b.address, announce(attrs({ path: [65002, 65003] }), '192.0.2.2', [P1]), 0);
    expect(r.nexthops(P1)).toEqual(['192.0.2.1']);
    expect(r.applyUpdate(a.address, withdraw([P1]), 0)).toEqual({
      prefixes: [P1],
      nexthops: [['192.0.2.2']],
    });
    expect(r.applyUpdate(b.address, withdraw([P1]), 0)).toEqual({ prefixes: [P1], nexthops: [null] });
    expect(r.size).toBe(0);
  });

  it('reports a prefix once when one UPDATE withdraws and announces it', () => {
    const r = rib();
    r.addPeer(a);
    r.applyUpdate(a.address, announce(attrs({ path: [65001] }), '192.0.2.1', [P1, P2]), 0);
    const changes = r.applyUpdate(
      a.address,
      announce(attrs({ path: [65001] }), '192.0.2.7', [P1], [P1, P2]),
      0,
    );
    expect(changes).toEqual({ prefixes: [P2, P1], nexthops: [null, ['192.0.2.7']] });
  });

  it('a withdrawal of something never announced changes nothing', () => {
    const r = rib();
    r.addPeer(a);
    expect(r.applyUpdate(a.address, withdraw([P1, P6]), 0)).toEqual({ prefixes: [], nexthops: [] });
  });

  it('an unchanged re-announcement reports nothing; a new next hop is reported', () => {
    const r = rib();
    r.addPeer(a);
    const at = attrs({ path: [65001] });
    r.applyUpdate(a.address, announce(at, '192.0.2.1', [P1]), 0);
    expect(r.applyUpdate(a.address, announce(at, '192.0.2.1', [P1]), 5).prefixes).toEqual([]);
    expect(r.applyUpdate(a.address, announce(at, '192.0.2.9', [P1]), 5).nexthops).toEqual([['192.0.2.9']]);
  });

  it('peerDown removes everything, reports null where no route is left and the fallback elsewhere', () => {
    const r = rib();
    r.addPeer(a);
    r.addPeer(b);
    r.applyUpdate(a.address, announce(attrs({ path: [65001] }), '192.0.2.1', [P1, P2, P6]), 0);
    r.applyUpdate(b.address, announce(attrs({ path: [65002, 65003] }), '192.0.2.2', [P2]), 0);
    const changes = r.peerDown(a.address);
    const byPrefix = new Map(changes.prefixes.map((x, i) => [x, changes.nexthops[i]]));
    expect(byPrefix).toEqual(
      new Map<string | number, readonly string[] | null>([
        [P1, null],
        [P2, ['192.0.2.2']],
        [P6, null],
      ]),
    );
    expect(r.counts(a.address)).toEqual({ received: 0, accepted: 0, stale: 0 });
    expect(r.adjRibIn(a.address)).toEqual([]);
    expect(r.size).toBe(1);
    expect(r.removePeer(b.address).nexthops).toEqual([null]);
    expect(r.peers().map((x) => x.address)).toEqual([a.address]);
  });

  it('peerDownSlice withdraws a budget of table entries per call, other peers changing the table between', () => {
    const r = rib();
    r.addPeer(a);
    r.addPeer(b);
    const many = Array.from({ length: 10 }, (_, i) => key(`10.${i}.0.0/16`));
    r.applyUpdate(a.address, announce(attrs({ path: [65001] }), '192.0.2.1', [...many, P6]), 0);
    r.applyUpdate(b.address, announce(attrs({ path: [65002, 65003] }), '192.0.2.2', [many[0]!]), 0);
    const told: number[] = [];
    r.onBatch((prefixes) => told.push(prefixes.length));
    const first = r.peerDownSlice(a.address, 4);
    expect(first.done).toBe(false);
    expect(first.changes.prefixes.length).toBeLessThanOrEqual(4);
    expect(r.withdrawing(a.address)).toBe(true);
    expect(() => r.addPeer(a)).toThrow(/still being withdrawn/);
    // Between slices: B announces one of A's prefixes (withdrawn already or not: the order is random), and a
    // new one.
    const between = r.applyUpdate(
      b.address,
      announce(attrs({ path: [65002, 65003] }), '192.0.2.2', [many[9]!, P2]),
      0,
    );
    const all = [first.changes, between];
    for (let i = 0; i < 10; i++) {
      const s = r.peerDownSlice(a.address, 4);
      all.push(s.changes);
      if (s.done) break;
    }
    expect(r.withdrawing(a.address)).toBe(false);
    expect(told.length).toBeGreaterThanOrEqual(3);
    const final = new Map<PrefixKey, readonly string[] | null>();
    for (const c of all) c.prefixes.forEach((p, i) => final.set(p, c.nexthops[i]!));
    expect(final.get(many[0]!)).toEqual(['192.0.2.2']);
    expect(final.get(many[9]!)).toEqual(['192.0.2.2']);
    expect(final.get(many[5]!)).toBe(null);
    expect(final.get(P6)).toBe(null);
    expect(r.counts(a.address)).toEqual({ received: 0, accepted: 0, stale: 0 });
    expect(r.adjRibIn(a.address)).toEqual([]);
    expect(r.size).toBe(3); // many[0], many[9], P2: B's
    r.addPeer(a);
  });

  it('peerDown finishes a withdrawal peerDownSlice began, in one batch', () => {
    const r = rib();
    r.addPeer(a);
    const many = Array.from({ length: 10 }, (_, i) => key(`10.${i}.0.0/16`));
    r.applyUpdate(a.address, announce(attrs({ path: [65001] }), '192.0.2.1', many), 0);
    const first = r.peerDownSlice(a.address, 3).changes.prefixes.length;
    expect(first).toBe(3);
    expect(r.peerDown(a.address).prefixes).toHaveLength(10 - first);
    expect(r.size).toBe(0);
    expect(r.peerDownSlice(a.address, 3)).toEqual({ changes: { prefixes: [], nexthops: [] }, done: true });
  });

  it('refuses UPDATEs from unknown peers, and re-adding a peer that still holds routes', () => {
    const r = rib();
    expect(() => r.applyUpdate('192.0.2.77', withdraw([P1]), 0)).toThrow(/unknown peer/);
    r.addPeer(a);
    r.applyUpdate(a.address, announce(attrs({ path: [65001] }), '192.0.2.1', [P1]), 0);
    expect(() => r.addPeer(a)).toThrow(/call peerDown/);
    // Session down, then up again with a new router id: accepted, and the new description is used.
    r.peerDown(a.address);
    r.addPeer({ ...a, bgpId: '192.0.2.99' });
    r.applyUpdate(a.address, announce(attrs({ path: [65001] }), '192.0.2.1', [P1]), 0);
    expect(r.bestPath(P1)!.peer!.bgpId).toBe('192.0.2.99');
    expect(r.peers()).toHaveLength(1);
  });
});

describe('Loc-RIB: ineligible and refused paths stay visible', () => {
  const ebgp = peer('192.0.2.1', 65001);
  const client = peer('10.0.0.2', LOCAL_ASN, { routeReflectorClient: true });

  it('marks AS_PATH loops, ORIGINATOR_ID and CLUSTER_LIST loops, never best, counted as not accepted', () => {
    const r = rib();
    r.addPeer(ebgp);
    r.addPeer(client);
    r.applyUpdate(ebgp.address, announce(attrs({ path: [65001, LOCAL_ASN] }), '192.0.2.1', [P1]), 0);
    r.applyUpdate(client.address, announce(attrs({ originatorId: ROUTER_ID }), '10.0.0.2', [P2]), 0);
    r.applyUpdate(client.address, announce(attrs({ clusterList: ['10.255.0.1'] }), '10.0.0.2', [P6]), 0);
    expect(r.bestPath(P1)).toBe(undefined);
    expect(r.nexthops(P2)).toBe(null);
    expect(r.routes().map((v) => [v.prefix, v.best, v.reason])).toEqual([
      ['10.244.1.0/24', false, 'ineligible: as-path-loop'],
      ['10.244.2.0/24', false, 'ineligible: originator-id'],
      ['fd00:244:1::/64', false, 'ineligible: cluster-list-loop'],
    ]);
    expect(r.counts(ebgp.address)).toEqual({ received: 1, accepted: 0, stale: 0 });
    expect(r.counts(client.address)).toEqual({ received: 2, accepted: 0, stale: 0 });
    expect(r.adjRibIn(client.address).map((v) => v.reason)).toEqual([
      'ineligible: originator-id',
      'ineligible: cluster-list-loop',
    ]);
  });

  it('the AS_PATH loop check is for eBGP only', () => {
    const r = rib();
    const ibgp = peer('10.0.0.3', LOCAL_ASN);
    r.addPeer(ibgp);
    r.applyUpdate(ibgp.address, announce(attrs({ path: [65001, LOCAL_ASN] }), '10.0.0.3', [P1]), 0);
    expect(r.nexthops(P1)).toEqual(['10.0.0.3']);
  });

  it('the import filter refuses per prefix: kept in the Adj-RIB-In, not accepted, not best', () => {
    const seen: string[] = [];
    const r = rib((peerAddress, prefix) => {
      seen.push(peerAddress);
      return prefix !== P2;
    });
    r.addPeer(ebgp);
    const changes = r.applyUpdate(ebgp.address, announce(attrs({ path: [65001] }), '192.0.2.1', [P1, P2]), 0);
    expect(changes.prefixes).toEqual([P1]);
    expect(seen).toEqual([ebgp.address, ebgp.address]);
    expect(r.counts(ebgp.address)).toEqual({ received: 2, accepted: 1, stale: 0 });
    expect(r.adjRibIn(ebgp.address).map((v) => [v.prefix, v.reason, v.best])).toEqual([
      ['10.244.1.0/24', 'accepted', true],
      ['10.244.2.0/24', 'ineligible: import-filter', false],
    ]);
    // Refused prefixes share one twin path too.
    r.applyUpdate(ebgp.address, withdraw([P1, P2]), 0);
    expect(r.counts(ebgp.address)).toEqual({ received: 0, accepted: 0, stale: 0 });
  });
});

describe('Loc-RIB: locally originated routes', () => {
  const a = peer('192.0.2.1', 65001);

  it('win over learned ones and are never reported; a learned best they displace is reported null', () => {
    const r = rib();
    r.addPeer(a);
    r.applyUpdate(a.address, announce(attrs({ path: [65001] }), '192.0.2.1', [P1]), 0);
    expect(r.setLocal([{ prefix: P1 }, { prefix: P2 }], 0)).toEqual({ prefixes: [P1], nexthops: [null] });
    expect(r.bestPaths(P1)).toMatchObject({ step: 'local' });
    expect(r.nexthops(P2)).toBe(null);
    // Same set again: nothing changes, the Path objects are kept.
    const before = r.bestPath(P2);
    expect(r.setLocal([{ prefix: P1 }, { prefix: P2 }], 9)).toEqual({ prefixes: [], nexthops: [] });
    expect(r.bestPath(P2)).toBe(before);
    // Empty set: withdraw them all; the learned route comes back.
    expect(r.setLocal([], 10)).toEqual({ prefixes: [P1], nexthops: [['192.0.2.1']] });
    expect(r.size).toBe(1);
  });

  it('are seen by onBatch listeners, once per operation', () => {
    const r = rib();
    const batches: (string | number)[][] = [];
    const stop = r.onBatch((prefixes) => batches.push([...prefixes]));
    r.setLocal([{ prefix: P1, nextHop: '10.0.0.1' }, { prefix: P6 }], 0);
    expect(batches).toEqual([[P1, P6]]);
    r.setLocal([{ prefix: P1, nextHop: '10.0.0.7' }, { prefix: P6 }], 0);
    expect(batches[1]).toEqual([P1]);
    stop();
    r.setLocal([], 0);
    expect(batches).toHaveLength(2);
  });
});

describe('Loc-RIB: route views', () => {
  it('formats AS paths, origin, communities and large communities', () => {
    const r = rib();
    const a = peer('192.0.2.1', 65001);
    r.addPeer(a);
    const at = attrs({
      asPath: [
        { type: 2, asns: [65001, 65002] },
        { type: 1, asns: [65003, 65004] },
      ],
      origin: 2,
      med: 7,
      communities: [65000 * 65536 + 100],
      largeCommunities: [[1, 2, 3]],
    });
    r.applyUpdate(a.address, announce(at, '192.0.2.1', [P1]), 1_000);
    expect(r.routes({ peer: a.address }, 61_000)).toEqual([
      {
        prefix: '10.244.1.0/24',
        nexthops: ['192.0.2.1'],
        peer: '192.0.2.1',
        asPath: '65001 65002 {65003,65004}',
        origin: 'incomplete',
        med: 7,
        communities: ['65000:100'],
        largeCommunities: ['1:2:3'],
        best: true,
        multipath: false,
        reason: 'best: only-path',
        local: false,
        age: 60,
      },
    ]);
    expect(r.routes({ peer: '192.0.2.99' })).toEqual([]);
    expect(r.routes({ prefix: P2 })).toEqual([]);
  });

  it('spells well-known communities and AS paths as the logs do (no-export, not 65535:65281)', () => {
    const r = rib();
    const a = peer('192.0.2.1', 65001);
    r.addPeer(a);
    const at = attrs({
      asPath: [
        { type: 2, asns: [65001] },
        { type: 3, asns: [65010, 65011] },
        { type: 4, asns: [65020] },
        { type: 2, asns: [] },
      ],
      communities: [
        COMMUNITY_NO_EXPORT,
        COMMUNITY_NO_ADVERTISE,
        COMMUNITY_NO_EXPORT_SUBCONFED,
        65001 * 65536 + 7,
      ],
    });
    r.applyUpdate(a.address, announce(at, '192.0.2.1', [P1]), 0);
    const view = r.routes({ peer: a.address })[0]!;
    expect(view.communities).toEqual(['no-export', 'no-advertise', 'no-export-subconfed', '65001:7']);
    expect(view.asPath).toBe('65001 (65010 65011) [65020]');
    // The log line of the same attributes carries the same words.
    const logged = formatPathAttributes(at);
    expect(logged).toContain(`as-path ${view.asPath},`);
    expect(logged).toContain(`communities ${view.communities.join(' ')}`);
  });
});

describe('Loc-RIB: graceful restart and enhanced route refresh (stale routes)', () => {
  const a = peer('192.0.2.1', 65001);
  const at = attrs({ path: [65001] });

  it('keeps stale routes in use, un-stales re-announced ones, sweeps the rest at End-of-RIB', () => {
    const r = rib();
    r.addPeer(a);
    r.applyUpdate(a.address, announce(at, '192.0.2.1', [P1, P2, P6]), 0);
    r.markStale(a.address);
    expect(r.counts(a.address)).toEqual({ received: 0, accepted: 0, stale: 3 });
    expect(r.nexthops(P1)).toEqual(['192.0.2.1']);
    // The session comes back (a new RibPeer object), re-announces P1 with the same next hop, withdraws P6.
    r.addPeer({ ...a, bgpId: '192.0.2.50' });
    expect(r.applyUpdate(a.address, announce(at, '192.0.2.1', [P1]), 5).prefixes).toEqual([]);
    expect(r.applyUpdate(a.address, withdraw([P6]), 5)).toEqual({ prefixes: [P6], nexthops: [null] });
    expect(r.candidates(P1)).toHaveLength(1);
    expect(r.bestPath(P1)!.peer!.bgpId).toBe('192.0.2.50');
    expect(r.counts(a.address)).toEqual({ received: 1, accepted: 1, stale: 1 });
    expect(r.adjRibIn(a.address).map((v) => [v.prefix, v.reason])).toEqual([
      ['10.244.1.0/24', 'accepted'],
      ['10.244.2.0/24', 'stale, accepted'],
    ]);
    expect(r.sweepStale(a.address)).toEqual({ prefixes: [P2], nexthops: [null] });
    expect(r.counts(a.address)).toEqual({ received: 1, accepted: 1, stale: 0 });
    expect(r.size).toBe(1);
  });

  it("sweeps one family's stale routes of one peer, and leaves another peer's paths alone", () => {
    const r = rib();
    const b = peer('192.0.2.2', 65002);
    r.addPeer(a);
    r.addPeer(b);
    r.applyUpdate(a.address, announce(at, '192.0.2.1', [P1, P6]), 0);
    r.applyUpdate(b.address, announce(attrs({ path: [65002, 65009] }), '192.0.2.2', [P1]), 0);
    r.markStale(a.address);
    expect(r.counts(a.address)).toEqual({ received: 0, accepted: 0, stale: 2 });
    expect(r.sweepStale(a.address, AFI_IPV4)).toEqual({ prefixes: [P1], nexthops: [['192.0.2.2']] });
    expect(r.counts(a.address)).toEqual({ received: 0, accepted: 0, stale: 1 });
    expect(r.counts(b.address)).toEqual({ received: 1, accepted: 1, stale: 0 });
    expect(r.adjRibIn(a.address).map((v) => [v.prefix, v.reason])).toEqual([
      ['fd00:244:1::/64', 'stale, accepted'],
    ]);
    expect(r.peerDown(a.address)).toEqual({ prefixes: [P6], nexthops: [null] });
    expect(r.candidates(P1).map((p) => p.peer!.address)).toEqual([b.address]);
  });

  it('peerDown during a restart withdraws stale routes too', () => {
    const r = rib();
    r.addPeer(a);
    r.applyUpdate(a.address, announce(at, '192.0.2.1', [P1]), 0);
    r.markStale(a.address);
    r.applyUpdate(a.address, announce(at, '192.0.2.1', [P2]), 0);
    const changes = r.peerDown(a.address);
    expect(new Set(changes.prefixes)).toEqual(new Set([P1, P2]));
    expect(r.size).toBe(0);
  });
});

describe('Loc-RIB: next hops for the FIB (RFC 2545 §3, RFC 8950)', () => {
  const at = attrs({ path: [65001] });
  const v6block = (
    nextHop: string,
    linkLocalNextHop: string | undefined,
    prefixes: PrefixKey[],
  ): UpdateMessage => ({
    ...announce(at, nextHop, prefixes),
    reach: [
      {
        afi: typeof prefixes[0] === 'number' ? AFI_IPV4 : AFI_IPV6,
        safi: 1,
        nextHop,
        ...(linkLocalNextHop === undefined ? {} : { linkLocalNextHop }),
        prefixes,
      },
    ],
  });

  it('a 32-byte next hop: the global one, else the link-local one on the interface of our session address', () => {
    const a = peer('fd00:81::1', 65001, { localAddress: 'fd00:81::2' });
    const b = peer('10.82.0.1', 65001, { localAddress: '10.82.0.2' });
    const r = rib();
    r.addPeer(a);
    r.addPeer(b);
    expect(r.applyUpdate(a.address, v6block('fd00:81::1', 'fe80::1', [P1, P6]), 0)).toEqual({
      prefixes: [P1, P6],
      nexthops: [['fd00:81::1|fe80::1%fd00:81::2'], ['fd00:81::1|fe80::1%fd00:81::2']],
    });
    // The two peers are one ECMP set: each entry keeps its own alternative.
    expect(r.applyUpdate(b.address, v6block('fd00:82::1', 'fe80::2', [P6]), 0).nexthops).toEqual([
      ['fd00:81::1|fe80::1%fd00:81::2', 'fd00:82::1|fe80::2%10.82.0.2'],
    ]);
    // What a user reads is the next hop as received.
    expect(r.routes().find((v) => v.peer === a.address && v.prefix === 'fd00:244:1::/64')?.nexthops).toEqual([
      'fd00:81::1',
    ]);
  });

  it('a global that is unspecified or link-local is no choice: the link-local one with its interface', () => {
    const a = peer('10.82.0.1', 65001, { localAddress: '10.82.0.2' });
    const fib = (nextHop: string, linkLocal: string | undefined): unknown => {
      const r = rib();
      r.addPeer(a);
      return r.applyUpdate(a.address, v6block(nextHop, linkLocal, [P6]), 0).nexthops;
    };
    expect(fib('::', 'fe80::2')).toEqual([['fe80::2%10.82.0.2']]);
    expect(fib('fe80::2', 'fe80::2')).toEqual([['fe80::2%10.82.0.2']]);
    expect(fib('fe80::3', undefined)).toEqual([['fe80::3%10.82.0.2']]);
    expect(fib('fd00:82::1', undefined)).toEqual([['fd00:82::1']]);
  });
});
