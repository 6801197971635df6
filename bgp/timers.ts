/**
 * Session timers as data (RFC 4271 §8.1.3, §10): absolute deadlines in milliseconds on whatever clock the
 * caller passes as `now`. The pure FSM sets and clears them; the IO shell arms ONE real timer for the earliest
 * (`nextDeadline`) and, when it fires, feeds back the events of every deadline that has passed (`dueTimers`).
 */

export interface Timers {
  /** ConnectRetryTimer (§8.1.3): next connection attempt. */
  readonly connectRetry?: number;
  /** HoldTimer (§4.2): the peer must have sent something by then. */
  readonly hold?: number;
  /** KeepaliveTimer (§4.4): we send a KEEPALIVE by then. */
  readonly keepalive?: number;
  /** IdleHoldTimer (§8.1.1 DampPeerOscillations): the automatic restart after an error. */
  readonly idleHold?: number;
}

export type TimerName = keyof Timers;

/** The order in which simultaneously due timers are reported: liveness first, then sending, then restarts. */
const ORDER: readonly TimerName[] = ['hold', 'keepalive', 'connectRetry', 'idleHold'];

/** The earliest deadline, or undefined when no timer runs. */
export function earliest(t: Timers): number | undefined {
  let min: number | undefined;
  for (const name of ORDER) {
    const d = t[name];
    if (d !== undefined && (min === undefined || d < min)) min = d;
  }
  return min;
}

/** The timers whose deadline is at or before `now`, in a fixed order. */
export function dueTimers(t: Timers, now: number): TimerName[] {
  return ORDER.filter((name) => {
    const d = t[name];
    return d !== undefined && d <= now;
  });
}

/** A copy with `name` set to `now + seconds` (seconds 0 or undefined: the timer stops). */
export function setTimer(t: Timers, name: TimerName, now: number, seconds: number | undefined): Timers {
  if (seconds === undefined || seconds <= 0) return clearTimer(t, name);
  return { ...t, [name]: now + seconds * 1000 };
}

/** A copy without `name`. */
export function clearTimer(t: Timers, name: TimerName): Timers {
  if (t[name] === undefined) return t;
  const copy: { -readonly [K in TimerName]?: number } = { ...t };
  delete copy[name];
  return copy;
}

/**
 * Damped restart delay (seconds) after `failures` consecutive failures: the configured connect-retry time,
 * doubling with each further failure, capped at `max` (default 60 s). Never zero, so a peer that fails at once
 * can never drive a tight reconnect loop.
 */
export function backoff(connectRetryTime: number, failures: number, max = 60): number {
  const base = Math.max(1, connectRetryTime);
  const exp = Math.min(Math.max(0, failures - 1), 16);
  return Math.min(base * 2 ** exp, Math.max(base, max));
}
