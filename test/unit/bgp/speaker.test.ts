/**
 * Real Speakers over loopback TCP (127.0.0.1, .2, .3 — Linux routes all of 127/8 to lo).
 *
 * The codec treats a loopback NEXT_HOP as "not a unicast address" (RFC 4271 §6.3, treat-as-withdraw), so the
 * advertisements here carry documentation next hops (192.0.2.x, fd00::x) instead of the session address.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Speaker } from '../../../bgp/speaker.js';
import { survivor } from '../../../bgp/collision.js';
import type { LocRibChanges, PeerConfig, PeerStateEvent, SpeakerConfig } from '../../../bgp/api.js';
import { formatPrefix } from '../../../ip/prefix.js';
import { key } from '../../support/prefix.js';
import { until } from '../../../toolkit/index.js';

const NH = '192.0.2.1';
const running: Speaker[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop('test over')));
});

async function speaker(
  address: string,
  asn: number,
  routerId: string,
  extra: Partial<SpeakerConfig> = {},
): Promise<Speaker> {
  const s = new Speaker({ asn, routerId, listen: { address, port: 0 }, ...extra });
  running.push(s);
  await s.start();
  return s;
}

function port(s: Speaker): number {
  return s.address()!.port;
}

/** Resolve when `pred` holds, checking on every event and every 20 ms. */
function state(s: Speaker, peer: string): string | undefined {
  return s.peers().find((p) => p.address === peer)?.state;
}

/** The Loc-RIB as the daemon sees it: prefix → next hops, from the 'loc-rib' events. */
function fib(s: Speaker): Map<string, readonly string[]> {
  const table = new Map<string, readonly string[]>();
  s.on('loc-rib', (c: LocRibChanges) => {
    c.prefixes.forEach((p, i) => {
      const nh = c.nexthops[i];
      if (nh === null || nh === undefined) table.delete(formatPrefix(p));
      else table.set(formatPrefix(p), nh);
    });
  });
  return table;
}

function peerCfg(
  address: string,
  asn: number,
  p: number,
  local: string,
  over: Partial<PeerConfig> = {},
): PeerConfig {
  return { address, asn, port: p, localAddress: local, holdTime: 3, connectRetryTime: 1, ...over };
}

async function pair(
  asnA: number,
  asnB: number,
  overA: Partial<PeerConfig> = {},
  overB: Partial<PeerConfig> = {},
) {
  const a = await speaker('127.0.0.1', asnA, '10.0.0.1');
  const b = await speaker('127.0.0.2', asnB, '10.0.0.2');
  const fibA = fib(a);
  const fibB = fib(b);
  a.addPeer(peerCfg('127.0.0.2', asnB, port(b), '127.0.0.1', overA));
  b.addPeer(peerCfg('127.0.0.1', asnA, port(a), '127.0.0.2', { passive: true, ...overB }));
  await until(() => state(a, '127.0.0.2') === 'Established' && state(b, '127.0.0.1') === 'Established', {
    what: 'Established',
    timeout: 8000,
  });
  return { a, b, fibA, fibB };
}

