/**
 * Time for the IO shells: a `Clock` (now, and one way to be woken) and the `TimerList` each peer keeps — every
 * deadline of that peer as data (its sessions' FSM timers, the close grace of its dropped sockets, the
 * End-of-RIB fallback, the dispose delay), with one wake-up armed for the earliest; the speaker's
 * `SharedClock` then keeps every peer's wake-up in one heap, with ONE real timer for all of them. The pure cores never
 * see this file; they take `now` and return deadlines (`timers.ts`).
 *
 * Tests inject a virtual clock: nothing here reads `Date.now()` or calls `setTimeout` except `systemClock`.
 */

export interface Clock {
  /** Milliseconds; the system clock counts since the epoch. */
  now(): number;
  /** Call `fire` once at `at` (same clock) or soon after; the function returned disarms it. */
  wakeAt(at: number, fire: () => void): () => void;
}

/** The real clock: `Date.now` and an unref'd `setTimeout` (a pending timer never keeps the process alive). */
export const systemClock: Clock = clockOf(Date.now);

/** A clock reading `now` whose wake-ups are real timers (the Speaker's old `() => number` parameter). */
export function clockOf(now: () => number): Clock {
  return {
    now,
    wakeAt(at, fire) {
      const t = setTimeout(fire, Math.max(0, at - now()));
      t.unref?.();
      return () => clearTimeout(t);
    },
  };
}

/** What a deadline is for: a name of the peer's own (`'end-of-rib'`), or the object it belongs to. */
export type TimerKey = string | object;

interface Entry {
  readonly at: number;
  readonly fire: (now: number) => void;
}

/**
 * One shell's deadlines by key, and the one real timer for the earliest. Setting a key replaces its deadline;
 * when the timer fires, every entry due by then runs once, earliest first, and the timer is re-armed for what
 * is left (or for what the callbacks set).
 */
export class TimerList {
  private readonly entries = new Map<TimerKey, Entry>();
  private readonly alarm: Alarm;
  private firing = false;

  constructor(readonly clock: Clock) {
    this.alarm = new Alarm(clock, () => this.fire());
  }

  /** Set `key` to fire at `at` (undefined: clear it). */
  set(key: TimerKey, at: number | undefined, fire: (now: number) => void): void {
    if (at === undefined) this.entries.delete(key);
    else this.entries.set(key, { at, fire });
    this.arm();
  }

  /** Set `key` to fire `ms` from now. */
  after(key: TimerKey, ms: number, fire: (now: number) => void): void {
    this.set(key, this.clock.now() + ms, fire);
  }

  clear(key: TimerKey): void {
    if (this.entries.delete(key)) this.arm();
  }

  has(key: TimerKey): boolean {
    return this.entries.has(key);
  }

  /** The deadline of `key`, or undefined. */
  deadline(key: TimerKey): number | undefined {
    return this.entries.get(key)?.at;
  }

  /** The earliest deadline: what the one real timer is armed for. */
  next(): number | undefined {
    let min: number | undefined;
    for (const e of this.entries.values()) if (min === undefined || e.at < min) min = e.at;
    return min;
  }

  private arm(): void {
    if (this.firing) return; // re-armed once the due entries have run
    this.alarm.set(this.next());
  }

  private fire(): void {
    this.firing = true;
    try {
      const now = this.clock.now();
      const due = [...this.entries].filter(([, e]) => e.at <= now).sort((a, b) => a[1].at - b[1].at);
      for (const [key, e] of due) {
        if (this.entries.get(key) !== e) continue; // replaced or cleared by an earlier callback
        this.entries.delete(key);
        e.fire(now);
      }
    } finally {
      this.firing = false;
      this.arm();
    }
  }
}

/**
 * The one wake-up a timer structure keeps armed on its clock, for its earliest deadline: moved only when that
 * deadline changes; when it fires it is spent, and `fire` arms the next one.
 */
class Alarm {
  private at: number | undefined;
  private disarm: (() => void) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly fire: () => void,
  ) {}

  /** Armed for `at` from now on (undefined: disarmed). */
  set(at: number | undefined): void {
    if (at === this.at) return;
    this.disarm?.();
    this.disarm = undefined;
    this.at = at;
    if (at !== undefined)
      this.disarm = this.clock.wakeAt(at, () => {
        this.disarm = undefined;
        this.at = undefined;
        this.fire();
      });
  }
}

interface Wake {
  readonly at: number;
  readonly fire: () => void;
  /** Disarmed (lazy deletion: left in the heap until it reaches the top). */
  dead: boolean;
}

/**
 * One real timer for many `TimerList`s (issue 13): a `Clock` whose `wakeAt` keeps every wake-up in one binary
 * heap and arms the underlying clock once, for the earliest. A thousand peers' KEEPALIVE and hold deadlines
 * cost one `setTimeout`, re-armed only when the earliest changes, and every wake-up due by then runs in one
 * turn. Disarmed entries are dropped when they reach the top, or all at once when they outnumber the live ones.
 */
export class SharedClock implements Clock {
  private heap: Wake[] = [];
  private dead = 0;
  private readonly alarm: Alarm;

  constructor(private readonly base: Clock) {
    this.alarm = new Alarm(base, () => this.run());
  }

  now(): number {
    return this.base.now();
  }

  wakeAt(at: number, fire: () => void): () => void {
    const w: Wake = { at, fire, dead: false };
    this.push(w);
    this.arm();
    return () => {
      if (w.dead) return;
      w.dead = true;
      this.dead++;
      if (this.dead > 64 && this.dead * 2 > this.heap.length) this.rebuild();
      if (this.heap[0] === w || this.heap.length === this.dead) this.arm();
    };
  }

  /** Live wake-ups (tests, views). */
  get size(): number {
    return this.heap.length - this.dead;
  }

  private arm(): void {
    this.dropDeadTop();
    this.alarm.set(this.heap[0]?.at);
  }

  private run(): void {
    const now = this.base.now();
    try {
      for (;;) {
        this.dropDeadTop();
        const top = this.heap[0];
        if (top === undefined || top.at > now) break;
        this.pop();
        top.dead = true; // fired: a later disarm is a no-op
        top.fire();
      }
    } finally {
      this.arm();
    }
  }

  private dropDeadTop(): void {
    while (this.heap.length > 0 && this.heap[0]!.dead) {
      const top = this.pop();
      if (top.dead && this.dead > 0) this.dead--;
    }
  }

  private rebuild(): void {
    const live = this.heap.filter((w) => !w.dead);
    this.heap = [];
    this.dead = 0;
    for (const w of live) this.push(w);
  }

  private push(w: Wake): void {
    const h = this.heap;
    h.push(w);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.at <= w.at) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = w;
  }

  private pop(): Wake {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && h[r]!.at < h[l]!.at ? r : l;
        if (h[c]!.at >= last.at) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
