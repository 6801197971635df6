/**
 * Every deadline of a peer — its FSM's, the End-of-RIB fallback, the close grace of a dropped socket, the
 * dispose delay — is an entry in the peer's one timer list, with one real timer armed for the earliest. On a
 * virtual clock (bgp/clock.ts `Clock`, injected into the Speaker) time moves only when the test advances it:
 * no test here waits for a protocol timer in real time; the real waits are only for loopback IO.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Speaker, STOP_FLUSH_MS } from '../../../bgp/speaker.js';
import { END_OF_RIB_FALLBACK_MS, WITHDRAW_PAUSE_MS, WITHDRAW_SLICE } from '../../../bgp/peer.js';
import { CLOSE_GRACE_MS } from '../../../bgp/session.js';
import type { LocRibChanges, PeerConfig, SpeakerLogRecord } from '../../../bgp/api.js';
import { ipv4Key } from '../../../ip/prefix.js';
import { encodeKeepalive } from '../../../bgp/wire/keepalive.js';
import { encodeOpen } from '../../../bgp/wire/open.js';
import { encodeUpdates } from '../../../bgp/wire/update-encode.js';
import type { OpenMessage, PathAttributes } from '../../../bgp/wire/types.js';
import { RawPeer, rawOpen, until } from './raw-peer.js';
import { VirtualClock } from './virtual-clock.js';

const cleanup: (() => Promise<void>)[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(cleanup.splice(0).map((f) => f()));
});

async function virtualSpeaker(over: Partial<PeerConfig> = {}) {
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
  sp.addPeer({ address: '127.0.0.3', asn: 65003, passive: true, holdTime: 3, ...over });
  const logs: SpeakerLogRecord[] = [];
  sp.on('log', (e) => logs.push(e));
  return { sp, clock, port: sp.address()!.port, logs };
}

/** A raw peer taken to Established with `open`; `allowHalfOpen` keeps its side open after our FIN. */
async function established(port: number, open: Partial<OpenMessage>, allowHalfOpen = false) {
  const raw = await RawPeer.connect(port, '127.0.0.3', '127.0.0.2', allowHalfOpen);
  sockets.push(raw.socket);
  raw.socket.write(encodeOpen(rawOpen(open)));
  await raw.waitFor(1);
  raw.socket.write(encodeKeepalive());
  await raw.waitFor(4);
  return raw;
}

/** `prefixes` announced on `socket` with one attribute set, packed as the codec packs them. */
function announce(socket: net.Socket, prefixes: readonly number[]): void {
  const attrs: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65003] }] };
  const reach = { afi: 1 as const, safi: 1, nextHop: '192.0.2.3', prefixes: [...prefixes] };
  for (const b of encodeUpdates(attrs, reach, { fourOctetAs: true, ibgp: false })) socket.write(b);
}

/** A raw peer Established with `count` /24s (10.0.0.0/24 upwards) in the speaker's table. */
async function withTable(sp: Speaker, port: number, count: number, holdTime = 0) {
  const raw = await established(port, { holdTime });
  await until(() => sp.peers()[0]!.state === 'Established', { timeout: 5000, what: 'Established' });
  const prefixes = Array.from({ length: count }, (_, i) => ipv4Key(0x0a000000 + i * 256, 24));
  announce(raw.socket, prefixes);
  await until(() => sp.peers()[0]!.received === count, { timeout: 5000, what: `${count} routes` });
  return { raw, prefixes };
}

