/**
 * Bounded output towards one peer (issue 10 item 1): the pure part of the export pacing that `peer.ts` runs.
 *
 * - **High-water mark.** Export to a peer pauses while its socket holds `OUTPUT_HIGH_WATER_BYTES` or more
 *   not yet sent (`Session.backlog`), and resumes on the socket's 'drain'. While paused nothing is encoded for
 *   that peer: changes only mark prefixes pending in its Adj-RIB-Out (a diff structure: the latest state per
 *   prefix), so a peer that stops reading costs memory in prefixes, never in messages.
 * - **Slices.** One export pass looks at `EXPORT_SLICE_PREFIXES` pending prefixes at most, then yields to the
 *   event loop (the speaker's pass is a `setImmediate`): a full table, a route refresh or a re-evaluation
 *   never holds the loop for long, so every other peer's KEEPALIVEs leave on time.
 * - **ROUTE-REFRESH** (RFC 2918 / RFC 7313) requests are coalesced — one waiting per family, however many
 *   arrive — and a family's refresh starts at most once per `REFRESH_MIN_INTERVAL_MS`, and never while the
 *   previous one of that family is still being re-sent.
 * - What is owed once the Adj-RIB-Out has nothing pending: End-of-RIB after the initial table (RFC 4724), and
 *   the EoRR of every refresh under way (RFC 7313).
 *
 * Time comes in as `now` (ms); the peer turns `nextDue()` into a deadline of its timer list.
 */

/** Bytes queued in a peer's socket above which export to it pauses (resumes on 'drain'). */
export const OUTPUT_HIGH_WATER_BYTES = 256 * 1024;
/** Pending prefixes one export pass looks at for one peer before yielding to the event loop. */
export const EXPORT_SLICE_PREFIXES = 2048;
/** The shortest time between the starts of two route refreshes of one family towards one peer. */
export const REFRESH_MIN_INTERVAL_MS = 2000;

/** What the peer sends once its Adj-RIB-Out has nothing pending. */
export interface Owed {
  /** Families (AFI) whose End-of-RIB follows the initial table. */
  readonly endOfRib: readonly number[];
  /** Families (AFI) whose route refresh is complete: RFC 7313 EoRR. */
  readonly endOfRefresh: readonly number[];
}

export class ExportPacer {
  /** Requested refreshes not yet started, one per family. */
  private readonly waiting = new Set<number>();
  /** Started refreshes whose re-send is not complete. */
  private readonly resending = new Set<number>();
  private readonly lastStart = new Map<number, number>();
  private endOfRib: number[];
  /** Requests folded into one already waiting (for the view and the tests). */
  coalesced = 0;

  /** `initialFamilies`: the families whose End-of-RIB is owed after the initial table. */
  constructor(
    initialFamilies: readonly number[],
    private readonly minIntervalMs = REFRESH_MIN_INTERVAL_MS,
  ) {
    this.endOfRib = [...initialFamilies];
  }

  /** True when export must wait for 'drain'. */
  static paused(backlog: number): boolean {
    return backlog >= OUTPUT_HIGH_WATER_BYTES;
  }

  /** The peer asked for a refresh of `afi`: false when one is already waiting (coalesced). */
  request(afi: number): boolean {
    if (this.waiting.has(afi)) {
      this.coalesced++;
      return false;
    }
    this.waiting.add(afi);
    return true;
  }

  /** The families whose refresh starts now (they count as being re-sent from here). */
  due(now: number): number[] {
    const start: number[] = [];
    for (const afi of this.waiting) {
      if (this.resending.has(afi)) continue;
      const last = this.lastStart.get(afi);
      if (last !== undefined && now - last < this.minIntervalMs) continue;
      start.push(afi);
    }
    for (const afi of start) {
      this.waiting.delete(afi);
      this.resending.add(afi);
      this.lastStart.set(afi, now);
    }
    return start;
  }

  /**
   * When a waiting refresh becomes due; undefined when none waits, or when each waits for its family's re-send
   * to complete (then `drained` makes it due).
   */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const afi of this.waiting) {
      if (this.resending.has(afi)) continue;
      const at = (this.lastStart.get(afi) ?? -Infinity) + this.minIntervalMs;
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  /** The Adj-RIB-Out has nothing pending: everything started is complete; what to send for it. */
  drained(): Owed {
    const owed: Owed = { endOfRib: this.endOfRib, endOfRefresh: [...this.resending] };
    this.endOfRib = [];
    this.resending.clear();
    return owed;
  }

  /** Is a refresh waiting or under way (tests, views)? */
  get busy(): boolean {
    return this.waiting.size > 0 || this.resending.size > 0;
  }

  /** Nothing to start, nothing under way, no End-of-RIB owed: an export pass has nothing to do here. */
  get idle(): boolean {
    return this.endOfRib.length === 0 && !this.busy;
  }
}
