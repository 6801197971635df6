/**
 * Connections from a configured peer's address (issue 10 item 2): refused ones are destroyed at once, at most
 * the session plus one connection in collision live, a connection that sends no OPEN cannot keep the real peer
 * out, and the repeated log lines are rate-limited with counts.
 *
 * A Speaker listens on 127.0.0.2; raw connections come from 127.0.0.3 (the configured, passive peer).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Speaker, STOP_FLUSH_MS } from '../../../bgp/speaker.js';
import type { SpeakerLogRecord } from '../../../bgp/api.js';
import { LOG_INTERVAL_MS, LogRate, MAX_SOURCES } from '../../../bgp/log-rate.js';
import { encodeKeepalive } from '../../../bgp/wire/keepalive.js';
import { encodeOpen } from '../../../bgp/wire/open.js';
import { MESSAGE_KEEPALIVE } from '../../../bgp/wire/iana.js';
import { RawPeer, rawOpen as open, until } from './raw-peer.js';
import { VirtualClock } from './virtual-clock.js';

describe('LogRate', () => {
  it('lets one line per source and interval through, then says how many it held back', () => {
    const r = new LogRate(1000);
    expect(r.admit('a', 0)).toBe(0);
    for (let t = 1; t < 1000; t += 100) expect(r.admit('a', t)).toBeUndefined();
    expect(r.admit('b', 500)).toBe(0); // another source has its own budget
    expect(r.admit('a', 1000)).toBe(10);
    expect(r.admit('a', 2500)).toBe(0);
  });

  it('lets the last line held back through once its interval is over, when no later line comes', () => {
    const r = new LogRate<string>(1000);
    expect(r.admit('a', 0, 'a0')).toBe(0);
    expect(r.next()).toBeUndefined(); // nothing held back
    expect(r.admit('a', 10, 'a10')).toBeUndefined();
    expect(r.admit('a', 20, 'a20')).toBeUndefined();
    expect(r.admit('b', 500, 'b500')).toBe(0);
    expect(r.admit('b', 600, 'b600')).toBeUndefined();
    expect(r.next()).toBe(1000);
    expect(r.due(999)).toEqual([]);
    expect(r.due(1000)).toEqual([{ line: 'a20', suppressed: 2 }]);
    expect(r.next()).toBe(1500);
    // The source's interval starts again at the line let through: still one line per interval.
    expect(r.admit('a', 1500, 'a1500')).toBeUndefined();
    expect(r.due(1500)).toEqual([{ line: 'b600', suppressed: 1 }]);
    expect(r.due(2000)).toEqual([{ line: 'a1500', suppressed: 1 }]);
    expect(r.next()).toBeUndefined();
  });

  it('stays bounded with many sources', () => {
    const r = new LogRate(LOG_INTERVAL_MS);
    for (let i = 0; i < 3 * MAX_SOURCES; i++) expect(r.admit(`s${i}`, i)).toBe(0);
    expect(r.admit('s0', 1)).toBe(0); // forgotten, so let through again
  });
});

const speakers: Speaker[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(speakers.splice(0).map((s) => s.stop()));
});

async function setup(clock?: VirtualClock): Promise<{ sp: Speaker; port: number; logs: SpeakerLogRecord[] }> {
  const sp = new Speaker(
    { asn: 65002, routerId: '10.0.0.2', listen: { address: '127.0.0.2', port: 0 } },
    clock,
  );
  speakers.push(sp);
  const logs: SpeakerLogRecord[] = [];
  sp.on('log', (r) => logs.push(r));
  await sp.start();
  sp.addPeer({ address: '127.0.0.3', asn: 65003, passive: true, holdTime: 30 });
  return { sp, port: sp.address()!.port, logs };
}

async function raw(port: number): Promise<RawPeer> {
  const r = await RawPeer.connect(port, '127.0.0.3', '127.0.0.2', true);
  sockets.push(r.socket);
  return r;
}

async function handshake(r: RawPeer): Promise<void> {
  r.socket.write(encodeOpen(open()));
  r.socket.write(encodeKeepalive());
  await r.waitFor(MESSAGE_KEEPALIVE);
}

const stateOf = (sp: Speaker) => sp.peers()[0]!.state;
/** The speaker closed its side (our side stays half open, so only its FIN or reset tells). */
const gone = (r: RawPeer): boolean => r.ended || r.closed;

