/**
 * Session damping (RFC 4271 §8.1.1 DampPeerOscillations, issue 10 item 3): the rule on a virtual clock, the
 * FSM's IdleHoldTimer moved out by it, and a flapping raw peer on loopback whose next connection is refused.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Damping, DAMP_FORGET_MS, DAMP_MAX_MS, DAMP_START_MS } from '../../../bgp/damping.js';
import { holdIdleUntil, initialState, nextDeadline, step, type FsmConfig } from '../../../bgp/fsm.js';
import { Speaker } from '../../../bgp/speaker.js';
import type { SpeakerLogRecord } from '../../../bgp/api.js';
import { encodeKeepalive } from '../../../bgp/wire/keepalive.js';
import { encodeOpen } from '../../../bgp/wire/open.js';
import { MESSAGE_KEEPALIVE, MESSAGE_OPEN } from '../../../bgp/wire/iana.js';
import { neighborsTable } from '../../../daemon/cli/format.js';
import type { NeighborStatus } from '../../../daemon/views.js';
import { RawPeer, rawOpen as open, until } from './raw-peer.js';

describe('Damping', () => {
  it('does not damp the first flap, then holds 5 s, doubling, up to 300 s', () => {
    const d = new Damping();
    let t = 0;
    const holds: number[] = [];
    for (let i = 0; i < 10; i++) {
      d.up(t);
      t += 1000; // up for a second, then down
      const until = d.flap(t);
      holds.push(until === 0 ? 0 : until - t);
      t += Math.max(1000, until - t); // back as soon as allowed
    }
    expect(holds).toEqual([
      0,
      DAMP_START_MS,
      2 * DAMP_START_MS,
      4 * DAMP_START_MS,
      8 * DAMP_START_MS,
      16 * DAMP_START_MS,
      32 * DAMP_START_MS,
      DAMP_MAX_MS,
      DAMP_MAX_MS,
      DAMP_MAX_MS,
    ]);
  });

  it('forgets the sequence after a quiet period, or after a stable session', () => {
    const d = new Damping();
    d.up(0);
    d.flap(1000);
    d.up(2000);
    expect(d.flap(3000)).toBe(3000 + DAMP_START_MS);
    expect(d.remaining(4000)).toBe(DAMP_START_MS - 1000);
    expect(d.flaps(4000)).toBe(2);
    // Quiet for the forget time after the hold ended: the next flap starts a new sequence (not damped).
    const quiet = 3000 + DAMP_START_MS + DAMP_FORGET_MS;
    expect(d.flap(quiet - 1)).toBeGreaterThan(0);
    expect(d.flap(quiet - 1 + 4 * DAMP_START_MS + DAMP_FORGET_MS)).toBe(0);
    expect(d.flap(quiet + 4 * DAMP_START_MS + DAMP_FORGET_MS)).toBeGreaterThan(0);
    // Up for the forget time: forgotten as well.
    d.up(10_000_000);
    expect(d.flap(10_000_000 + DAMP_FORGET_MS)).toBe(0);
    expect(d.flaps(10_000_000 + 2 * DAMP_FORGET_MS)).toBe(0);
  });
});

describe('holdIdleUntil', () => {
  const config: FsmConfig = {
    localAsn: 65001,
    routerId: '10.0.0.1',
    holdTime: 90,
    connectRetryTime: 5,
    passive: false,
    capabilities: [],
  };

  it('moves an Idle restart out, never in, and leaves other states alone', () => {
    let s = step(initialState(config, 0), { type: 'ManualStart' }, 0).state;
    s = step(s, { type: 'TcpConnectionFails', detail: 'refused' }, 10).state;
    expect(s.state).toBe('Idle');
    const restart = nextDeadline(s)!;
    expect(nextDeadline(holdIdleUntil(s, 60_000))).toBe(60_000);
    expect(holdIdleUntil(s, restart - 1)).toBe(s);
    const connecting = step(initialState(config, 0), { type: 'ManualStart' }, 0).state;
    expect(holdIdleUntil(connecting, 60_000)).toBe(connecting);
  });
});

describe('a flapping peer', () => {
  const speakers: Speaker[] = [];
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(speakers.splice(0).map((s) => s.stop()));
  });

  it('is held in Idle after its second flap: its next connection is refused, the hold shows in neighbors', async () => {
    const sp = new Speaker({ asn: 65002, routerId: '10.0.0.2', listen: { address: '127.0.0.2', port: 0 } });
    speakers.push(sp);
    const logs: SpeakerLogRecord[] = [];
    sp.on('log', (r) => logs.push(r));
    await sp.start();
    sp.addPeer({ address: '127.0.0.3', asn: 65003, passive: true, holdTime: 30, connectRetryTime: 1 });
    const port = sp.address()!.port;
    const view = () => sp.peers()[0]!;
    const flap = async (): Promise<void> => {
      const raw = await RawPeer.connect(port, '127.0.0.3');
      sockets.push(raw.socket);
      raw.socket.write(encodeOpen(open({ holdTime: 30 })));
      raw.socket.write(encodeKeepalive());
      await raw.waitFor(MESSAGE_KEEPALIVE);
      await until(() => view().state === 'Established', { what: 'Established', timeout: 5000 });
      const count = view().establishedCount;
      raw.socket.destroy();
      await until(() => view().state === 'Idle' && view().establishedCount === count, {
        what: 'down',
        timeout: 5000,
      });
    };
    await flap();
    expect(view().dampedFor).toBeUndefined(); // the first flap is not damped
    await flap();
    expect(view().dampedFor).toBeGreaterThan(DAMP_START_MS - 1000);
    expect(view().flaps).toBe(2);
    expect(logs.some((l) => l.event === 'peer-damped')).toBe(true);
    // The peer's next connection, at once: refused and closed, no OPEN from us, the session stays Idle.
    const again = await RawPeer.connect(port, '127.0.0.3');
    sockets.push(again.socket);
    await until(() => again.closed, { what: 'refused', timeout: 2000 });
    expect(again.types()).not.toContain(MESSAGE_OPEN);
    expect(view().state).toBe('Idle');
    expect(logs.some((l) => l.event === 'connection-rejected' && l.why === 'damped')).toBe(true);
    // `nodebgp neighbors` shows it.
    const table = neighborsTable([view() as NeighborStatus], Date.now());
    expect(table).toMatch(/Idle \(damped 00:00:0\d, 2 flaps\)/);
  });

  it('with dampPeerOscillations false, every connection is taken at once', async () => {
    const sp = new Speaker({ asn: 65002, routerId: '10.0.0.2', listen: { address: '127.0.0.2', port: 0 } });
    speakers.push(sp);
    await sp.start();
    sp.addPeer({
      address: '127.0.0.3',
      asn: 65003,
      passive: true,
      holdTime: 30,
      dampPeerOscillations: false,
    });
    const port = sp.address()!.port;
    const view = () => sp.peers()[0]!;
    for (let i = 1; i <= 3; i++) {
      const raw = await RawPeer.connect(port, '127.0.0.3');
      sockets.push(raw.socket);
      raw.socket.write(encodeOpen(open({ holdTime: 30 })));
      raw.socket.write(encodeKeepalive());
      await until(() => view().state === 'Established' && view().establishedCount === i, {
        what: `session ${i}`,
        timeout: 5000,
      });
      raw.socket.destroy();
      await until(() => view().state === 'Idle', { what: 'down', timeout: 5000 });
      expect(view().dampedFor).toBeUndefined();
    }
  });
});