describe("a peer's deadlines, on a virtual clock", () => {
  it('one real timer per peer, armed for the earliest of the FSM timers and the End-of-RIB fallback', async () => {
    const { sp, clock, port } = await virtualSpeaker();
    await established(port, { holdTime: 3 });
    await until(() => sp.peers()[0]!.state === 'Established', { timeout: 5000, what: 'Established' });
    const t0 = clock.now();
    // Keepalive (1 s), hold (3 s) and End-of-RIB fallback (10 s) pending: one timer, for the keepalive.
    expect(clock.armed()).toEqual([t0 + 1000]);
  });

  it('a peer that sends no End-of-RIB is taken as complete after the fallback, in virtual time', async () => {
    const { sp, clock, port, logs } = await virtualSpeaker();
    const eor: string[] = [];
    sp.on('end-of-rib', (p) => eor.push(p));
    // Hold time 0: no keepalives and no hold timer, so only the fallback is pending.
    await established(port, { holdTime: 0 });
    await until(() => sp.peers()[0]!.state === 'Established', { timeout: 5000, what: 'Established' });
    expect(clock.armed()).toEqual([clock.now() + END_OF_RIB_FALLBACK_MS]);
    clock.advance(END_OF_RIB_FALLBACK_MS - 1);
    expect(eor).toEqual([]);
    clock.advance(1);
    expect(eor).toEqual(['127.0.0.3']);
    expect(logs.filter((l) => l.event === 'end-of-rib')).toMatchObject([
      { peer: '127.0.0.3', how: 'timeout' },
    ]);
    expect(clock.armed()).toEqual([]);
  });

  it('a peer announcing graceful restart gets no fallback: its End-of-RIB is awaited', async () => {
    const { sp, clock, port } = await virtualSpeaker();
    const gr = { code: 64 as const, restarting: false, notification: false, restartTime: 120, families: [] };
    await established(port, { holdTime: 0, capabilities: [...rawOpen().capabilities, gr] });
    await until(() => sp.peers()[0]!.state === 'Established', { timeout: 5000, what: 'Established' });
    expect(clock.armed()).toEqual([]);
  });

  it('removePeer: Cease 6/3, disposed after the flush delay, a socket left half-open cut after the close grace', async () => {
    const { sp, clock, port } = await virtualSpeaker();
    const raw = await established(port, { holdTime: 0 }, true);
    await until(() => sp.peers()[0]!.state === 'Established', { timeout: 5000, what: 'Established' });
    const t0 = clock.now();
    sp.removePeer('127.0.0.3');
    await until(() => raw.ended, { timeout: 5000, what: 'our FIN' });
    expect(raw.notification()).toEqual([6, 3]);
    // The dispose delay first, then the close grace of the socket the peer keeps open: still one timer.
    expect(clock.armed()).toEqual([t0 + STOP_FLUSH_MS]);
    clock.advance(STOP_FLUSH_MS);
    expect(clock.armed()).toEqual([t0 + CLOSE_GRACE_MS]);
    // Disposed, but within the grace the socket is still there: what the peer writes is taken (and ignored).
    raw.socket.write(encodeKeepalive());
    await new Promise((r) => setTimeout(r, 50)); // loopback IO only: virtual time stands still
    expect(raw.closed).toBe(false);
    clock.advance(CLOSE_GRACE_MS - STOP_FLUSH_MS);
    // Destroyed: octets from the half-open peer are answered with a reset.
    await until(() => raw.closed || (raw.socket.write(encodeKeepalive()) && false), {
      timeout: 5000,
      what: 'a reset',
    });
    expect(clock.armed()).toEqual([]);
  });

  it('stop() resolves once the peers are disposed, after the flush delay of virtual time', async () => {
    const { sp, clock, port } = await virtualSpeaker();
    const raw = await established(port, { holdTime: 0 });
    await until(() => sp.peers()[0]!.state === 'Established', { timeout: 5000, what: 'Established' });
    let done = false;
    const stopped = sp.stop('maintenance').then(() => (done = true));
    await until(() => raw.notification() !== undefined, { timeout: 5000, what: 'the Cease' });
    expect(raw.notification()).toEqual([6, 2]);
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    clock.advance(STOP_FLUSH_MS);
    await stopped;
    expect(done).toBe(true);
  });

  it("a dropped session's routes are withdrawn a slice per timer turn, not in one go", async () => {
    const { sp, clock, port, logs } = await virtualSpeaker();
    const count = 2 * WITHDRAW_SLICE + 100;
    const { raw } = await withTable(sp, port, count);
    const batches: LocRibChanges[] = [];
    sp.on('loc-rib', (c) => batches.push(c));
    const t0 = clock.now();
    raw.socket.destroy();
    await until(() => batches.length > 0, { timeout: 5000, what: 'the first slice' });
    // The first slice at once; the next one on a timer of its own, a pause later (another event-loop turn).
    expect(batches.map((b) => b.prefixes.length)).toEqual([WITHDRAW_SLICE]);
    expect(logs.find((l) => l.event === 'peer-down')).toMatchObject({ withdrawn: count });
    expect(clock.armed()[0]).toBe(t0 + WITHDRAW_PAUSE_MS);
    expect(sp.routes()).toHaveLength(count - WITHDRAW_SLICE);
    clock.advance(WITHDRAW_PAUSE_MS);
    expect(batches.map((b) => b.prefixes.length)).toEqual([WITHDRAW_SLICE, WITHDRAW_SLICE]);
    clock.advance(WITHDRAW_PAUSE_MS);
    expect(batches.map((b) => b.prefixes.length)).toEqual([WITHDRAW_SLICE, WITHDRAW_SLICE, 100]);
    expect(sp.routes()).toEqual([]);
    const gone = new Set(batches.flatMap((b) => b.prefixes));
    expect(gone.size).toBe(count);
    expect(batches.every((b) => b.nexthops.every((n) => n === null))).toBe(true);
    expect(logs.find((l) => l.event === 'peer-withdrawn')).toMatchObject({ changed: count, slices: 3 });
    expect(logs.find((l) => l.event === 'peer-withdrawn')).toMatchObject({ ms: 2 * WITHDRAW_PAUSE_MS });
    // Done: no slice timer is left.
    expect(clock.armed().filter((at) => at <= clock.now() + WITHDRAW_PAUSE_MS)).toEqual([]);
    clock.advance(WITHDRAW_PAUSE_MS);
    expect(batches).toHaveLength(3);
  });

  it('the same peer back before its last routes are all withdrawn: the rest go at once, then the new ones count', async () => {
    const { sp, clock, port } = await virtualSpeaker();
    const { raw, prefixes } = await withTable(sp, port, WITHDRAW_SLICE + 10);
    const withdrawn: number[] = [];
    sp.on('loc-rib', (c) => withdrawn.push(c.nexthops.filter((n) => n === null).length));
    raw.socket.destroy();
    await until(() => withdrawn.length > 0, { timeout: 5000, what: 'the first slice' });
    expect(withdrawn).toEqual([WITHDRAW_SLICE]);
    // Virtual time stands still: the second slice has not run when the peer is Established again.
    const again = await established(port, { holdTime: 0 });
    await until(() => sp.peers()[0]!.state === 'Established', { timeout: 5000, what: 'Established again' });
    expect(withdrawn).toEqual([WITHDRAW_SLICE, 10]);
    expect(sp.peers()[0]!.received).toBe(0);
    announce(again.socket, prefixes.slice(0, 5));
    await until(() => sp.peers()[0]!.received === 5, { timeout: 5000, what: 'the new routes' });
    clock.advance(WITHDRAW_PAUSE_MS);
    expect(sp.routes()).toHaveLength(5);
  });

  it('a peer reconfigured (new session) during a withdrawal: what is left is withdrawn at once', async () => {
    const { sp, port } = await virtualSpeaker();
    const { raw, prefixes } = await withTable(sp, port, WITHDRAW_SLICE + 10);
    const withdrawn: number[] = [];
    sp.on('loc-rib', (c) => withdrawn.push(c.prefixes.length));
    raw.socket.destroy();
    await until(() => withdrawn.length > 0, { timeout: 5000, what: 'the first slice' });
    expect(sp.routes()).toHaveLength(10);
    // A change that needs a new session: the old Peer is disposed, a new one takes the address.
    sp.updatePeer({ address: '127.0.0.3', asn: 65003, passive: true, holdTime: 9 });
    expect(withdrawn).toEqual([WITHDRAW_SLICE, 10]);
    expect(sp.routes()).toEqual([]);
    const again = await established(port, { holdTime: 9 });
    await until(() => sp.peers()[0]!.state === 'Established', { timeout: 5000, what: 'Established again' });
    announce(again.socket, prefixes.slice(0, 3));
    await until(() => sp.peers()[0]!.received === 3, { timeout: 5000, what: 'the new routes' });
  });
});
