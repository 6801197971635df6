/**
 * Rate-limited logging of the events one peer (or one unknown address) can repeat at will — a connection
 * flood, an UPDATE stream with attribute errors: per event and source at most one line per
 * `LOG_INTERVAL_MS`; the next line that is let through says how many were held back (`suppressed`).
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

interface Entry {
  at: number;
  suppressed: number;
}

export class LogRate {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly intervalMs = LOG_INTERVAL_MS) {}

  /** undefined: hold this line back; a number: log it, with that many held back since the last one. */
  admit(key: string, now: number): number | undefined {
    const e = this.entries.get(key);
    if (e !== undefined && now - e.at < this.intervalMs) {
      e.suppressed++;
      return undefined;
    }
    const suppressed = e?.suppressed ?? 0;
    if (e === undefined && this.entries.size >= MAX_SOURCES) this.prune(now);
    this.entries.set(key, { at: now, suppressed: 0 });
    return suppressed;
  }

  private prune(now: number): void {
    for (const [k, e] of this.entries) if (now - e.at >= this.intervalMs) this.entries.delete(k);
    if (this.entries.size >= MAX_SOURCES) this.entries.clear();
  }
}
