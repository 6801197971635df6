import { describe, expect, it } from 'vitest';
import { LocRib } from '../../../bgp/rib/loc-rib.js';
import type { RibPeer } from '../../../bgp/rib/peer.js';
import type { Negotiated } from '../../../bgp/negotiate.js';
import { OUTPUT_HIGH_WATER_BYTES } from '../../../bgp/out-queue.js';
import { groupKey, UpdateGroup, UpdateGroups, type GroupMember } from '../../../bgp/update-group.js';
import { decodeMessage } from '../../../bgp/wire/index.js';
import { MESSAGE_UPDATE } from '../../../bgp/wire/iana.js';
import type { PathAttributes } from '../../../bgp/wire/types.js';
import type { PrefixKey } from '../../../ip/prefix.js';
import { key } from '../../support/prefix.js';
import { announce, attrs, LOCAL_ASN, peer, ROUTER_ID, withdraw } from './rib/helpers.js';

const CLUSTER = '10.255.0.1';
const P1 = key('10.244.1.0/24');
const P2 = key('10.244.2.0/24');
const P3 = key('10.244.3.0/24');

function negotiated(p: RibPeer, extra: Partial<Negotiated> = {}): Negotiated {
  return {
    holdTime: 90,
    keepaliveTime: 30,
    fourOctetAs: true,
    families: [{ afi: 1, safi: 1 }],
    routeRefresh: true,
    enhancedRouteRefresh: false,
    extendedNextHopIpv4: false,
    peerBgpId: p.bgpId,
    peerAsn: p.asn,
    localAsn: LOCAL_ASN,
    ibgp: p.ibgp,
    peerCapabilities: [],
    ...extra,
  };
}

/** What one member received, decoded: prefix → attributes, withdrawn prefixes, and how many writes. */
class FakeMember implements GroupMember {
  readonly bgpId: string;
  queued = 0;
  writes = 0;
  readonly routes = new Map<PrefixKey, PathAttributes>();
  readonly withdrawn: PrefixKey[] = [];
  constructor(readonly peer: RibPeer) {
    this.bgpId = peer.bgpId;
  }
  get address(): string {
    return this.peer.address;
  }
  backlog(): number {
    return this.queued;
  }
  send(buffers: readonly Buffer[]): void {
    this.writes++;
    for (const b of buffers)
      for (let off = 0; off < b.length; ) {
        const len = b.readUInt16BE(off + 16);
        const r = decodeMessage(b.subarray(off, off + len), { fourOctetAs: true, ibgp: this.peer.ibgp });
        off += len;
        if (!r.ok || r.message.type !== MESSAGE_UPDATE) throw new Error('not an UPDATE');
        for (const w of r.message.withdrawn)
          for (const p of w.prefixes) {
            this.routes.delete(p);
            this.withdrawn.push(p);
          }
        for (const reach of r.message.reach)
          for (const p of reach.prefixes) this.routes.set(p, r.message.attributes!);
      }
  }
}

function reflector(...peers: RibPeer[]): LocRib {
  const rib = new LocRib({ localAsn: LOCAL_ASN, routerId: ROUTER_ID, clusterId: CLUSTER });
  for (const p of peers) rib.addPeer(p);
  return rib;
}

const client = (i: number, extra: Partial<RibPeer> = {}): RibPeer =>
  peer(`10.0.1.${i}`, LOCAL_ASN, { routeReflectorClient: true, ...extra });

