/**
 * When each failed prefix is written again: exponential backoff from 1 s to 30 s, as deadlines (the shell's
 * one timer fires the earliest).
 */
import type { Entry } from './entry.js';

export const RETRY_MIN_MS = 1000;
export const RETRY_MAX_MS = 30_000;

/** The delay before the retry of a write that has failed `attempt` times before (0: the first failure). */
export function retryDelay(attempt: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt);
}

export class Retries {
  private readonly at = new Map<Entry, number>();
  private earliest = Infinity;

  get size(): number {
    return this.at.size;
  }

  schedule(e: Entry, deadline: number): void {
    this.at.set(e, deadline);
    if (deadline < this.earliest) this.earliest = deadline;
  }

  /** The earliest deadline, or undefined when nothing waits. */
  next(): number | undefined {
    return this.at.size ? this.earliest : undefined;
  }

  /** Takes out and returns the prefixes whose retry is due at `now`. */
  due(now: number): Entry[] {
    if (now < this.earliest) return [];
    const out: Entry[] = [];
    let earliest = Infinity;
    for (const [e, t] of this.at) {
      if (t <= now) {
        this.at.delete(e);
        out.push(e);
      } else if (t < earliest) earliest = t;
    }
    this.earliest = earliest;
    return out;
  }

  clear(): void {
    this.at.clear();
    this.earliest = Infinity;
  }
}