describe('two speakers over loopback', () => {
  it('eBGP: IPv4 and IPv6 advertisements, diff withdraws, end-of-rib', async () => {
    const { a, b, fibB } = await pair(65001, 65002);
    const eor: string[] = [];
    b.on('end-of-rib', (p) => eor.push(p));
    a.setAdvertisements([
      { prefix: key('10.244.1.0/24'), nextHop: NH },
      { prefix: key('10.244.9.0/24'), nextHop: NH },
      { prefix: key('fd00:1::/64'), nextHop: 'fd00::1' },
    ]);
    await until(() => fibB.size === 3, { what: 'routes at B', timeout: 5000 });
    expect(fibB.get('10.244.1.0/24')).toEqual([NH]);
    expect(fibB.get('fd00:1::/64')).toEqual(['fd00::1']);
    const route = b.routes({ prefix: key('10.244.1.0/24') })[0]!;
    expect(route.asPath).toBe('65001');
    expect(route.best).toBe(true);
    expect(
      a
        .adjRibOut('127.0.0.2')
        .map((r) => r.prefix)
        .sort(),
    ).toEqual(['10.244.1.0/24', '10.244.9.0/24', 'fd00:1::/64']);
    expect(b.adjRibIn('127.0.0.1')).toHaveLength(3);

    // the whole set again minus one: only that one is withdrawn
    a.setAdvertisements([
      { prefix: key('10.244.1.0/24'), nextHop: NH },
      { prefix: key('fd00:1::/64'), nextHop: 'fd00::1' },
    ]);
    await until(() => fibB.size === 2, { what: 'withdrawal at B', timeout: 5000 });
    expect(fibB.has('10.244.9.0/24')).toBe(false);
    a.setAdvertisements([]);
    await until(() => fibB.size === 0, { what: 'everything withdrawn', timeout: 5000 });

    const st = b.peers()[0]!;
    expect(st).toMatchObject({
      state: 'Established',
      holdTime: 3,
      peerRouterId: '10.0.0.1',
      establishedCount: 1,
    });
    expect(st.capabilities).toContain('four-octet-as');
    expect(st.updatesIn).toBeGreaterThan(0);
  });

  it('an advertisement with attributes of its own: communities and LOCAL_PREF sent, a change sent again', async () => {
    const { a, b } = await pair(65000, 65000);
    const attrs = (localPref: number) =>
      Object.freeze({
        origin: 0,
        asPath: Object.freeze([]),
        communities: Object.freeze([65000 * 65536 + 100]),
        localPref,
      });
    const first = attrs(300);
    a.setAdvertisements([{ prefix: key('192.0.2.10/32'), nextHop: NH, attributes: first }]);
    await until(() => b.routes({ prefix: key('192.0.2.10/32') }).length === 1, {
      what: 'route at B',
      timeout: 5000,
    });
    expect(b.routes({ prefix: key('192.0.2.10/32') })[0]).toMatchObject({
      localPref: 300,
      communities: ['65000:100'],
    });
    const sent = a.peers()[0]!.updatesOut;
    a.setAdvertisements([{ prefix: key('192.0.2.10/32'), nextHop: NH, attributes: first }]); // the same object
    a.setAdvertisements([{ prefix: key('192.0.2.10/32'), nextHop: NH, attributes: attrs(200) }]);
    await until(() => b.routes({ prefix: key('192.0.2.10/32') })[0]?.localPref === 200, {
      what: 'changed route at B',
      timeout: 5000,
    });
    expect(a.peers()[0]!.updatesOut).toBe(sent + 1);
  });

  it('iBGP: routes learned, AS path empty, local-pref sent', async () => {
    const { a, b, fibA } = await pair(65000, 65000);
    b.setAdvertisements([{ prefix: key('10.244.2.0/24'), nextHop: NH }]);
    await until(() => fibA.size === 1, { what: 'route at A', timeout: 5000 });
    const r = a.routes({ prefix: key('10.244.2.0/24') })[0]!;
    expect(r).toMatchObject({ asPath: '', localPref: 100, nexthops: [NH] });
  });

  it('IPv6 prefixes without an IPv6 next hop are not sent over an IPv4 session (logged once)', async () => {
    const { a, fibB } = await pair(65001, 65002);
    const logs: string[] = [];
    a.on('log', (e) => logs.push(e.event));
    a.setAdvertisements([{ prefix: key('fd00:2::/64') }, { prefix: key('10.244.3.0/24'), nextHop: NH }]);
    await until(() => fibB.size === 1, { what: 'IPv4 route at B', timeout: 5000 });
    await new Promise((r) => setTimeout(r, 100));
    expect([...fibB.keys()]).toEqual(['10.244.3.0/24']);
    expect(logs.filter((e) => e === 'no-usable-next-hop')).toHaveLength(1);
  });

  it('peer down flushes its routes; stop sends Cease 6/2', async () => {
    const { a, b, fibB } = await pair(65001, 65002);
    a.setAdvertisements([{ prefix: key('10.244.4.0/24'), nextHop: NH }]);
    await until(() => fibB.size === 1, { what: 'route at B', timeout: 5000 });
    const events: PeerStateEvent[] = [];
    b.on('peer-state', (e) => events.push(e));
    await a.stop('maintenance');
    await until(() => fibB.size === 0, { what: 'routes flushed at B', timeout: 5000 });
    await until(() => b.peers()[0]!.state !== 'Established', { what: 'B down', timeout: 5000 });
    expect(events[0]).toMatchObject({ from: 'Established', to: 'Idle', reason: 'notification-received' });
    expect(b.peers()[0]!.lastError).toContain('6/2');
  });

  it('removePeer sends Cease 6/3 and withdraws its routes', async () => {
    const { a, b, fibB } = await pair(65001, 65002);
    a.setAdvertisements([{ prefix: key('10.244.5.0/24'), nextHop: NH }]);
    await until(() => fibB.size === 1, { what: 'route at B', timeout: 5000 });
    b.removePeer('127.0.0.1');
    expect(fibB.size).toBe(0);
    await until(() => a.peers()[0]!.state !== 'Established', { what: 'A sees the Cease', timeout: 5000 });
    expect(a.peers()[0]!.lastError).toContain('received 6/3');
  });

  it('transit: a route from an eBGP peer reaches an iBGP peer with its AS path and next hop', async () => {
    const a = await speaker('127.0.0.1', 65001, '10.0.0.1');
    const b = await speaker('127.0.0.2', 65002, '10.0.0.2');
    const c = await speaker('127.0.0.3', 65002, '10.0.0.3');
    const fibC = fib(c);
    a.addPeer(peerCfg('127.0.0.2', 65002, port(b), '127.0.0.1'));
    b.addPeer(peerCfg('127.0.0.1', 65001, port(a), '127.0.0.2', { passive: true }));
    b.addPeer(peerCfg('127.0.0.3', 65002, port(c), '127.0.0.2'));
    c.addPeer(peerCfg('127.0.0.2', 65002, port(b), '127.0.0.3', { passive: true }));
    a.setAdvertisements([{ prefix: key('10.244.6.0/24'), nextHop: NH }]);
    await until(() => fibC.size === 1, { what: 'route at C', timeout: 8000 });
    expect(c.routes()[0]).toMatchObject({ asPath: '65001', nexthops: [NH] });
    await a.stop();
    await until(() => fibC.size === 0, { what: 'withdrawn at C', timeout: 8000 });
  });

  it('collision: both sides connect at once, exactly one session survives', async () => {
    const a = await speaker('127.0.0.1', 65001, '10.0.0.1');
    const b = await speaker('127.0.0.2', 65002, '10.0.0.2');
    const collisions: string[] = [];
    const sent: string[] = [];
    for (const s of [a, b])
      s.on('log', (e) => {
        if (e.event === 'collision') collisions.push(String(e.kept));
        if (e.event === 'notification-sent') sent.push(`${String(e.code)}/${String(e.subcode)}`);
      });
    a.addPeer(peerCfg('127.0.0.2', 65002, port(b), '127.0.0.1'));
    b.addPeer(peerCfg('127.0.0.1', 65001, port(a), '127.0.0.2'));
    await until(() => state(a, '127.0.0.2') === 'Established' && state(b, '127.0.0.1') === 'Established', {
      what: 'Established',
      timeout: 8000,
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(state(a, '127.0.0.2')).toBe('Established');
    expect(state(b, '127.0.0.1')).toBe('Established');
    // both connected, an OPEN decided, the loser got Cease 6/7, and no session flapped
    expect(collisions.length).toBeGreaterThan(0);
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent)).toEqual(new Set(['6/7']));
    expect(a.peers()[0]!.establishedCount).toBe(1);
    expect(b.peers()[0]!.establishedCount).toBe(1);
    // The dumped connection was no failure of the session: nothing to show beside it.
    expect(a.peers()[0]!.lastError).toBeUndefined();
    expect(b.peers()[0]!.lastError).toBeUndefined();
    const fibB = fib(b);
    a.setAdvertisements([{ prefix: key('10.244.7.0/24'), nextHop: NH }]);
    await until(() => fibB.size === 1, { what: 'route over the surviving session', timeout: 5000 });
  });

  it('updatePeer: a description change keeps the session, a hold-time change resets it with Cease 6/6', async () => {
    const { a, b } = await pair(65001, 65002);
    const cfg = peerCfg('127.0.0.2', 65002, port(b), '127.0.0.1');
    a.updatePeer({ ...cfg, description: 'rack 7' });
    expect(a.peers()[0]).toMatchObject({ state: 'Established', description: 'rack 7', establishedCount: 1 });
    a.updatePeer({ ...cfg, holdTime: 6 });
    await until(() => (b.peers()[0]!.lastError ?? '').includes('received 6/6'), {
      what: 'B sees Cease 6/6',
      timeout: 5000,
    });
    await until(() => state(a, '127.0.0.2') === 'Established' && state(b, '127.0.0.1') === 'Established', {
      what: 'back up',
      timeout: 8000,
    });
    expect(a.peers()[0]!.holdTime).toBe(3); // min(6, 3 from B)
  });

  it('route refresh: the peer re-sends its table, bracketed by BoRR/EoRR, and nothing is lost', async () => {
    const { a, b, fibB } = await pair(65001, 65002);
    a.setAdvertisements([{ prefix: key('10.244.8.0/24'), nextHop: NH }]);
    await until(() => fibB.size === 1, { what: 'route at B', timeout: 5000 });
    const before = b.peers()[0]!.updatesIn;
    expect(b.requestRefresh('127.0.0.1')).toBe(true);
    await until(() => b.peers()[0]!.updatesIn > before, { what: 'the refreshed table', timeout: 5000 });
    await new Promise((r) => setTimeout(r, 100));
    expect(fibB.size).toBe(1);
    expect(b.routes()).toHaveLength(1);
  });

  it('enhanced route refresh on a one-family session purges what the peer did not re-send', async () => {
    const one: Partial<PeerConfig> = { families: ['ipv4-unicast'] };
    const { a, b, fibB } = await pair(65001, 65002, one, one);
    a.setAdvertisements([{ prefix: key('10.244.11.0/24'), nextHop: NH }]);
    await until(() => fibB.size === 1, { what: 'route at B', timeout: 5000 });
    expect(b.requestRefresh('127.0.0.1')).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(fibB.size).toBe(1); // re-sent between BoRR and EoRR: not stale
  });

  it('IPv6 transport: two speakers on ::1 exchange IPv4 and IPv6 routes', async () => {
    const a = new Speaker({ asn: 65001, routerId: '10.0.0.1', listen: { address: '::1', port: 0 } });
    const b = new Speaker({ asn: 65002, routerId: '10.0.0.2', listen: { address: '::1', port: 0 } });
    running.push(a, b);
    await a.start();
    await b.start();
    const fibB = fib(b);
    a.addPeer({ address: '::1', asn: 65002, port: port(b), holdTime: 3, connectRetryTime: 1 });
    b.addPeer({ address: '::1', asn: 65001, port: port(a), holdTime: 3, passive: true });
    await until(() => state(a, '::1') === 'Established' && state(b, '::1') === 'Established', {
      what: 'Established',
      timeout: 8000,
    });
    a.setAdvertisements([
      { prefix: key('10.244.10.0/24'), nextHop: NH },
      { prefix: key('fd00:10::/64'), nextHop: 'fd00::10' },
    ]);
    await until(() => fibB.size === 2, { what: 'routes at B', timeout: 5000 });
    expect(fibB.get('fd00:10::/64')).toEqual(['fd00::10']);
    expect(fibB.get('10.244.10.0/24')).toEqual([NH]);
  });
});