describe('update groups: the key', () => {
  const a = client(1);
  const b = client(2);
  it('peers with the same rules and capabilities share a key, whatever their address', () => {
    expect(groupKey(a, negotiated(a), undefined)).toBe(groupKey(b, negotiated(b), undefined));
  });
  it('client or not, families, 4-octet AS, extended next hop, our address, the policy key: each splits', () => {
    const base = groupKey(a, negotiated(a), undefined);
    const nonClient = peer('10.0.1.9', LOCAL_ASN);
    expect(groupKey(nonClient, negotiated(nonClient), undefined)).not.toBe(base);
    expect(
      groupKey(
        a,
        negotiated(a, {
          families: [
            { afi: 1, safi: 1 },
            { afi: 2, safi: 1 },
          ],
        }),
        undefined,
      ),
    ).not.toBe(base);
    expect(groupKey(a, negotiated(a, { fourOctetAs: false }), undefined)).not.toBe(base);
    expect(groupKey(a, negotiated(a, { extendedNextHopIpv4: true }), undefined)).not.toBe(base);
    const elsewhere = client(3, { localAddress: '10.0.0.2' });
    expect(groupKey(elsewhere, negotiated(elsewhere), undefined)).not.toBe(base);
    expect(groupKey(a, negotiated(a), 'external')).not.toBe(base);
    const ebgp = peer('192.0.2.1', 65001);
    expect(groupKey(ebgp, negotiated(ebgp), undefined)).not.toBe(base);
  });
  it('an export filter without a policy key: a group per peer; with one: peers of one key share', () => {
    const rib = reflector(a, b);
    const alone = new UpdateGroups(rib, {
      asn: LOCAL_ASN,
      routerId: ROUTER_ID,
      listen: false,
      exportFilter: () => true,
    });
    const ga = alone.join(new FakeMember(a), a, negotiated(a));
    const gb = alone.join(new FakeMember(b), b, negotiated(b));
    expect(ga).not.toBe(gb);
    const keyed = new UpdateGroups(rib, {
      asn: LOCAL_ASN,
      routerId: ROUTER_ID,
      listen: false,
      exportFilter: () => true,
      exportPolicyKey: () => 'internal',
    });
    expect(keyed.join(new FakeMember(a), a, negotiated(a))).toBe(
      keyed.join(new FakeMember(b), b, negotiated(b)),
    );
    expect(keyed.count).toBe(1);
  });
});

