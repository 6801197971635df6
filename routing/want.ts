/** What the daemon asked for at a prefix, interned (wants.ts): every prefix with the same next-hop set shares one. */
export interface Want {
  /** A small number ≥ 1 (the mirror's want column holds it; 0 and -1 mean remove and stale). */
  readonly id: number;
  readonly kind: 'unicast' | 'blackhole' | 'unreachable';
  /** Sorted, without duplicates; [] for blackhole/unreachable. */
  readonly nexthops: readonly string[];
  /** rtm_priority of a blackhole/unreachable route (unicast routes use the FIB's metric). */
  readonly metric: number;
}
