/**
 * Graceful restart in the speaker's shell, on a virtual clock, against a raw peer over loopback: the helper
 * keeps a restarting peer's paths stale (restart timer, End-of-RIB sweep, F = 0, Hard Reset), and as the
 * restarting speaker we send the R/F bits and hold back our routes and End-of-RIB until the deferral is over.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Speaker, STOP_FLUSH_MS } from '../../../bgp/speaker.js';
import { WITHDRAW_PAUSE_MS, WITHDRAW_SLICE } from '../../../bgp/peer.js';
import { ipv4Key } from '../../../ip/prefix.js';
import type { LocRibChanges, PeerConfig } from '../../../bgp/api.js';
import { encodeKeepalive } from '../../../bgp/wire/keepalive.js';
import { decodeOpen, encodeOpen } from '../../../bgp/wire/open.js';
import { encodeNotification } from '../../../bgp/wire/notification.js';
import { encodeEndOfRib, encodeUpdates } from '../../../bgp/wire/update-encode.js';
import type { Capability, OpenMessage } from '../../../bgp/wire/types.js';
import { HEADER_LENGTH, MESSAGE_OPEN, MESSAGE_UPDATE, TYPE_OFFSET } from '../../../bgp/wire/iana.js';
import { key } from '../../support/prefix.js';
import { RawPeer, rawOpen, until } from './raw-peer.js';
import { VirtualClock } from './virtual-clock.js';

const cleanup: (() => Promise<void>)[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(cleanup.splice(0).map((f) => f()));
});

const grCap = (over: Partial<Extract<Capability, { code: 64 }>> = {}): Capability => ({
  code: 64,
  restarting: false,
  notification: true,
  restartTime: 5,
  families: [{ afi: 1, safi: 1, forwarding: true }],
  ...over,
});

async function speaker(over: Partial<PeerConfig> = {}, restart?: { forwarding: boolean }) {
  const clock = new VirtualClock();
  const sp = new Speaker(
    { asn: 65002, routerId: '10.0.0.2', listen: { address: '127.0.0.2', port: 0 } },
    clock,
  );
  cleanup.push(async () => {
    const stopped = sp.stop();
    clock.advance(STOP_FLUSH_MS);
    await stopped;
  });
  await sp.start();
  if (restart !== undefined) sp.beginRestart(restart.forwarding);
  sp.addPeer({
    address: '127.0.0.3',
    asn: 65003,
    passive: true,
    holdTime: 0,
    gracefulRestartTime: 120,
    families: ['ipv4-unicast'],
    ...over,
  });
  return { sp, clock, port: sp.address()!.port };
}

async function established(sp: Speaker, port: number, open: Partial<OpenMessage>) {
  const raw = await RawPeer.connect(port, '127.0.0.3', '127.0.0.2');
  sockets.push(raw.socket);
  raw.socket.write(encodeOpen(rawOpen({ holdTime: 0, ...open })));
  await raw.waitFor(1);
  raw.socket.write(encodeKeepalive());
  await until(() => sp.peers()[0]!.state === 'Established', { timeout: 5000, what: 'Established' });
  return raw;
}

const ctx = { fourOctetAs: true, ibgp: false };
function routes(...prefixes: string[]): Buffer {
  return encodeUpdates(
    { origin: 0, asPath: [{ type: 2, asns: [65003] }] },
    { afi: 1, safi: 1, nextHop: '192.0.2.3', prefixes: prefixes.map(key) },
    ctx,
  )[0]!;
}

const withGr = (c: Capability) => ({ capabilities: [...rawOpen().capabilities, c] });
const stale = (sp: Speaker) => sp.routes().filter((r) => r.reason.startsWith('stale')).length;

describe('helper: a restarting peer', () => {
  it('TCP drop: its paths stay, stale, for its restart time, then go', async () => {
    const { sp, clock, port } = await speaker();
    const raw = await established(sp, port, withGr(grCap({ restartTime: 5 })));
    raw.socket.write(routes('10.1.0.0/16', '10.2.0.0/16'));
    await until(() => sp.routes().length === 2, { timeout: 5000, what: 'routes' });
    raw.socket.destroy();
    await until(() => sp.peers()[0]!.state !== 'Established', { timeout: 5000, what: 'down' });
    expect(sp.routes()).toHaveLength(2);
    expect(stale(sp)).toBe(2);
    expect(sp.peers()[0]!.gracefulRestart).toMatchObject({
      state: 'restarting',
      stale: 2,
      timeLeft: 5,
      restarts: 1,
    });
    clock.advance(4999);
    expect(sp.routes()).toHaveLength(2);
    clock.advance(1);
    expect(sp.routes()).toHaveLength(0);
    expect(sp.peers()[0]!.gracefulRestart?.state).toBeUndefined();
  });

  it('never back: a full table of stale paths goes in slices once the restart time is over, not in one go', async () => {
    const { sp, clock, port } = await speaker();
    const raw = await established(sp, port, withGr(grCap({ restartTime: 5 })));
    const count = WITHDRAW_SLICE + 10;
    const prefixes = Array.from({ length: count }, (_, i) => ipv4Key(0x0a000000 + i * 256, 24));
    for (const b of encodeUpdates(
      { origin: 0, asPath: [{ type: 2, asns: [65003] }] },
      { afi: 1, safi: 1, nextHop: '192.0.2.3', prefixes },
      ctx,
    ))
      raw.socket.write(b);
    await until(() => sp.peers()[0]!.received === count, { timeout: 5000, what: `${count} routes` });
    raw.socket.destroy();
    await until(() => sp.peers()[0]!.state !== 'Established', { timeout: 5000, what: 'down' });
    expect(stale(sp)).toBe(count);
    const batches: LocRibChanges[] = [];
    sp.on('loc-rib', (c) => batches.push(c));
    clock.advance(5000);
    expect(batches.map((b) => b.prefixes.length)).toEqual([WITHDRAW_SLICE]);
    expect(sp.routes()).toHaveLength(10);
    clock.advance(WITHDRAW_PAUSE_MS);
    expect(batches.map((b) => b.prefixes.length)).toEqual([WITHDRAW_SLICE, 10]);
    expect(sp.routes()).toHaveLength(0);
    expect(sp.peers()[0]!.gracefulRestart?.state).toBeUndefined();
    // Back afterwards: a new session with nothing left of the old one.
    clock.advance(1000);
    const back = await established(sp, port, withGr(grCap({ restarting: true })));
    back.socket.write(routes('10.1.0.0/16'));
    await until(() => sp.routes().length === 1, { timeout: 5000, what: 'the new route' });
    expect(stale(sp)).toBe(0);
  });

  it('back: re-sent paths are fresh, End-of-RIB sweeps the rest', async () => {
    const { sp, clock, port } = await speaker();
    const raw = await established(sp, port, withGr(grCap()));
    raw.socket.write(routes('10.1.0.0/16', '10.2.0.0/16'));
    await until(() => sp.routes().length === 2, { timeout: 5000, what: 'routes' });
    raw.socket.destroy();
    await until(() => sp.peers()[0]!.state !== 'Established', { timeout: 5000, what: 'down' });
    clock.advance(1000); // the damped restart lets the peer in again
    const back = await established(sp, port, withGr(grCap({ restarting: true })));
    expect(sp.peers()[0]!.gracefulRestart).toMatchObject({ state: 'stale', stale: 2 });
    back.socket.write(routes('10.1.0.0/16'));
    await until(() => stale(sp) === 1, { timeout: 5000, what: 'one re-sent' });
    back.socket.write(encodeEndOfRib(1, 1));
    await until(() => sp.routes().length === 1, { timeout: 5000, what: 'swept' });
    expect(stale(sp)).toBe(0);
  });

  it('back with F = 0: flushed at once', async () => {
    const { sp, clock, port } = await speaker();
    const raw = await established(sp, port, withGr(grCap()));
    raw.socket.write(routes('10.1.0.0/16'));
    await until(() => sp.routes().length === 1, { timeout: 5000, what: 'routes' });
    raw.socket.destroy();
    await until(() => sp.peers()[0]!.state !== 'Established', { timeout: 5000, what: 'down' });
    clock.advance(1000);
    await established(sp, port, withGr(grCap({ families: [{ afi: 1, safi: 1, forwarding: false }] })));
    expect(sp.routes()).toHaveLength(0);
  });

  it('Cease with the N bit keeps them; Hard Reset flushes', async () => {
    const { sp, clock, port } = await speaker();
    const raw = await established(sp, port, withGr(grCap()));
    raw.socket.write(routes('10.1.0.0/16'));
    await until(() => sp.routes().length === 1, { timeout: 5000, what: 'routes' });
    raw.socket.end(encodeNotification({ code: 6, subcode: 2 }));
    await until(() => sp.peers()[0]!.state !== 'Established', { timeout: 5000, what: 'down' });
    expect(stale(sp)).toBe(1);
    clock.advance(1000);
    const back = await established(sp, port, withGr(grCap()));
    back.socket.write(routes('10.1.0.0/16'));
    await until(() => stale(sp) === 0 && sp.routes().length === 1, { timeout: 5000, what: 'fresh' });
    back.socket.end(encodeNotification({ code: 6, subcode: 9, data: new Uint8Array([2]) }));
    await until(() => sp.routes().length === 0, { timeout: 5000, what: 'hard reset flush' });
  });

  it('a Cease without the N bit flushes (RFC 4724 alone)', async () => {
    const { sp, port } = await speaker();
    const raw = await established(sp, port, withGr(grCap({ notification: false })));
    raw.socket.write(routes('10.1.0.0/16'));
    await until(() => sp.routes().length === 1, { timeout: 5000, what: 'routes' });
    raw.socket.end(encodeNotification({ code: 6, subcode: 2 }));
    await until(() => sp.routes().length === 0, { timeout: 5000, what: 'flushed' });
  });

  it('without graceful restart configured on our side: flushed at once', async () => {
    const { sp, port } = await speaker({ gracefulRestartTime: 0 });
    const raw = await established(sp, port, withGr(grCap()));
    raw.socket.write(routes('10.1.0.0/16'));
    await until(() => sp.routes().length === 1, { timeout: 5000, what: 'routes' });
    raw.socket.destroy();
    await until(() => sp.routes().length === 0, { timeout: 5000, what: 'flushed' });
  });
});

function openOf(raw: RawPeer): OpenMessage {
  const m = raw.received.find((b) => b[TYPE_OFFSET] === MESSAGE_OPEN)!;
  const r = decodeOpen(m.subarray(HEADER_LENGTH));
  if (!r.ok) throw new Error('bad OPEN');
  return r.message;
}

describe('restarting speaker', () => {
  it('R and F bits; our routes and End-of-RIB wait for endDeferral; later OPENs lose the R bit', async () => {
    const { sp, clock, port } = await speaker({}, { forwarding: true });
    sp.setAdvertisements([{ prefix: key('10.9.0.0/24'), nextHop: '127.0.0.2' }]);
    const raw = await established(sp, port, withGr(grCap()));
    const gr = openOf(raw).capabilities.find((c) => c.code === 64);
    expect(gr).toMatchObject({
      restarting: true,
      notification: true,
      families: [{ afi: 1, forwarding: true }],
    });
    await new Promise((r) => setTimeout(r, 50)); // loopback IO only
    expect(raw.types().filter((t) => t === MESSAGE_UPDATE)).toHaveLength(0);
    sp.endDeferral('test');
    await until(() => raw.types().filter((t) => t === MESSAGE_UPDATE).length >= 2, {
      timeout: 5000,
      what: 'routes and End-of-RIB',
    });
    raw.socket.destroy();
    await until(() => sp.peers()[0]!.state !== 'Established', { timeout: 5000, what: 'down' });
    clock.advance(1000);
    const again = await established(sp, port, withGr(grCap()));
    expect(openOf(again).capabilities.find((c) => c.code === 64)).toMatchObject({ restarting: false });
  });

  it('a peer restarting too (R bit) gets our table and End-of-RIB at once (RFC 4724 §4.2)', async () => {
    const { sp, port } = await speaker({}, { forwarding: true });
    sp.setAdvertisements([{ prefix: key('10.9.0.0/24'), nextHop: '127.0.0.2' }]);
    const raw = await established(sp, port, withGr(grCap({ restarting: true })));
    await until(() => raw.types().filter((t) => t === MESSAGE_UPDATE).length >= 2, {
      timeout: 5000,
      what: 'routes and End-of-RIB without endDeferral',
    });
  });

  it('stop({ graceful }): Cease 6/2 with the N bit, no NOTIFICATION without; hardReset: Cease 6/9', async () => {
    const a = await speaker();
    const withN = await established(a.sp, a.port, withGr(grCap()));
    const stopped = a.sp.stop('restart', { graceful: true });
    await until(() => withN.ended, { timeout: 5000, what: 'FIN' });
    expect(withN.notification()).toEqual([6, 2]);
    a.clock.advance(STOP_FLUSH_MS);
    await stopped;

    const b = await speaker();
    const noN = await established(b.sp, b.port, withGr(grCap({ notification: false })));
    const stopped2 = b.sp.stop('restart', { graceful: true });
    await until(() => noN.ended, { timeout: 5000, what: 'FIN' });
    expect(noN.notification()).toBeUndefined();
    b.clock.advance(STOP_FLUSH_MS);
    await stopped2;

    const c = await speaker();
    const hard = await established(c.sp, c.port, withGr(grCap()));
    const stopped3 = c.sp.stop('decommission', { hardReset: true });
    await until(() => hard.ended, { timeout: 5000, what: 'FIN' });
    expect(hard.notification()).toEqual([6, 9]);
    c.clock.advance(STOP_FLUSH_MS);
    await stopped3;
  });
});