describe('connections from a configured peer', () => {
  it('300 extra connections while Established: each is closed at once, the session stays, the log is short', async () => {
    const { sp, port, logs } = await setup();
    const first = await raw(port);
    await handshake(first);
    await until(() => stateOf(sp) === 'Established', { what: 'Established', timeout: 5000 });
    // allowHalfOpen: our side never closes, so only the speaker's destroy() can close these connections.
    const flood = await Promise.all(Array.from({ length: 300 }, () => raw(port)));
    await until(() => flood.every(gone), { what: 'every extra connection closed', timeout: 5000 });
    // Most got the NOTIFICATION before the close (Cease 6/5); none got anything else.
    expect(flood.filter((f) => f.notification()?.join('/') === '6/5').length).toBeGreaterThan(0);
    expect(flood.every((f) => f.received.every((m) => m[18] === 3))).toBe(true);
    expect(gone(first)).toBe(false);
    expect(stateOf(sp)).toBe('Established');
    const rejected = logs.filter((l) => l.event === 'connection-rejected');
    expect(rejected.length).toBe(1); // one line per interval; the next one will carry `suppressed`
  });

  it('a flood that stops is still counted in full: the last line held back comes with its interval', async () => {
    const clock = new VirtualClock();
    const { sp, port, logs } = await setup(clock);
    const first = await raw(port);
    await handshake(first);
    await until(() => stateOf(sp) === 'Established', { what: 'Established', timeout: 5000 });
    const flood = await Promise.all(Array.from({ length: 50 }, () => raw(port)));
    await until(() => flood.every(gone), { what: 'every extra connection closed', timeout: 5000 });
    const rejected = () => logs.filter((l) => l.event === 'connection-rejected');
    expect(rejected()).toHaveLength(1);
    clock.advance(LOG_INTERVAL_MS);
    expect(rejected()).toHaveLength(2);
    expect(rejected()[1]).toMatchObject({ suppressed: 49, peer: '127.0.0.3' });
    speakers.splice(speakers.indexOf(sp), 1);
    const stopped = sp.stop();
    clock.advance(STOP_FLUSH_MS);
    await stopped;
  });

  it('silent connections before the real peer do not keep it out', async () => {
    const { sp, port } = await setup();
    const silent1 = await raw(port);
    await silent1.waitFor(1); // our OPEN: that connection is the session, in OpenSent
    const silent2 = await raw(port);
    await silent2.waitFor(1); // the second, in collision
    const real = await raw(port);
    await handshake(real);
    await until(() => stateOf(sp) === 'Established', { what: 'the real peer Established', timeout: 5000 });
    expect(real.notification()).toBeUndefined();
    await until(() => gone(silent1) && gone(silent2), { what: 'silent ones closed', timeout: 5000 });
    // The first silent one lost to the connection with an OPEN (Cease 6/7); the second gave way to it.
    expect(silent1.notification()).toEqual([6, 7]);
    expect(sp.peers()[0]!.establishedCount).toBe(1);
  });

  it('a flood of silent connections holds at most two', async () => {
    const { sp, port, logs } = await setup();
    const flood: RawPeer[] = [];
    for (let i = 0; i < 50; i++) flood.push(await raw(port));
    await until(() => flood.slice(1, -1).every(gone), {
      what: 'all but the first and the newest closed',
      timeout: 5000,
    });
    // The session (the first) and the newest in collision remain.
    expect(gone(flood[0]!)).toBe(false);
    expect(gone(flood.at(-1)!)).toBe(false);
    expect(logs.filter((l) => l.event === 'connection-replaced').length).toBe(1);
    const real = await raw(port);
    await handshake(real);
    await until(() => stateOf(sp) === 'Established', { what: 'the real peer Established', timeout: 5000 });
  });
});

describe('a peer that comes back', () => {
  it('is taken at once though our own connects were refused while it was down (no back-off refusal)', async () => {
    // We connect to 127.0.0.3, where nothing listens: each attempt is refused, and the FSM backs off. When the
    // peer's daemon is back it connects to us; refusing it for our back-off would hold up every restart.
    const sp = new Speaker({ asn: 65002, routerId: '10.0.0.2', listen: { address: '127.0.0.2', port: 0 } });
    speakers.push(sp);
    const logs: SpeakerLogRecord[] = [];
    sp.on('log', (r) => logs.push(r));
    await sp.start();
    sp.addPeer({ address: '127.0.0.3', asn: 65003, port: 1, holdTime: 30, connectRetryTime: 1 });
    const refusals = () => logs.filter((l) => l.event === 'tcp-failed').length;
    await until(() => refusals() >= 3, { what: 'three refused connects', timeout: 15_000 });
    expect(sp.peers()[0]!.state).toBe('Idle'); // backing off
    const r = await raw(sp.address()!.port);
    await handshake(r);
    await until(() => sp.peers()[0]!.state === 'Established', { what: 'Established', timeout: 5000 });
    expect(logs.some((l) => l.event === 'connection-rejected')).toBe(false);
  });
});
