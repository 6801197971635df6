/** The graceful-restart core (bgp/graceful-restart.ts): verdicts, the helper's timers, on a virtual clock (ms). */
import { describe, expect, it } from 'vitest';
import {
  STALE_PATH_TIME,
  downVerdict,
  grCapability,
  helperDeadline,
  helperDown,
  helperEndOfRib,
  helperTimeout,
  helperUp,
  type PeerGr,
} from '../../../bgp/graceful-restart.js';

const V4 = 1;
const V6 = 2;
const peerGr = (over: Partial<PeerGr> = {}): PeerGr => ({
  restartTime: 120,
  restarting: false,
  notification: true,
  families: [
    { afi: V4, safi: 1, forwarding: true },
    { afi: V6, safi: 1, forwarding: true },
  ],
  ...over,
});

describe('grCapability', () => {
  it('announces the N bit, the R bit while restarting and F per family', () => {
    expect(
      grCapability({ restartTime: 120, restarting: true, forwarding: true }, [{ afi: V4, safi: 1 }]),
    ).toEqual({
      code: 64,
      restarting: true,
      notification: true,
      restartTime: 120,
      families: [{ afi: V4, safi: 1, forwarding: true }],
    });
    expect(grCapability({ restartTime: 0, restarting: false, forwarding: false }, [])).toBeUndefined();
    expect(grCapability({ restartTime: 9999, restarting: false, forwarding: false }, [])).toMatchObject({
      restartTime: 4095,
    });
  });
});

describe('downVerdict: which drops are a restart (RFC 4724 §4.2, RFC 8538 §4)', () => {
  const tcp = { kind: 'tcp' } as const;
  it('a TCP failure is, with or without the N bit', () => {
    expect(downVerdict(120, peerGr(), 'connection-lost', tcp)).toBe('gr-event');
    expect(downVerdict(120, peerGr({ notification: false }), 'connection-lost', tcp)).toBe('gr-event');
  });
  it('a Hold Timer expiry or a NOTIFICATION received only with the N bit', () => {
    const hold = { kind: 'sent', code: 4, subcode: 0 } as const;
    const cease = { kind: 'received', code: 6, subcode: 2 } as const;
    expect(downVerdict(120, peerGr(), 'hold-timer-expired', hold)).toBe('gr-event');
    expect(downVerdict(120, peerGr(), 'notification-received', cease)).toBe('gr-event');
    expect(downVerdict(120, peerGr({ notification: false }), 'notification-received', cease)).toBe(
      'notification-without-n-bit',
    );
    expect(downVerdict(120, peerGr({ notification: false }), 'hold-timer-expired', hold)).toBe(
      'notification-without-n-bit',
    );
  });
  it('a Hard Reset, a restart time of 0, no capability on either side, or our own stop flush', () => {
    const hard = { kind: 'received', code: 6, subcode: 9 } as const;
    expect(downVerdict(120, peerGr(), 'notification-received', hard)).toBe('hard-reset');
    expect(downVerdict(120, peerGr({ restartTime: 0 }), 'connection-lost', tcp)).toBe('restart-time-zero');
    expect(downVerdict(0, peerGr(), 'connection-lost', tcp)).toBe('not-negotiated');
    expect(downVerdict(120, undefined, 'connection-lost', tcp)).toBe('not-negotiated');
    expect(downVerdict(120, peerGr(), 'admin-down', undefined)).toBe('our-stop');
    expect(downVerdict(120, peerGr(), 'bfd-down', undefined)).toBe('our-stop');
    expect(downVerdict(120, peerGr(), 'update-error', undefined)).toBe('our-stop');
  });
});

describe('the helper on a virtual clock', () => {
  const t0 = 1_000_000;

  it('down: stale for the restart time, then flushed; nothing before', () => {
    const d = helperDown(undefined, 'gr-event', peerGr({ restartTime: 5 }), [V4, V6], t0);
    expect(d.flush).toBeUndefined();
    expect(d.state).toMatchObject({ families: [V4, V6], restartDeadline: t0 + 5000 });
    expect(helperDeadline(d.state)).toBe(t0 + 5000);
    expect(helperTimeout(d.state, t0 + 4999)).toEqual({ state: d.state });
    expect(helperTimeout(d.state, t0 + 5000)).toEqual({ state: undefined, flush: [V4, V6] });
  });

  it('down without a GR event flushes every family, including ones still stale from before', () => {
    const first = helperDown(undefined, 'gr-event', peerGr(), [V4], t0).state;
    expect(helperDown(first, 'hard-reset', peerGr(), [V6], t0 + 10)).toEqual({
      state: undefined,
      flush: [V6, V4],
    });
  });

  it('a family missing from the capability is flushed at the drop', () => {
    const only4 = peerGr({ families: [{ afi: V4, safi: 1, forwarding: true }] });
    const d = helperDown(undefined, 'gr-event', only4, [V4, V6], t0);
    expect(d.flush).toEqual([V6]);
    expect(d.state?.families).toEqual([V4]);
  });

  it('back: the restart timer stops, the stale-path timer runs; End-of-RIB sweeps per family', () => {
    const down = helperDown(undefined, 'gr-event', peerGr(), [V4, V6], t0).state;
    const up = helperUp(down, peerGr(), t0 + 2000);
    expect(up.flush).toBeUndefined();
    expect(up.state).toMatchObject({ families: [V4, V6], staleDeadline: t0 + 2000 + STALE_PATH_TIME * 1000 });
    expect(up.state?.restartDeadline).toBeUndefined();
    const e4 = helperEndOfRib(up.state, V4);
    expect(e4.flush).toEqual([V4]);
    expect(e4.state?.families).toEqual([V6]);
    expect(helperEndOfRib(e4.state, V4)).toEqual({ state: e4.state });
    expect(helperEndOfRib(e4.state, V6)).toEqual({ state: undefined, flush: [V6] });
  });

  it('back with F = 0 for a family, or without the capability: flushed at once', () => {
    const down = helperDown(undefined, 'gr-event', peerGr(), [V4, V6], t0).state;
    const f0 = peerGr({
      families: [
        { afi: V4, safi: 1, forwarding: false },
        { afi: V6, safi: 1, forwarding: true },
      ],
    });
    const up = helperUp(down, f0, t0 + 1);
    expect(up.flush).toEqual([V4]);
    expect(up.state?.families).toEqual([V6]);
    expect(helperUp(down, undefined, t0 + 1)).toEqual({ state: undefined, flush: [V4, V6] });
  });

  it('back but no End-of-RIB: the stale-path timer flushes', () => {
    const down = helperDown(undefined, 'gr-event', peerGr(), [V4], t0).state;
    const up = helperUp(down, peerGr(), t0 + 1000, 10).state;
    expect(helperTimeout(up, t0 + 10_999).flush).toBeUndefined();
    expect(helperTimeout(up, t0 + 11_000)).toEqual({ state: undefined, flush: [V4] });
  });

  it('dropped again before End-of-RIB: a new restart with the new restart time, still-stale families kept', () => {
    const down = helperDown(undefined, 'gr-event', peerGr({ restartTime: 120 }), [V4], t0).state;
    const up = helperUp(down, peerGr(), t0 + 1000).state;
    const again = helperDown(up, 'gr-event', peerGr({ restartTime: 30 }), [V4, V6], t0 + 2000);
    expect(again.state).toMatchObject({ families: [V4, V6], restartDeadline: t0 + 2000 + 30_000 });
    expect(again.state?.staleDeadline).toBeUndefined();
  });
});
