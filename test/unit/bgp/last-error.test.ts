/**
 * `PeerStatus.lastError` — the "last:" an operator reads beside a session in `nodebgp neighbors` — explains a
 * session that went down, or why it is down now; never a connection attempt that failed before the session
 * came up (an early connect the peer closed, a collision the peer resolved by closing one connection).
 * Two real Speakers over loopback; A runs on a virtual clock so its damped restart needs no sleeping.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Speaker, STOP_FLUSH_MS } from '../../../bgp/speaker.js';
import type { PeerConfig, PeerStatus } from '../../../bgp/api.js';
import { PeerErrors } from '../../../bgp/peer-errors.js';
import { until } from './raw-peer.js';
import { VirtualClock } from './virtual-clock.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((f) => f()));
});

async function start(address: string, asn: number, routerId: string, clock?: VirtualClock) {
  const s = new Speaker({ asn, routerId, listen: { address, port: 0 } }, clock);
  cleanup.push(async () => {
    const stopped = s.stop();
    clock?.advance(STOP_FLUSH_MS);
    await stopped;
  });
  await s.start();
  return s;
}

function cfg(address: string, asn: number, s: Speaker, local: string, over: Partial<PeerConfig> = {}) {
  return {
    address,
    asn,
    port: s.address()!.port,
    localAddress: local,
    holdTime: 3,
    connectRetryTime: 1,
    ...over,
  };
}

const status = (s: Speaker): PeerStatus => s.peers()[0]!;

describe('the last error beside a session', () => {
  it('an early connect the peer closed is shown while down, and not beside the session that then came up', async () => {
    const clock = new VirtualClock();
    const a = await start('127.0.0.1', 65001, '10.0.0.1', clock);
    const b = await start('127.0.0.2', 65002, '10.0.0.2');
    // A connects before B knows it: B closes the connection at once.
    a.addPeer(cfg('127.0.0.2', 65002, b, '127.0.0.1'));
    await until(() => status(a).lastError !== undefined, { timeout: 5000, what: 'the closed attempt' });
    expect(status(a)).toMatchObject({ state: 'Idle', establishedCount: 0 });
    expect(status(a).lastError).toMatch(/^tcp: /); // down now: the error says why
    b.addPeer(cfg('127.0.0.1', 65001, a, '127.0.0.2', { passive: true }));
    clock.advance(1000); // A's damped restart (connectRetryTime 1 s)
    await until(() => status(a).state === 'Established', { timeout: 5000, what: 'Established' });
    expect(status(a)).toMatchObject({ state: 'Established', establishedCount: 1 });
    expect(status(a).lastError).toBeUndefined();
  });

  it('a session that went down keeps its error beside the next one; attempts in between are not shown', async () => {
    const clock = new VirtualClock();
    const a = await start('127.0.0.1', 65001, '10.0.0.1', clock);
    const b = await start('127.0.0.2', 65002, '10.0.0.2');
    a.addPeer(cfg('127.0.0.2', 65002, b, '127.0.0.1'));
    const passive = cfg('127.0.0.1', 65001, a, '127.0.0.2', { passive: true });
    b.addPeer(passive);
    await until(() => status(a).state === 'Established', { timeout: 5000, what: 'Established' });
    b.removePeer('127.0.0.1'); // Cease 6/3: A's session goes down
    await until(() => status(a).state === 'Idle', { timeout: 5000, what: 'A down' });
    expect(status(a).lastError).toBe('received 6/3 Cease / Peer De-configured');
    clock.advance(1000); // A retries: B, without A configured, closes the connection
    await until(() => (status(a).lastError ?? '').startsWith('tcp: '), {
      timeout: 5000,
      what: 'the refused retry',
    });
    expect(status(a).state).toBe('Idle');
    b.addPeer(passive);
    clock.advance(2000); // the second damped restart (doubled)
    await until(() => status(a).state === 'Established', { timeout: 5000, what: 'back up' });
    expect(status(a)).toMatchObject({
      establishedCount: 2,
      lastError: 'received 6/3 Cease / Peer De-configured',
    });
  });

  it('says plainly when a failed attempt was a collision', () => {
    const e = new PeerErrors();
    const tcp = { kind: 'tcp', detail: 'connection closed by peer' } as const;
    e.transition(
      { type: 'state', from: 'OpenSent', to: 'Idle', reason: 'connection-lost', error: tcp },
      true,
    );
    expect(e.shown('Idle')).toBe(
      'collision: the peer closed this connection and kept its own (tcp: connection closed by peer)',
    );
    const cease = { kind: 'received', code: 6, subcode: 7 } as const;
    e.transition(
      { type: 'state', from: 'OpenConfirm', to: 'Idle', reason: 'notification-received', error: cease },
      false,
    );
    expect(e.shown('Idle')).toBe(
      'collision: the other connection was kept (received 6/7 Cease / Connection Collision Resolution)',
    );
    e.transition(
      { type: 'state', from: 'OpenConfirm', to: 'Established', reason: 'keepalive-received' },
      false,
    );
    expect(e.shown('Established')).toBeUndefined();
  });
});
