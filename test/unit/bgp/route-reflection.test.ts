/**
 * RFC 4456 with real Speakers over loopback: turning an iBGP peer into a route-reflector client (and back) by
 * `updatePeer` changes what is reflected, in place — no session is reset (no Cease 6/6), nothing flaps.
 *
 *        C1 127.0.0.2 ──── R 127.0.0.1 ──── C2 127.0.0.3       all AS 65000
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Speaker } from '../../../bgp/speaker.js';
import type { LocRibChanges, PeerConfig, PeerStateEvent, SpeakerConfig } from '../../../bgp/api.js';
import { formatPrefix, parsePrefix, type PrefixKey } from '../../../ip/prefix.js';
import { until } from './raw-peer.js';

const AS = 65000;
const running: Speaker[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

function key(text: string): PrefixKey {
  const k = parsePrefix(text);
  if (k instanceof Error) throw k;
  return k;
}

async function start(address: string, routerId: string, extra: Partial<SpeakerConfig> = {}) {
  const s = new Speaker({ asn: AS, routerId, listen: { address, port: 0 }, ...extra });
  running.push(s);
  await s.start();
  return s;
}

function cfg(address: string, to: Speaker, local: string, over: Partial<PeerConfig> = {}): PeerConfig {
  return {
    address,
    asn: AS,
    port: to.address()!.port,
    localAddress: local,
    holdTime: 9,
    connectRetryTime: 1,
    ...over,
  };
}

/** The routes a speaker installs: prefix → next hops, from its 'loc-rib' events. */
function fib(s: Speaker): Map<string, readonly string[]> {
  const table = new Map<string, readonly string[]>();
  s.on('loc-rib', (c: LocRibChanges) =>
    c.prefixes.forEach((p, i) => {
      const nh = c.nexthops[i];
      if (nh === null || nh === undefined) table.delete(formatPrefix(p));
      else table.set(formatPrefix(p), nh);
    }),
  );
  return table;
}

const up = (s: Speaker) => s.peers().every((p) => p.state === 'Established');
const sent = (r: Speaker, to: string) =>
  r
    .adjRibOut(to)
    .map((v) => v.prefix)
    .sort();

describe('route-reflector clients changed in place', () => {
  it('a peer made a client gets the reflected routes, and loses them again, on the same sessions', async () => {
    const reflected: { prefix: string; originatorId?: string; clusterList?: readonly string[] }[] = [];
    const r = await start('127.0.0.1', '10.0.0.1');
    const c1 = await start('127.0.0.2', '10.0.0.2', {
      importFilter: (_peer, prefix, a) => {
        reflected.push({
          prefix: formatPrefix(prefix),
          originatorId: a.originatorId,
          clusterList: a.clusterList,
        });
        return true;
      },
    });
    const c2 = await start('127.0.0.3', '10.0.0.3');
    const fib1 = fib(c1);
    const fib2 = fib(c2);
    const toC1 = cfg('127.0.0.2', c1, '127.0.0.1');
    r.addPeer(toC1);
    r.addPeer(cfg('127.0.0.3', c2, '127.0.0.1'));
    c1.addPeer(cfg('127.0.0.1', r, '127.0.0.2', { passive: true }));
    c2.addPeer(cfg('127.0.0.1', r, '127.0.0.3', { passive: true }));
    c1.setAdvertisements([{ prefix: key('10.244.21.0/24'), nextHop: '192.0.2.21' }]);
    c2.setAdvertisements([{ prefix: key('10.244.22.0/24'), nextHop: '192.0.2.22' }]);
    await until(() => [r, c1, c2].every(up) && r.routes().length === 2, {
      timeout: 8000,
      what: 'mesh up, R has both',
    });
    await new Promise((resolve) => setImmediate(resolve)); // R's export pass of that turn has run
    // Plain iBGP: R reflects nothing (RFC 4271 §9.1.3 split horizon).
    expect(sent(r, '127.0.0.2')).toEqual([]);
    expect(sent(r, '127.0.0.3')).toEqual([]);

    const transitions: PeerStateEvent[] = [];
    for (const s of [r, c1, c2]) s.on('peer-state', (e) => transitions.push(e));

    r.updatePeer({ ...toC1, routeReflectorClient: true });
    // RFC 4456 §6: a client's routes go to every peer, and a non-client's go to the clients.
    await until(() => fib1.has('10.244.22.0/24') && fib2.has('10.244.21.0/24'), {
      timeout: 5000,
      what: 'reflected both ways',
    });
    expect(fib1.get('10.244.22.0/24')).toEqual(['192.0.2.22']);
    expect(fib2.get('10.244.21.0/24')).toEqual(['192.0.2.21']);
    // RFC 4456 §8: ORIGINATOR_ID of the originator, our CLUSTER_ID (the router id) in CLUSTER_LIST.
    expect(reflected.filter((x) => x.prefix === '10.244.22.0/24')).toEqual([
      { prefix: '10.244.22.0/24', originatorId: '10.0.0.3', clusterList: ['10.0.0.1'] },
    ]);
    expect(sent(r, '127.0.0.2')).toEqual(['10.244.22.0/24']);
    expect(sent(r, '127.0.0.3')).toEqual(['10.244.21.0/24']);

    r.updatePeer({ ...toC1, routeReflectorClient: false });
    await until(() => !fib1.has('10.244.22.0/24') && !fib2.has('10.244.21.0/24'), {
      timeout: 5000,
      what: 'withdrawn both ways',
    });
    expect(sent(r, '127.0.0.2')).toEqual([]);

    // No session was reset on the way: no transition anywhere, every session still the first one.
    expect(transitions).toEqual([]);
    for (const s of [r, c1, c2])
      for (const p of s.peers()) expect(p).toMatchObject({ state: 'Established', establishedCount: 1 });
    expect(r.routes()).toHaveLength(2);
  });
});
