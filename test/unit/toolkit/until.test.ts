import { describe, expect, it, vi } from 'vitest';
import { until } from '../../../toolkit/until.js';

describe('until', () => {
  it('returns the first value that is not undefined, null or false', async () => {
    let n = 0;
    const v = await until(() => (++n >= 3 ? { n } : n === 1 ? null : false), { timeout: 1000 });
    expect(v).toEqual({ n: 3 });
  });

  it('treats a throwing probe as "not yet" and quotes the last error on timeout', async () => {
    let calls = 0;
    const probe = () => {
      calls++;
      throw new Error('socket missing');
    };
    await expect(until(probe, { timeout: 100, what: 'the socket' })).rejects.toThrow(
      'timed out after 100 ms waiting for the socket (last error: socket missing)',
    );
    expect(calls).toBeGreaterThan(2);
  });

  it('gives up at once when failIf answers', async () => {
    const t0 = Date.now();
    await expect(
      until(() => false, { timeout: 10_000, what: 'bgpd', failIf: () => 'bgpd exited' }),
    ).rejects.toThrow('while waiting for bgpd: bgpd exited');
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('polls soon at first, then no more often than the interval', async () => {
    vi.useFakeTimers();
    try {
      const at: number[] = [];
      const t0 = Date.now();
      const done = until(() => (at.push(Date.now() - t0), at.length >= 8), { interval: 40, timeout: 5000 });
      await vi.advanceTimersByTimeAsync(1000);
      await done;
      expect(at).toEqual([0, 5, 15, 35, 75, 115, 155, 195]);
    } finally {
      vi.useRealTimers();
    }
  });
});
