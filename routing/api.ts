/**
 * The FIB's vocabulary for the daemon: its events, its per-prefix views and counts. Everything the daemon
 * reads of routing/ is typed here, so a new event is a compile error where it is not handled.
 */

export type FibStatus = 'installed' | 'pending' | 'failed' | 'unresolvable';

export type FibEvent =
  /** start() has dumped the kernel: `adopted` of our routes are wanted as they are, `stale` are not (yet). */
  | { type: 'started'; adopted: number; stale: number; kernelRoutes: number }
  | { type: 'route-failed'; prefix: string; error: string; retryInMs: number }
  | { type: 'route-unresolvable'; prefix: string; reason: string }
  | { type: 'route-recovered'; prefix: string }
  /** Someone else deleted one of our routes; it is written again. */
  | { type: 'route-reasserted'; prefix: string }
  /** Our routes from a previous run that nobody wanted were removed: asked for, or the grace time was over. */
  | { type: 'stale-released'; count: number; why: 'asked' | 'grace time over' }
  /** The kernel is dumped again to catch up (an overrun, a link or address change, paused notifications). */
  | { type: 'resync'; reason: string }
  /**
   * A reconcile pass is over: from the first change that needed writing until every write it caused was
   * answered. `writes` route and nexthop messages were sent, `failed` of them refused.
   */
  | { type: 'reconciled'; seconds: number; writes: number; failed: number }
  /** A socket error (every one is survived), a bug of ours met in netlink handling, or a thread that died. */
  | { type: 'fault'; where: string; message: string };

export type FibEventType = FibEvent['type'];

export interface FibEntryView {
  prefix: string;
  /** Wanted next hops; `[]` for a blackhole/unreachable route or a stale one. */
  nexthops: string[];
  kind: 'unicast' | 'blackhole' | 'unreachable';
  status: FibStatus;
  error?: string;
  /** Ours from a previous run, not wanted (yet): removed by releaseStale() or after the grace time. */
  stale?: boolean;
  kernel: { nexthops: string[]; protocol: string; metric: number } | null;
  /** When the status last changed (ms since the epoch). */
  since: number;
}

export interface FibStats {
  wanted: number;
  installed: number;
  pending: number;
  failed: number;
  unresolvable: number;
  stale: number;
}