describe('update groups: one computation, one encoding, per-member exclusion', () => {
  function setup(n: number) {
    const peers = Array.from({ length: n }, (_, i) => client(i + 1));
    const rib = reflector(...peers);
    const groups = new UpdateGroups(rib, { asn: LOCAL_ASN, routerId: ROUTER_ID, listen: false });
    const members = peers.map((p) => new FakeMember(p));
    const group = groups.join(members[0]!, peers[0]!, negotiated(peers[0]!));
    for (let i = 1; i < n; i++)
      expect(groups.join(members[i]!, peers[i]!, negotiated(peers[i]!))).toBe(group);
    const drain = () => {
      for (let k = 0; k < 100 && (groups.flush() || members.some((m) => group.catchUp(m))); k++);
    };
    return { peers, rib, groups, group, members, drain };
  }

  it("a client's route is encoded once for the group, reaches every other client, never its originator", () => {
    const { rib, group, members, drain } = setup(50);
    rib.applyUpdate('10.0.1.1', announce(attrs({ localPref: 100 }), '10.0.1.1', [P1]), 0);
    drain();
    expect(group.sharedMessages).toBe(1);
    expect(group.memberMessages).toBe(0);
    expect(members[0]!.routes.has(P1)).toBe(false);
    for (const m of members.slice(1)) {
      const a = m.routes.get(P1)!;
      expect(a.originatorId).toBe('10.0.1.1');
      expect(a.clusterList).toEqual([CLUSTER]);
    }
    // Every client's route: one encoding each, N−1 receivers each.
    for (let i = 2; i <= 50; i++)
      rib.applyUpdate(
        `10.0.1.${i}`,
        announce(attrs({ localPref: 100 }), `10.0.1.${i}`, [key(`11.0.${i}.0/24`)]),
        0,
      );
    drain();
    expect(group.sharedMessages).toBe(50);
    for (const [i, m] of members.entries()) {
      expect(m.routes.size).toBe(49); // client 1: the 49 others; the rest: P1 and 48 others
      expect(m.routes.has(key(`11.0.${i + 1}.0/24`))).toBe(false);
    }
  });

  it("a withdrawal reaches every member that has the route; the originator's own copy stays out", () => {
    const { rib, members, drain } = setup(5);
    rib.applyUpdate('10.0.1.2', announce(attrs({ localPref: 100 }), '10.0.1.2', [P2]), 0);
    drain();
    rib.applyUpdate('10.0.1.2', withdraw([P2]), 0);
    drain();
    for (const m of members) expect(m.routes.has(P2)).toBe(false);
    for (const m of members.filter((m) => m.address !== '10.0.1.2')) expect(m.withdrawn).toEqual([P2]);
  });

  it('a best path moving to a member withdraws the old route from that member only', () => {
    const { rib, members, drain } = setup(3);
    rib.applyUpdate('10.0.1.1', announce(attrs({ localPref: 100 }), '10.0.1.1', [P3]), 0);
    drain();
    expect(members[1]!.routes.get(P3)!.originatorId).toBe('10.0.1.1');
    // Client 2 announces it with a better LOCAL_PREF: it becomes best; client 2 must not keep client 1's.
    rib.applyUpdate('10.0.1.2', announce(attrs({ localPref: 200 }), '10.0.1.2', [P3]), 0);
    drain();
    expect(members[1]!.routes.has(P3)).toBe(false);
    expect(members[1]!.withdrawn).toEqual([P3]);
    expect(members[0]!.routes.get(P3)!.originatorId).toBe('10.0.1.2');
    expect(members[2]!.routes.get(P3)!.originatorId).toBe('10.0.1.2');
    expect(members[2]!.withdrawn).toEqual([]);
  });

  it('a slow member keeps prefix keys, not messages, does not hold up the group, and catches up from the latest state', () => {
    const { rib, group, members, drain } = setup(3);
    const slow = members[2]!;
    slow.queued = OUTPUT_HIGH_WATER_BYTES;
    const prefixes = Array.from({ length: 3000 }, (_, i) => key(`12.${i >> 8}.${i & 255}.0/24`));
    rib.applyUpdate('10.0.1.1', announce(attrs({ localPref: 100 }), '10.0.1.1', prefixes), 0);
    drain();
    expect(members[1]!.routes.size).toBe(3000);
    expect(slow.routes.size).toBe(0);
    expect(slow.writes).toBe(0);
    expect(group.isBehind(slow)).toBe(true);
    expect(group.pendingFor(slow)).toBe(3000);
    // While it is stalled, the same prefixes change again and again: its list stays bounded by the table.
    for (let round = 0; round < 5; round++) {
      rib.applyUpdate('10.0.1.1', announce(attrs({ localPref: 101 + round }), '10.0.1.1', prefixes), 0);
      drain();
    }
    expect(group.pendingFor(slow)).toBeLessThanOrEqual(2 * 3000 + 4096);
    expect(slow.writes).toBe(0);
    slow.queued = 0;
    drain();
    expect(group.isBehind(slow)).toBe(false);
    expect(slow.routes.size).toBe(3000);
    expect(slow.routes.get(prefixes[0]!)!.localPref).toBe(105);
    expect(group.memberMessages).toBeGreaterThan(0);
    // In step again: the next change is shared.
    const before = group.sharedMessages;
    rib.applyUpdate('10.0.1.2', announce(attrs({ localPref: 100 }), '10.0.1.2', [P1]), 0);
    drain();
    expect(group.sharedMessages).toBe(before + 1);
    expect(slow.routes.has(P1)).toBe(true);
  });

  it('a member that joins later starts from what the group advertised, minus its own routes', () => {
    const { rib, groups, group, drain, peers } = setup(3);
    rib.applyUpdate('10.0.1.1', announce(attrs({ localPref: 100 }), '10.0.1.1', [P1]), 0);
    const late = client(9);
    rib.addPeer(late);
    rib.applyUpdate(late.address, announce(attrs({ localPref: 100 }), late.address, [P2]), 0);
    drain();
    const m = new FakeMember(late);
    expect(groups.join(m, late, negotiated(late))).toBe(group);
    expect(group.isBehind(m)).toBe(true);
    for (let k = 0; k < 10 && group.catchUp(m); k++);
    expect([...m.routes.keys()]).toEqual([P1]);
    expect(m.withdrawn).toEqual([]); // its own route is skipped, not withdrawn: it never had it from us
    expect(peers.length).toBe(3);
  });

  it("a sole member's own route, learned before anyone else joined, still reaches the members that join later", () => {
    // 1000 route-reflector clients: the first one up sends its route while it is the group's only member.
    const { rib, groups, group, members, drain } = setup(1);
    rib.applyUpdate('10.0.1.1', announce(attrs({ localPref: 100 }), '10.0.1.1', [P1]), 0);
    drain();
    expect(members[0]!.routes.size).toBe(0);
    const second = client(2);
    rib.addPeer(second);
    const m = new FakeMember(second);
    expect(groups.join(m, second, negotiated(second))).toBe(group);
    for (let k = 0; k < 10 && (groups.flush() || group.catchUp(m)); k++);
    expect([...m.routes.keys()]).toEqual([P1]);
    expect(m.routes.get(P1)!.originatorId).toBe('10.0.1.1');
    expect(members[0]!.routes.size).toBe(0); // never its own back
  });

  it('route refresh for one member re-sends its table without touching the others', () => {
    const { rib, group, members, drain } = setup(3);
    rib.applyUpdate('10.0.1.1', announce(attrs({ localPref: 100 }), '10.0.1.1', [P1, P2]), 0);
    drain();
    const writes = members[2]!.writes;
    members[2]!.routes.clear();
    group.resend(members[2]!);
    drain();
    expect([...members[2]!.routes.keys()].sort()).toEqual([P1, P2].sort());
    expect(members[2]!.writes).toBeGreaterThan(writes);
    expect(members[1]!.writes).toBe(1);
  });

  it('a member moved to a new group (route-reflector client now) is sent nothing withdrawn that the new group announces', () => {
    // Issue 10's make-before-break: a mesh peer that becomes a client keeps every route it has from us; a
    // withdrawal before the new group's first flush would take them out of its kernel for a few ms.
    const nonClient = peer('10.0.1.7', LOCAL_ASN);
    const other = peer('10.0.1.8', LOCAL_ASN);
    const rib = reflector(nonClient, other);
    rib.applyUpdate(other.address, announce(attrs({ localPref: 100 }), other.address, [P3]), 0);
    rib.setLocal([{ prefix: P1 }, { prefix: P2 }], 0);
    const groups = new UpdateGroups(rib, { asn: LOCAL_ASN, routerId: ROUTER_ID, listen: false });
    const m = new FakeMember(nonClient);
    const before = groups.join(m, nonClient, negotiated(nonClient));
    // As the speaker drives it: shared slices, the member's catch-up, again while the group owes it anything.
    const drain = (g: UpdateGroup) => {
      for (let k = 0; k < 100; k++) {
        const more = groups.flush();
        if (!g.catchUp(m) && !more && g.drained(m)) break;
      }
    };
    drain(before);
    // iBGP to a non-client: our own routes, not the one learned over iBGP.
    expect([...m.routes.keys()].sort()).toEqual([P1, P2].sort());
    const asClient = { ...nonClient, routeReflectorClient: true };
    const after = groups.move(m, before, asClient, negotiated(asClient));
    expect(after).not.toBe(before);
    drain(after);
    expect(m.withdrawn).toEqual([]);
    expect([...m.routes.keys()].sort()).toEqual([P1, P2, P3].sort());
  });

  it('the last member leaving closes the group', () => {
    const rib = reflector(client(1));
    const groups = new UpdateGroups(rib, { asn: LOCAL_ASN, routerId: ROUTER_ID, listen: false });
    const m = new FakeMember(client(1));
    const g = groups.join(m, client(1), negotiated(client(1)));
    expect(g).toBeInstanceOf(UpdateGroup);
    groups.leave(m, g);
    expect(groups.count).toBe(0);
  });
});
