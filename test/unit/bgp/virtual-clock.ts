/** A virtual `Clock` (bgp/clock.ts) for the shells: time moves only when the test says so. */
import type { Clock } from '../../../bgp/clock.js';

interface Wake {
  readonly at: number;
  readonly fire: () => void;
}

export class VirtualClock implements Clock {
  private t: number;
  private readonly wakes = new Set<Wake>();

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  readonly now = (): number => this.t;

  wakeAt(at: number, fire: () => void): () => void {
    const w = { at, fire };
    this.wakes.add(w);
    return () => this.wakes.delete(w);
  }

  /** The real timers armed now, as deadlines, earliest first (a peer arms at most one). */
  armed(): number[] {
    return [...this.wakes].map((w) => w.at).sort((a, b) => a - b);
  }

  /** Move time forward by `ms`, firing every wake-up due on the way, in deadline order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: Wake | undefined;
      for (const w of this.wakes) if (w.at <= end && (next === undefined || w.at < next.at)) next = w;
      if (next === undefined) break;
      this.wakes.delete(next);
      this.t = Math.max(this.t, next.at);
      next.fire();
    }
    this.t = end;
  }
}
