/**
 * The one wait of the tests, the labs and the benchmarks: poll until something holds.
 *
 *   await until(() => speaker.calls.includes('remove 10.0.0.2'), { what: 'node-b removed', timeout: 3000 });
 *   const route = await until(async () => (await frr.routes()).find((r) => r.dst === p), { what: `${p} in FRR` });
 */

export interface UntilOptions {
  /** What we wait for, for the error message. */
  readonly what?: string;
  /** Give up after this long (ms). Default 30 s. */
  readonly timeout?: number;
  /**
   * The longest pause between two probes (ms), default 100. The first probes come sooner (5, 10, 20 … ms), so a
   * condition that holds at once costs no full interval, and a slow one (a BGP session) is not polled hard.
   */
  readonly interval?: number;
  /** Checked before each probe: a string here ends the wait at once with that message (e.g. "daemon exited"). */
  readonly failIf?: () => string | undefined;
}

/**
 * Polls `probe` until it returns something other than `undefined`, `null` or `false`, and returns that. An error
 * thrown by the probe counts as "not yet" (a daemon's socket may not exist yet); the last one is quoted on timeout.
 */
export async function until<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: UntilOptions = {},
): Promise<T> {
  const timeout = options.timeout ?? 30_000;
  const interval = options.interval ?? 100;
  const what = options.what ?? 'condition';
  const deadline = Date.now() + timeout;
  let pause = Math.min(5, interval);
  let lastError: unknown;
  for (;;) {
    const fatal = options.failIf?.();
    if (fatal !== undefined) throw new Error(`while waiting for ${what}: ${fatal}`);
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(pause, Math.max(1, deadline - Date.now()))));
    pause = Math.min(pause * 2, interval);
  }
}