describe('export policy', () => {
  it('exportPolicyChanged: what the filter now allows is sent and what it refuses withdrawn, nothing else', async () => {
    const allowed = new Set(['10.244.1.0/24']);
    const a = await speaker('127.0.0.1', 65001, '10.0.0.1', {
      exportFilter: (_peer, prefix) => allowed.has(formatPrefix(prefix)),
    });
    const b = await speaker('127.0.0.2', 65002, '10.0.0.2');
    const fibB = fib(b);
    a.addPeer(peerCfg('127.0.0.2', 65002, port(b), '127.0.0.1'));
    b.addPeer(peerCfg('127.0.0.1', 65001, port(a), '127.0.0.2', { passive: true }));
    a.setAdvertisements([
      { prefix: key('10.244.1.0/24'), nextHop: NH },
      { prefix: key('10.244.2.0/24'), nextHop: NH },
    ]);
    await until(() => fibB.size === 1, { what: 'the allowed route at B', timeout: 8000 });
    const updates = b.peers()[0]!.updatesIn;
    allowed.add('10.244.2.0/24');
    allowed.delete('10.244.1.0/24');
    a.exportPolicyChanged();
    await until(() => fibB.has('10.244.2.0/24') && !fibB.has('10.244.1.0/24'), {
      what: 'the new policy at B',
      timeout: 5000,
    });
    expect(b.peers()[0]!.updatesIn - updates).toBeLessThanOrEqual(2);
  });
});

