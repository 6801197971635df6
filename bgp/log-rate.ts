/**
 * Rate-limited logging of the events one peer (or one unknown address) can repeat at will — a connection
 * flood, an UPDATE stream with attribute errors: per event and source at most one line per
 * `LOG_INTERVAL_MS`; the next line that is let through says how many were held back (`suppressed`). When no
 * next line comes, the last one held back is let through once its interval is over (`due`), with the count, so
 * a flood that stops is still reported in full.
 *
 * Pure: `now` in, a verdict out. The table of sources is bounded (`MAX_SOURCES`): when full, sources quiet for
 * a whole interval are forgotten first, and if that is not enough the table starts again (a flood from many
 * addresses then costs at most one line per address per interval).
 */
import type { SpeakerLogEvent } from './log-events.js';

export const LOG_INTERVAL_MS = 10_000;
export const MAX_SOURCES = 4096;

/** The events rate-limited, per source (the record's `peer`, else its `remote`). */
export const RATE_LIMITED_EVENTS: ReadonlySet<SpeakerLogEvent> = new Set<SpeakerLogEvent>([
  'connection-refused',
  'connection-rejected',
  'connection-replaced',
  'attribute-error',
  'update-error',
  'header-error',
  'open-error',
]);

interface Entry<T> {
  at: number;
  suppressed: number;
  /** The last line held back (logged by `due` if no later one is let through). */
  held: T | undefined;
}

/** A held-back line whose interval is over, and how many were held back with it (itself included). */
export interface DueLine<T> {
  readonly line: T;
  readonly suppressed: number;
}

export class LogRate<T = undefined> {
  private readonly entries = new Map<string, Entry<T>>();
  /** Sources with lines held back: `due` looks at these only. */
  private readonly holding = new Set<string>();

  constructor(private readonly intervalMs = LOG_INTERVAL_MS) {}

  /**
   * undefined: hold this line back (kept as `line` for `due`); a number: log it, with that many held back
   * since the last one.
   */
  admit(key: string, now: number, line?: T): number | undefined {
    const e = this.entries.get(key);
    if (e !== undefined && now - e.at < this.intervalMs) {
      e.suppressed++;
      e.held = line;
      this.holding.add(key);
      return undefined;
    }
    const suppressed = e?.suppressed ?? 0;
    if (e === undefined && this.entries.size >= MAX_SOURCES) this.prune(now);
    this.entries.set(key, { at: now, suppressed: 0, held: undefined });
    this.holding.delete(key);
    return suppressed;
  }

  /**
   * The lines held back whose interval is over by `now`, each with its count; each source's interval starts
   * again, so a source still gets at most one line per interval.
   */
  due(now: number): DueLine<T>[] {
    const out: DueLine<T>[] = [];
    for (const key of this.holding) {
      const e = this.entries.get(key);
      if (e === undefined) {
        this.holding.delete(key);
        continue;
      }
      if (now - e.at < this.intervalMs) continue;
      if (e.held !== undefined) out.push({ line: e.held, suppressed: e.suppressed });
      this.entries.set(key, { at: now, suppressed: 0, held: undefined });
      this.holding.delete(key);
    }
    return out;
  }

  /** When `due` next has something: the earliest end of an interval with lines held back. */
  next(): number | undefined {
    let at: number | undefined;
    for (const key of this.holding) {
      const e = this.entries.get(key);
      if (e !== undefined && (at === undefined || e.at + this.intervalMs < at)) at = e.at + this.intervalMs;
    }
    return at;
  }

  private prune(now: number): void {
    for (const [k, e] of this.entries)
      if (now - e.at >= this.intervalMs && e.suppressed === 0) this.entries.delete(k);
    if (this.entries.size >= MAX_SOURCES) {
      this.entries.clear();
      this.holding.clear();
    }
  }
}
