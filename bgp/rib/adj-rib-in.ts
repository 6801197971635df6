/**
 * Adj-RIB-In (RFC 4271 §3.2): the routes one peer advertised to us, unprocessed by our decision. Paths
 * refused by policy or ineligible (loops) are kept, marked, so operators can see what was received and why
 * it is not used.
 *
 * The routes themselves live in the Loc-RIB's one table: every prefix's slot holds the path of each peer
 * that sent it, eligible or not, so "what peer P sent for prefix X" is the path from P in X's slot. Keeping
 * a second `prefix → Path` map per peer cost as much again as the Loc-RIB's (29 bytes per prefix at 1M, and
 * as much garbage while it grew). What is kept here is per peer: its counts, and which of its paths are
 * stale. Listing or dropping everything a peer sent walks the Loc-RIB's table (as BIRD's flush walks its
 * table); the Loc-RIB does that (`LocRib.peerDown`, `sweepStale`, `adjRibIn`).
 *
 * Stale (RFC 4724 §4.2, RFC 7313 §4): paths made before `markStale` — every Path carries the epoch it was
 * made in, and those older than `staleBefore` are stale until the peer announces the prefix again or its
 * End-of-RIB sweeps them.
 */
import type { PathAttributes, ReachBlock } from '../wire/types.js';
import { Path, fibNextHop, type IneligibleReason } from './path.js';
import type { RibPeer } from './peer.js';

/** What the eligibility checks compare against: our own identity. */
export interface LocalIdentity {
  readonly localAsn: number;
  readonly routerId: string;
  readonly clusterId: string;
}

export class AdjRibIn {
  private receivedCount = 0;
  private acceptedCount = 0;
  private staleCount = 0;
  /** Paths made in an epoch before this one are stale. */
  private staleBefore = 0;

  constructor(
    readonly peer: RibPeer,
    private readonly identity: LocalIdentity,
    private readonly internNexthops: (nextHop: string) => readonly string[],
    /** The Loc-RIB's epoch counter: the current epoch, and a new one (for markStale). */
    private readonly epochs: { readonly current: number; next(): number },
    /** The previous session's Adj-RIB-In of the same peer, whose stale paths this one keeps. */
    previous?: AdjRibIn,
  ) {
    if (previous !== undefined) {
      this.staleBefore = previous.staleBefore;
      this.staleCount = previous.staleCount;
    }
  }

  /** Prefixes received and not withdrawn (current session, stale ones not counted). */
  get received(): number {
    return this.receivedCount;
  }

  /** Prefixes that passed the import policy and are eligible for the decision. */
  get accepted(): number {
    return this.acceptedCount;
  }

  /** Prefixes kept stale from before a restart or a route refresh. */
  get stale(): number {
    return this.staleCount;
  }

  /** A path of this peer (found in the Loc-RIB) is stale. */
  isStale(path: Path): boolean {
    return path.epoch < this.staleBefore;
  }

  /** The shared Path for every prefix of one reach block. */
  makePath(attributes: PathAttributes, block: ReachBlock, now: number): Path {
    const reason = this.ineligibility(attributes);
    const fib = reason === undefined ? this.internNexthops(fibNextHop(block, this.peer)) : null;
    return new Path(
      this.peer,
      attributes,
      block.nextHop,
      block.linkLocalNextHop,
      now,
      reason,
      fib,
      this.epochs.current,
    );
  }

  /** RFC 4271 §9.1.2 (own AS in AS_PATH, eBGP) and RFC 4456 §8 (ORIGINATOR_ID, CLUSTER_LIST) loop checks. */
  ineligibility(a: PathAttributes): IneligibleReason | undefined {
    const id = this.identity;
    if (!this.peer.ibgp && a.asPath.some((seg) => seg.asns.includes(id.localAsn))) return 'as-path-loop';
    if (a.originatorId !== undefined && a.originatorId === id.routerId) return 'originator-id';
    if (a.clusterList !== undefined && a.clusterList.includes(id.clusterId)) return 'cluster-list-loop';
    return undefined;
  }

  /** Count `path`, stored by the Loc-RIB in place of `old` (this peer's previous path for the prefix). */
  record(path: Path, old: Path | undefined): void {
    if (old !== undefined) this.forget(old);
    this.receivedCount++;
    if (path.ineligible === undefined) this.acceptedCount++;
  }

  /** Uncount `old`, this peer's path for a prefix the Loc-RIB no longer holds from it. */
  forget(old: Path): void {
    if (this.isStale(old)) this.staleCount--;
    else {
      this.receivedCount--;
      if (old.ineligible === undefined) this.acceptedCount--;
    }
  }

  /** Session down: every path of the peer, stale ones included, is being withdrawn by the Loc-RIB. */
  clear(): void {
    this.receivedCount = this.acceptedCount = this.staleCount = 0;
  }

  /** Every current path becomes stale (they stay in the Loc-RIB). */
  markStale(): void {
    this.staleBefore = this.epochs.next();
    this.staleCount += this.receivedCount;
    this.receivedCount = this.acceptedCount = 0;
  }
}
