/**
 * One prefix of the FIB mirror: what the daemon wants there, what the kernel holds of ours, and the marks
 * that keep the two apart while writes and dumps are under way.
 */
import type { FibStatus } from './api.js';
import type { RouteShape } from './shape.js';
import type { PrefixKey } from './prefix.js';

/** What the daemon asked for, interned (wants.ts): every prefix with the same next-hop set shares one Want. */
export interface Want {
  readonly kind: 'unicast' | 'blackhole' | 'unreachable';
  /** Sorted, without duplicates; [] for blackhole/unreachable. */
  readonly nexthops: readonly string[];
  /** rtm_priority of a blackhole/unreachable route (unicast routes use the FIB's metric). */
  readonly metric: number;
}

export class Entry {
  /** undefined: not set by the daemon (a stale route of ours); null: to be removed. */
  want: Want | null | undefined = undefined;
  /** Our route in the kernel at this prefix, as we last knew it. */
  installed: RouteShape | null = null;
  status: FibStatus = 'pending';
  error: string | undefined = undefined;
  /** Writes sent for this prefix and not answered yet. */
  busy = 0;
  /** Reconcile again once `busy` is 0 (something changed while a write was in flight). */
  redo = false;
  /** Failed writes in a row (the retry backoff's exponent). */
  attempt = 0;
  /** In the dirty list. */
  queued = false;
  /** The resync generation that last saw this route in the kernel. */
  seen = 0;
  /** Taken out of the mirror (a later set() of the prefix makes a new Entry). */
  removed = false;
  /** The mirror's answer count when the kernel last answered a write for this prefix. */
  answeredAt = 0;

  constructor(
    readonly key: PrefixKey,
    /** When the status last changed (ms). */
    public since: number,
  ) {}
}
