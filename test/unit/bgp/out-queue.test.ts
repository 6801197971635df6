/**
 * Bounded output per peer (issue 10 item 1): the pacer's rules on a virtual clock, the Adj-RIB-Out's slices,
 * and a Speaker on loopback whose peer stops reading while it sends a storm of ROUTE-REFRESH messages.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EXPORT_SLICE_PREFIXES,
  ExportPacer,
  OUTPUT_HIGH_WATER_BYTES,
  REFRESH_MIN_INTERVAL_MS,
} from '../../../bgp/out-queue.js';
import { Speaker } from '../../../bgp/speaker.js';
import type { Advertisement } from '../../../bgp/api.js';
import { AdjRibOut, LocRib } from '../../../bgp/rib/index.js';
import { formatPrefix } from '../../../ip/prefix.js';
import { key } from '../../support/prefix.js';
import { encodeKeepalive } from '../../../bgp/wire/keepalive.js';
import { encodeOpen } from '../../../bgp/wire/open.js';
import { encodeRouteRefresh } from '../../../bgp/wire/route-refresh.js';
import { RawPeer, rawOpen, until } from './raw-peer.js';

describe('ExportPacer', () => {
  it('coalesces refresh requests: one waiting per family, however many arrive', () => {
    const p = new ExportPacer([]);
    expect(p.request(1)).toBe(true);
    for (let i = 0; i < 2999; i++) expect(p.request(1)).toBe(false);
    expect(p.request(2)).toBe(true);
    expect(p.coalesced).toBe(2999);
    expect(p.due(0).sort()).toEqual([1, 2]);
    expect(p.due(0)).toEqual([]);
  });

  it('starts a family at most once per interval, and never while its re-send is under way', () => {
    const p = new ExportPacer([]);
    p.request(1);
    expect(p.due(1000)).toEqual([1]);
    p.request(1);
    // Still re-sending: not due whatever the time, and no deadline (drained() makes it due).
    expect(p.due(1000 + 10 * REFRESH_MIN_INTERVAL_MS)).toEqual([]);
    expect(p.nextDue()).toBeUndefined();
    expect(p.drained()).toEqual({ endOfRib: [], endOfRefresh: [1] });
    expect(p.nextDue()).toBe(1000 + REFRESH_MIN_INTERVAL_MS);
    expect(p.due(1000 + REFRESH_MIN_INTERVAL_MS - 1)).toEqual([]);
    expect(p.due(1000 + REFRESH_MIN_INTERVAL_MS)).toEqual([1]);
    expect(p.busy).toBe(true);
    p.drained();
    expect(p.busy).toBe(false);
  });

  it('owes End-of-RIB once, after the initial table', () => {
    const p = new ExportPacer([1, 2]);
    expect(p.idle).toBe(false);
    expect(p.drained()).toEqual({ endOfRib: [1, 2], endOfRefresh: [] });
    expect(p.idle).toBe(true);
    expect(p.drained()).toEqual({ endOfRib: [], endOfRefresh: [] });
  });

  it('is idle only with no End-of-RIB owed and no refresh waiting or under way', () => {
    const p = new ExportPacer([]);
    expect(p.idle).toBe(true);
    p.request(1);
    expect(p.idle).toBe(false); // waiting
    p.due(0);
    expect(p.idle).toBe(false); // re-sending
    expect(p.drained()).toEqual({ endOfRib: [], endOfRefresh: [1] });
    expect(p.idle).toBe(true);
  });

  it('pauses at the high-water mark', () => {
    expect(ExportPacer.paused(OUTPUT_HIGH_WATER_BYTES - 1)).toBe(false);
    expect(ExportPacer.paused(OUTPUT_HIGH_WATER_BYTES)).toBe(true);
  });
});

describe('AdjRibOut slices', () => {
  const peer = {
    address: '192.0.2.9',
    asn: 65009,
    localAsn: 65001,
    ibgp: false,
    bgpId: '10.0.0.9',
    routeReflectorClient: false,
    localAddress: '192.0.2.1',
    fourOctetAs: true,
  };

  function ribWith(count: number): LocRib {
    const rib = new LocRib({ localAsn: 65001, routerId: '10.0.0.1' });
    const routes = [];
    for (let i = 0; i < count; i++)
      routes.push({ prefix: key(`10.${i >> 8}.${i & 255}.0/24`), nextHop: '192.0.2.1' });
    rib.setLocal(routes, 0);
    return rib;
  }

  const prefixesOf = (p: ReturnType<AdjRibOut['takePending']>): string[] =>
    p.announce.flatMap((a) => a.reach.prefixes.map(formatPrefix));

  it('takePending(limit) hands out the table in slices, each prefix once', () => {
    const rib = ribWith(5000);
    const out = new AdjRibOut(peer, rib);
    const seen: string[] = [];
    let slices = 0;
    while (out.hasPending) {
      const slice = prefixesOf(out.takePending(EXPORT_SLICE_PREFIXES));
      expect(slice.length).toBeLessThanOrEqual(EXPORT_SLICE_PREFIXES);
      seen.push(...slice);
      slices++;
    }
    expect(slices).toBe(Math.ceil(5000 / EXPORT_SLICE_PREFIXES));
    expect(new Set(seen).size).toBe(5000);
    expect(out.advertisedCount).toBe(5000);
  });

  it('a route refresh keeps re-sending across slices until nothing is pending', () => {
    const rib = ribWith(3000);
    const out = new AdjRibOut(peer, rib);
    out.takePending();
    out.resendAll(1);
    const again: string[] = [];
    while (out.hasPending) again.push(...prefixesOf(out.takePending(1000)));
    expect(again).toHaveLength(3000);
    // Once complete, nothing is re-sent.
    out.enqueue([key('10.0.0.0/24')]);
    expect(prefixesOf(out.takePending(1000))).toEqual([]);
  });

  it('while nothing is taken, repeated changes cost prefixes, not messages', () => {
    const rib = ribWith(1000);
    const out = new AdjRibOut(peer, rib);
    out.takePending();
    const all = [...Array(1000).keys()].map((i) => key(`10.${i >> 8}.${i & 255}.0/24`));
    for (let round = 0; round < 50; round++) out.enqueue(all);
    expect(out.pendingCount).toBeLessThan(2 * 1000 + 4096 + 1000);
  });
});

// ---- A Speaker with a peer that stops reading ------------------------------------------------------------------

const speakers: Speaker[] = [];
const sockets: net.Socket[] = [];
const timers: NodeJS.Timeout[] = [];
afterEach(async () => {
  for (const t of timers.splice(0)) clearInterval(t);
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(speakers.splice(0).map((s) => s.stop()));
});

/** `count` prefixes, each with a next hop of its own, so that each goes in an UPDATE of its own (~50 octets). */
function bulky(count: number): Advertisement[] {
  const ads: Advertisement[] = [];
  for (let i = 0; i < count; i++)
    ads.push({
      prefix: key(`${10 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`),
      nextHop: `100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
    });
  return ads;
}

describe('a peer that stops reading and sends a refresh storm', () => {
  it('pauses its export at the high-water mark, coalesces the refreshes, and the other peer keeps its keepalives', async () => {
    const sp = new Speaker({ asn: 65002, routerId: '10.0.0.2', listen: { address: '127.0.0.2', port: 0 } });
    speakers.push(sp);
    await sp.start();
    sp.setAdvertisements(bulky(120_000));
    sp.addPeer({ address: '127.0.0.3', asn: 65003, passive: true, holdTime: 90 });
    sp.addPeer({ address: '127.0.0.4', asn: 65004, passive: true, holdTime: 3 });
    const port = sp.address()!.port;
    const connect = async (from: string, asn: number, id: string): Promise<RawPeer> => {
      const raw = await RawPeer.connect(port, from);
      sockets.push(raw.socket);
      raw.socket.write(
        encodeOpen(
          rawOpen({
            myAs: asn,
            bgpId: id,
            holdTime: from === '127.0.0.3' ? 90 : 3,
            capabilities: [{ code: 1, afi: 1, safi: 1 }, { code: 2 }, { code: 65, asn }],
          }),
        ),
      );
      raw.socket.write(encodeKeepalive());
      await until(() => sp.peers().find((p) => p.address === from)?.state === 'Established', {
        what: `${from} up`,
        timeout: 5000,
      });
      return raw;
    };
    const good = await connect('127.0.0.4', 65004, '10.0.0.4');
    const beat = setInterval(() => good.socket.write(encodeKeepalive()), 1000);
    timers.push(beat);
    const slow = await connect('127.0.0.3', 65003, '10.0.0.3');
    slow.socket.pause(); // reads nothing from now on
    const refresh = encodeRouteRefresh({ afi: 1, safi: 1 });
    slow.socket.write(Buffer.concat(Array.from({ length: 3000 }, () => refresh)));
    const view = () => sp.peers().find((p) => p.address === '127.0.0.3')!;
    await until(() => view().refreshesCoalesced! > 0 && view().outputQueued! >= OUTPUT_HIGH_WATER_BYTES, {
      what: 'export paused with refreshes coalesced',
      timeout: 30_000,
    });
    // Paused: what sits in user space is the high-water mark plus at most one slice; nothing more is encoded.
    const stalled = view();
    const sliceBytes = EXPORT_SLICE_PREFIXES * 64;
    expect(stalled.outputQueued).toBeLessThan(OUTPUT_HIGH_WATER_BYTES + sliceBytes);
    expect(stalled.exportPending).toBeGreaterThan(0);
    expect(stalled.refreshesCoalesced).toBeGreaterThanOrEqual(2990);
    const keepalives = good.types().filter((t) => t === 4).length;
    await new Promise((r) => setTimeout(r, 3500)); // longer than the good peer's hold time
    expect(view().updatesOut).toBe(stalled.updatesOut);
    expect(view().outputQueued).toBe(stalled.outputQueued);
    expect(sp.peers().find((p) => p.address === '127.0.0.4')!.state).toBe('Established');
    expect(good.types().filter((t) => t === 4).length).toBeGreaterThanOrEqual(keepalives + 2);
    // Reading again: the export resumes on 'drain' and the table completes.
    slow.socket.resume();
    await until(() => view().exportPending === 0 && view().outputQueued === 0, {
      what: 'export resumed and drained',
      timeout: 30_000,
    });
    expect(view().state).toBe('Established');
  }, 90_000);
});
