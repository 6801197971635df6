/**
 * When each failed prefix is written again: exponential backoff from 1 s to 30 s, as deadlines (the shell's
 * one timer fires the earliest).
 */
export const RETRY_MIN_MS = 1000;
export const RETRY_MAX_MS = 30_000;

/** The delay before the retry of a write that has failed `attempt` times before (0: the first failure). */
export function retryDelay(attempt: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt);
}

/** Retry deadlines by slot (the mirror drops a slot's retry when it frees the slot). */
export class Retries {
  private readonly at = new Map<number, number>();
  private earliest = Infinity;

  get size(): number {
    return this.at.size;
  }

  schedule(slot: number, deadline: number): void {
    this.at.set(slot, deadline);
    if (deadline < this.earliest) this.earliest = deadline;
  }

  delete(slot: number): void {
    this.at.delete(slot);
  }

  /** The earliest deadline, or undefined when nothing waits. */
  next(): number | undefined {
    return this.at.size ? this.earliest : undefined;
  }

  /** Takes out and returns the slots whose retry is due at `now`. */
  due(now: number): number[] {
    if (now < this.earliest) return [];
    const out: number[] = [];
    let earliest = Infinity;
    for (const [s, t] of this.at) {
      if (t <= now) {
        this.at.delete(s);
        out.push(s);
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