describe('packing', () => {
  it('5,000 advertisements arrive in a handful of packed UPDATEs, and withdraw the same way', async () => {
    const { a, b, fibB } = await pair(65001, 65002);
    const ads = Array.from({ length: 5000 }, (_, i) => ({
      prefix: key(`10.${100 + (i >> 8)}.${i & 255}.0/24`),
      nextHop: NH,
    }));
    const before = b.peers()[0]!.updatesIn;
    a.setAdvertisements(ads);
    await until(() => fibB.size === 5000, { what: '5,000 routes at B', timeout: 8000 });
    const updates = b.peers()[0]!.updatesIn - before;
    expect(updates).toBeLessThanOrEqual(20); // ~1,000 /24s fit in one 4,096-octet UPDATE
    expect(a.peers()[0]!.advertised).toBe(5000);
    a.setAdvertisements([]);
    await until(() => fibB.size === 0, { what: 'all withdrawn', timeout: 8000 });
    expect(b.peers()[0]!.updatesIn - before - updates).toBeLessThanOrEqual(20);
  });
});

describe('RFC 4271 §6.8 collision rule', () => {
  const ids = { localId: '10.0.0.1', remoteId: '10.0.0.2', localAsn: 65001, remoteAsn: 65002 };
  it('the connection initiated by the higher BGP identifier survives, seen from both ends', () => {
    // we are lower: keep the connection the peer opened
    expect(survivor(ids, { candidate: false, other: true })).toBe('candidate');
    expect(survivor(ids, { candidate: true, other: false })).toBe('other');
    // the peer's view of the same pair
    const theirs = { localId: '10.0.0.2', remoteId: '10.0.0.1', localAsn: 65002, remoteAsn: 65001 };
    expect(survivor(theirs, { candidate: true, other: false })).toBe('candidate');
    expect(survivor(theirs, { candidate: false, other: true })).toBe('other');
  });
  it('equal identifiers: the higher AS wins (RFC 6286 §2.3)', () => {
    const same = { localId: '10.0.0.9', remoteId: '10.0.0.9', localAsn: 65009, remoteAsn: 65001 };
    expect(survivor(same, { candidate: true, other: false })).toBe('candidate');
  });
  it('numeric, not textual, comparison of identifiers', () => {
    const t = { localId: '9.0.0.1', remoteId: '10.0.0.1', localAsn: 1, remoteAsn: 2 };
    expect(survivor(t, { candidate: false, other: true })).toBe('candidate');
  });
});

describe('peer configuration', () => {
  it('is validated, naming the field', async () => {
    const s = new Speaker({ asn: 65001, routerId: '10.0.0.1', listen: false });
    expect(() => s.addPeer({ address: '127.0.0.2', asn: 65002, holdTime: 2 })).toThrow(/holdTime 2/);
    expect(() => s.addPeer({ address: 'nope', asn: 65002 })).toThrow(/address "nope"/);
    expect(() => s.addPeer({ address: '127.0.0.2', asn: 0 })).toThrow(/asn 0/);
    expect(() => s.addPeer({ address: '127.0.0.2', asn: 65002, localAddressIpv6: '10.0.0.1' })).toThrow(
      /localAddressIpv6/,
    );
    s.addPeer({ address: '127.0.0.2', asn: 65002 });
    expect(() => s.addPeer({ address: '127.0.0.2', asn: 65002 })).toThrow(/already exists/);
    await s.stop();
  });
});
