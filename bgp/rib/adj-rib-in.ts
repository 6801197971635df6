/**
 * Adj-RIB-In (RFC 4271 §3.2): the routes one peer advertised to us, unprocessed by our decision, one
 * `PrefixKey → Path` map entry per prefix. Paths refused by policy or ineligible (loops) stay here, marked,
 * so operators can see what was received and why it is not used.
 *
 * The Loc-RIB drives it (`LocRib.applyUpdate`): it looks each prefix up once in its own table, where the
 * candidate from this peer already is, and tells the Adj-RIB-In what it replaces — one lookup in a
 * million-entry table saved per prefix.
 */
import { isIpv4Key, type PrefixKey } from '../../ip/prefix.js';
import { AFI_IPV4, AFI_IPV6 } from '../wire/iana.js';
import type { PathAttributes, ReachBlock } from '../wire/types.js';
import { Path, fibNextHop, type IneligibleReason } from './path.js';
import { PrefixMap } from './prefix-map.js';
import type { RibPeer } from './peer.js';

/** What the eligibility checks compare against: our own identity. */
export interface LocalIdentity {
  readonly localAsn: number;
  readonly routerId: string;
  readonly clusterId: string;
}

export class AdjRibIn {
  /** Every prefix the peer advertised and has not withdrawn. */
  routes = new PrefixMap<Path>();
  /**
   * RFC 4724 §4.2 / RFC 7313 §4: routes kept from before a graceful restart or an enhanced route refresh,
   * still used, until the peer announces them again (then they move to `routes`) or its End-of-RIB sweeps them.
   */
  stale = new PrefixMap<Path>();
  private acceptedCount = 0;

  constructor(
    readonly peer: RibPeer,
    private readonly identity: LocalIdentity,
    private readonly internNexthops: (nextHop: string) => readonly string[],
  ) {}

  /** Prefixes received and not withdrawn. */
  get received(): number {
    return this.routes.size;
  }

  /** Prefixes that passed the import policy and are eligible for the decision. */
  get accepted(): number {
    return this.acceptedCount;
  }

  /** The shared Path for every prefix of one reach block. */
  makePath(attributes: PathAttributes, block: ReachBlock, now: number): Path {
    const reason = this.ineligibility(attributes);
    const fib = reason === undefined ? this.internNexthops(fibNextHop(block, this.peer)) : null;
    return new Path(this.peer, attributes, block.nextHop, block.linkLocalNextHop, now, reason, fib);
  }

  /** RFC 4271 §9.1.2 (own AS in AS_PATH, eBGP) and RFC 4456 §8 (ORIGINATOR_ID, CLUSTER_LIST) loop checks. */
  ineligibility(a: PathAttributes): IneligibleReason | undefined {
    const id = this.identity;
    if (!this.peer.ibgp && a.asPath.some((seg) => seg.asns.includes(id.localAsn))) return 'as-path-loop';
    if (a.originatorId !== undefined && a.originatorId === id.routerId) return 'originator-id';
    if (a.clusterList !== undefined && a.clusterList.includes(id.clusterId)) return 'cluster-list-loop';
    return undefined;
  }

  /**
   * Store `path` for `prefix` in place of `old` (the peer's previous path for it, which the Loc-RIB already
   * holds: passing it saves a lookup in a table of a million entries).
   */
  record(prefix: PrefixKey, path: Path, old: Path | undefined): void {
    if (old !== undefined && this.stale.size > 0 && this.stale.delete(prefix)) old = undefined;
    this.routes.set(prefix, path);
    if (path.ineligible === undefined) this.acceptedCount++;
    if (old !== undefined && old.ineligible === undefined) this.acceptedCount--;
  }

  /** Forget `prefix`, whose path was `old`. */
  forget(prefix: PrefixKey, old: Path): void {
    if (this.stale.size > 0 && this.stale.delete(prefix)) return;
    this.routes.delete(prefix);
    if (old.ineligible === undefined) this.acceptedCount--;
  }

  /** The path stored for `prefix`. */
  get(prefix: PrefixKey): Path | undefined {
    return this.routes.get(prefix);
  }

  /** Session down: empty the table and return everything it held, stale routes included. */
  clear(): PrefixMap<Path> {
    const held = this.routes;
    this.stale.forEach((path, prefix) => held.set(prefix, path));
    this.routes = new PrefixMap();
    this.stale = new PrefixMap();
    this.acceptedCount = 0;
    return held;
  }

  /** Move every current route to `stale` (they stay in the Loc-RIB). */
  markStale(): void {
    if (this.stale.size === 0) this.stale = this.routes;
    else this.routes.forEach((path, prefix) => this.stale.set(prefix, path));
    this.routes = new PrefixMap();
    this.acceptedCount = 0;
  }

  /**
   * Empty `stale` (of one AFI when given) and return what it held (the caller withdraws it from the
   * Loc-RIB).
   */
  takeStale(afi?: number): PrefixMap<Path> {
    const held = this.stale;
    this.stale = new PrefixMap();
    if (afi === undefined) return held;
    const taken = new PrefixMap<Path>();
    held.forEach((path, prefix) => {
      if ((isIpv4Key(prefix) ? AFI_IPV4 : AFI_IPV6) === afi) taken.set(prefix, path);
      else this.stale.set(prefix, path);
    });
    return taken;
  }
}
