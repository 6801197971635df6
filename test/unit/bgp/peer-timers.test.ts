/**
 * Every deadline of a peer — its FSM's, the End-of-RIB fallback, the close grace of a dropped socket, the
 * dispose delay — is an entry in the peer's one timer list, with one real timer armed for the earliest. On a
 * virtual clock (bgp/clock.ts `Clock`, injected into the Speaker) time moves only when the test advances it:
 * no test here waits for a protocol timer in real time; the real waits are only for loopback IO.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Speaker, STOP_FLUSH_MS } from '../../../bgp/speaker.js';
import { END_OF_RIB_FALLBACK_MS } from '../../../bgp/peer.js';
import { CLOSE_GRACE_MS } from '../../../bgp/session.js';
import type { PeerConfig, SpeakerLogRecord } from '../../../bgp/api.js';
import { encodeKeepalive } from '../../../bgp/wire/keepalive.js';
import { encodeOpen } from '../../../bgp/wire/open.js';
import type { OpenMessage } from '../../../bgp/wire/types.js';
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
});
