/**
 * Session damping (RFC 4271 §8.1.1 DampPeerOscillations): a peer whose session keeps going down after it came
 * up is held in Idle for longer and longer, and while it is held nothing restarts it — neither our connect
 * retry nor its own connection (an inbound connection while damped is refused and destroyed).
 *
 * The rule, per peer (pure: times in ms in, the hold out):
 *   - a *flap* is a session that was Established going down;
 *   - flaps form a sequence while each comes within `DAMP_FORGET_MS` of the previous one (or of the end of its
 *     hold), and the session did not stay up that long in between (a stable period forgets the sequence);
 *   - the first flap of a sequence is not damped (a peer's restart is routine; the FSM's own back-off applies);
 *     the n-th (n ≥ 2) holds the session in Idle for `DAMP_START_MS · 2^(n−2)`, at most `DAMP_MAX_MS`.
 *
 * Defaults: BIRD's `error wait time 60, 300` and `error forget time 300` — exponential, at most 300 s,
 * forgotten after 300 s — with a first hold of 5 s instead of 60 s (our connect-retry time): a node daemon
 * wants a rebooted neighbour back at once, while a peer flapping every second is down to a handful of sessions
 * in its first minute and to one per five minutes after that.
 */

export const DAMP_START_MS = 5_000;
export const DAMP_MAX_MS = 300_000;
export const DAMP_FORGET_MS = 300_000;

export class Damping {
  /** Flaps in the current sequence. */
  private count = 0;
  private lastFlap = -Infinity;
  private upSince: number | undefined;
  /** Until when the session is held in Idle (ms), or 0. */
  private until = 0;

  constructor(
    private readonly startMs = DAMP_START_MS,
    private readonly maxMs = DAMP_MAX_MS,
    private readonly forgetMs = DAMP_FORGET_MS,
  ) {}

  /** The session reached Established. */
  up(now: number): void {
    this.upSince = now;
  }

  /** The Established session went down: returns until when it is held in Idle (0: not held). */
  flap(now: number): number {
    const stable = this.upSince !== undefined && now - this.upSince >= this.forgetMs;
    this.count = stable || now - this.quietSince() >= this.forgetMs ? 1 : this.count + 1;
    this.lastFlap = now;
    this.upSince = undefined;
    this.until = this.count < 2 ? 0 : now + Math.min(this.maxMs, this.startMs * 2 ** (this.count - 2));
    return this.until;
  }

  /** Quiet time counts from the last flap, or from the end of its hold when later. */
  private quietSince(): number {
    return Math.max(this.lastFlap, this.until);
  }

  /** Milliseconds of hold left at `now` (0 when not held). */
  remaining(now: number): number {
    return Math.max(0, this.until - now);
  }

  /** Flaps in the current sequence (0 once forgotten). */
  flaps(now: number): number {
    return now - this.quietSince() >= this.forgetMs ? 0 : this.count;
  }
}
