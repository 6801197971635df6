/**
 * Adj-RIB-Out (RFC 4271 §3.2, §9.2): per peer, what we advertised and what is waiting to be sent.
 *
 * The Loc-RIB tells us, once per operation, which prefixes changed best path (`onBatch`); we only mark them
 * pending. `takePending()` then works out, per pending prefix, what the peer should have (the best path after
 * the export rules of `export.ts` and the speaker's export policy) and returns announcements grouped by
 * (attributes object, next hop, family) — so the codec packs each group into as few UPDATEs as fit — and the
 * withdrawals per family. Marking is cheap and coalesces: a prefix that flaps ten times between two
 * `takePending()` calls is sent once.
 *
 * Transformed attributes are interned per source attributes object, and the `OutPath` (attributes + next hop)
 * per transformed attributes, so every prefix of one received UPDATE maps to the same `OutPath` here too.
 */
import type { RouteView, SpeakerConfig } from '../api.js';
import { AFI_IPV4, AFI_IPV6, prefixAfi, type Afi } from '../prefix.js';
import { formatPrefix, isIpv4Key, type PrefixKey } from '../../ip/prefix.js';
import type { NlriBlock, PathAttributes, ReachBlock } from '../wire/types.js';
import { attributesKey, exportAttributes, exportBlock } from './export.js';
import { formatAttributes } from './format.js';
import type { LocRib } from './loc-rib.js';
import type { Path } from './path.js';
import type { RibPeer } from './peer.js';
import { PrefixMap } from './prefix-map.js';
import { SAFI_UNICAST } from '../wire/iana.js';

/** What we send for a prefix: interned, so `===` means "same UPDATE content". */
export interface OutPath {
  readonly attributes: PathAttributes;
  readonly nextHop: string;
}

export interface PendingUpdates {
  /** One entry per (attributes, next hop, family); `reach.prefixes` can be long — the codec splits it. */
  readonly announce: { readonly attributes: PathAttributes; readonly reach: ReachBlock }[];
  /** At most one block per family. */
  readonly withdraw: NlriBlock[];
}

export interface AdjRibOutOptions {
  readonly exportFilter?: SpeakerConfig['exportFilter'];
}

export class AdjRibOut {
  /** What the peer has from us. */
  readonly advertised = new PrefixMap<OutPath>();
  /**
   * Prefixes to re-evaluate, in arrival order, possibly repeated: a repeat costs one lookup at `takePending()`
   * (it then matches what was just advertised), less than keeping a million-entry set. Compacted when it
   * outgrows the table.
   */
  private pending: PrefixKey[] = [];
  /** `pending[0, cursor)` was taken by a sliced `takePending(limit)`; the rest waits. */
  private cursor = 0;
  /** Per family (IPv4, IPv6): re-send even what the peer already has (route refresh). */
  private resend = [false, false];
  /** The last best path seen in `wanted()` and what it became: prefixes of one UPDATE come in a row. */
  private lastPath: Path | undefined = undefined;
  private lastOut: OutPath | null = null;
  private lastFamily = -1;
  private readonly unsubscribe: () => void;
  private readonly exportFilter: SpeakerConfig['exportFilter'];
  /** Path → what it becomes for this peer (null: not sent), one map per family (the next hop may differ). */
  private outByPath = [new WeakMap<Path, OutPath | null>(), new WeakMap<Path, OutPath | null>()];
  /** Source attributes → exported attributes, per variant ("local", "learned", "reflect:<router id>"). */
  private readonly attributeCache = new WeakMap<PathAttributes, Map<string, PathAttributes>>();
  /** Exported attributes → OutPath per next hop. */
  private readonly outPaths = new WeakMap<PathAttributes, Map<string, OutPath>>();
  /** Attributes an export policy returned, interned by content. */
  private readonly policyAttributes = new Map<string, PathAttributes>();

  /** Subscribes to the Loc-RIB and marks every current best path pending (the initial table dump). */
  constructor(
    readonly peer: RibPeer,
    private readonly locRib: LocRib,
    opts: AdjRibOutOptions = {},
  ) {
    this.exportFilter = opts.exportFilter;
    this.unsubscribe = locRib.onBatch((prefixes, onlyFrom) => this.enqueue(prefixes, onlyFrom));
    locRib.forEachPrefix((prefix) => this.pending.push(prefix));
  }

  /** Stop following the Loc-RIB (session down). */
  close(): void {
    this.unsubscribe();
  }

  /**
   * Mark prefixes for re-evaluation at the next `takePending()`. With `onlyFrom` = this peer's address (every
   * new best path was learned from it, so none is sent back), only what it has from us needs a look (a
   * withdrawal): a full table from this peer costs nothing here.
   */
  enqueue(prefixes: Iterable<PrefixKey>, onlyFrom?: string): void {
    const pending = this.pending;
    if (onlyFrom !== undefined && onlyFrom === this.peer.address) {
      const advertised = this.advertised;
      if (advertised.size === 0) return;
      for (const prefix of prefixes) if (advertised.has(prefix)) pending.push(prefix);
    } else for (const prefix of prefixes) pending.push(prefix);
    if (pending.length - this.cursor > 2 * (this.locRib.size + this.advertised.size) + 4096) this.compact();
  }

  /** Keep only what is still to take, each prefix once: memory in prefixes, never in changes. */
  private compact(): void {
    this.pending = dedupe(this.cursor === 0 ? this.pending : this.pending.slice(this.cursor));
    this.cursor = 0;
  }

  get hasPending(): boolean {
    return this.pending.length > this.cursor;
  }

  /** How many entries wait (a prefix may be counted more than once until compacted). */
  get pendingCount(): number {
    return this.pending.length - this.cursor;
  }

  get advertisedCount(): number {
    return this.advertised.size;
  }

  /**
   * RFC 2918 ROUTE-REFRESH: send everything again (of one address family, or all) at the next `takePending()`
   * calls, until the pending set is empty (a prefix that was already waiting may go out twice).
   * For RFC 7313 enhanced route refresh the speaker brackets that output with BoRR / EoRR.
   */
  resendAll(afi?: Afi): void {
    this.advertised.forEach((_out, prefix) => {
      if (afi === undefined || prefixAfi(prefix) === afi) this.pending.push(prefix);
    });
    if (afi !== AFI_IPV6) this.resend[0] = true;
    if (afi !== AFI_IPV4) this.resend[1] = true;
  }

  /**
   * The export rules changed — the export policy, or who is a route-reflector client: re-evaluate every
   * prefix from scratch at the next `takePending()`, which sends only what differs.
   */
  reevaluate(): void {
    this.locRib.forEachPrefix((prefix) => this.pending.push(prefix));
    this.advertised.forEach((_out, prefix) => this.pending.push(prefix));
    this.policyAttributes.clear();
    this.outByPath = [new WeakMap(), new WeakMap()];
    this.lastPath = undefined;
    this.lastFamily = -1;
  }

  /**
   * Compute what changed for this peer since the last call, grouped for packing. With `limit`, at most that
   * many pending entries are looked at (a slice of a long job: the rest stays for the next call, and a route
   * refresh keeps re-sending until the pending set is empty); without, the pending set empties.
   */
  takePending(limit = Infinity): PendingUpdates {
    const groups = [new Map<OutPath, PrefixKey[]>(), new Map<OutPath, PrefixKey[]>()];
    const withdrawn: PrefixKey[][] = [[], []];
    const resend = this.resend;
    const pending = this.pending;
    const from = this.cursor;
    const to = Math.min(pending.length, from + limit);
    if (to >= pending.length) {
      this.pending = [];
      this.cursor = 0;
      this.resend = [false, false];
    } else this.cursor = to;
    let lastOut: OutPath | undefined;
    let lastGroup: PrefixKey[] = [];
    for (let i = from; i < to; i++) {
      const prefix = pending[i]!;
      const family = isIpv4Key(prefix) ? 0 : 1;
      const out = this.wanted(prefix, family);
      const had = this.advertised.get(prefix);
      if (out === null) {
        if (had !== undefined) {
          this.advertised.delete(prefix);
          withdrawn[family]!.push(prefix);
        }
        continue;
      }
      if (had === out && !resend[family]) continue;
      this.advertised.set(prefix, out);
      if (out !== lastOut || family !== 0) {
        lastOut = family === 0 ? out : undefined;
        lastGroup = groups[family]!.get(out) ?? [];
        if (lastGroup.length === 0) groups[family]!.set(out, lastGroup);
      }
      lastGroup.push(prefix);
    }
    return packGroups(groups, withdrawn);
  }

  /** What the peer sees from us, as operators read it. */
  adjRibOut(): RouteView[] {
    const out: RouteView[] = [];
    for (const [prefix, o] of this.advertised) {
      out.push({
        prefix: formatPrefix(prefix),
        nexthops: [o.nextHop],
        peer: this.peer.address,
        ...formatAttributes(o.attributes),
        best: true,
        multipath: false,
        reason: 'advertised',
        local: this.locRib.bestPath(prefix)?.local ?? false,
        age: 0,
      });
    }
    return out;
  }

  // ---- Internals -----------------------------------------------------------------------------------------

  /** What the peer should have for `prefix`: the exported best path, or null for nothing. */
  private wanted(prefix: PrefixKey, family: number): OutPath | null {
    const best = this.locRib.bestPath(prefix);
    if (best === undefined) return null;
    let out: OutPath | null | undefined;
    if (best === this.lastPath && family === this.lastFamily) out = this.lastOut;
    else {
      const cache = this.outByPath[family]!;
      out = cache.get(best);
      if (out === undefined) cache.set(best, (out = this.exportPath(best, family)));
      this.lastPath = best;
      this.lastOut = out;
      this.lastFamily = family;
    }
    if (out === null || this.exportFilter === undefined) return out;
    return this.applyExportFilter(prefix, out);
  }

  private exportPath(path: Path, family: number): OutPath | null {
    if (exportBlock(path, this.peer) !== undefined) return null;
    const variant =
      path.peer === null
        ? 'local'
        : path.peer.ibgp && this.peer.ibgp
          ? `reflect:${path.peer.bgpId}:${this.locRib.clusterId}`
          : 'learned';
    let byVariant = this.attributeCache.get(path.attributes);
    if (byVariant === undefined) this.attributeCache.set(path.attributes, (byVariant = new Map()));
    let attributes = byVariant.get(variant);
    if (attributes === undefined) {
      attributes = exportAttributes(path, this.peer, this.locRib.localAsn, this.locRib.clusterId);
      byVariant.set(variant, attributes);
    }
    return this.internOut(attributes, this.nextHopFor(path, family));
  }

  /**
   * RFC 4271 §5.1.3: to eBGP, ourselves ("next-hop-self"); to iBGP, a learned route keeps its next hop. Our
   * own routes carry the next hop the operator gave, else our address on this session.
   */
  private nextHopFor(path: Path, family: number): string {
    if (path.peer !== null && this.peer.ibgp) return path.nextHop;
    if (path.peer === null && path.nextHop !== '') return path.nextHop;
    const own = this.peer.localAddress;
    if (family === 1 && !own.includes(':')) return this.peer.localAddressIpv6 ?? own;
    if (family === 0 && own.includes(':')) return this.peer.localAddressIpv4 ?? own;
    return own;
  }

  private internOut(attributes: PathAttributes, nextHop: string): OutPath {
    let byNextHop = this.outPaths.get(attributes);
    if (byNextHop === undefined) this.outPaths.set(attributes, (byNextHop = new Map()));
    let out = byNextHop.get(nextHop);
    if (out === undefined) byNextHop.set(nextHop, (out = Object.freeze({ attributes, nextHop })));
    return out;
  }

  /** The speaker's export policy, per prefix: false drops, changed attributes are interned by content. */
  private applyExportFilter(prefix: PrefixKey, out: OutPath): OutPath | null {
    const verdict = this.exportFilter!(this.peer.address, prefix, out.attributes);
    if (verdict === false) return null;
    if (verdict === true || verdict === out.attributes) return out;
    const key = attributesKey(verdict);
    let attributes = this.policyAttributes.get(key);
    if (attributes === undefined) {
      // A policy that invents endless variants must not grow this without bound; re-interning is only slower.
      if (this.policyAttributes.size >= 65536) this.policyAttributes.clear();
      this.policyAttributes.set(key, (attributes = verdict));
    }
    return this.internOut(attributes, out.nextHop);
  }
}

/** The distinct prefixes of a list, first occurrence order. */
function dedupe(prefixes: PrefixKey[]): PrefixKey[] {
  const seen = new PrefixMap<true>();
  const out: PrefixKey[] = [];
  for (const prefix of prefixes) {
    if (seen.has(prefix)) continue;
    seen.set(prefix, true);
    out.push(prefix);
  }
  return out;
}

function packGroups(groups: Map<OutPath, PrefixKey[]>[], withdrawn: PrefixKey[][]): PendingUpdates {
  const announce: { attributes: PathAttributes; reach: ReachBlock }[] = [];
  const afis = [AFI_IPV4, AFI_IPV6] as const;
  groups.forEach((byOut, family) => {
    for (const [out, prefixes] of byOut)
      announce.push({
        attributes: out.attributes,
        reach: { afi: afis[family]!, safi: SAFI_UNICAST, nextHop: out.nextHop, prefixes },
      });
  });
  const withdraw: NlriBlock[] = [];
  withdrawn.forEach((prefixes, family) => {
    if (prefixes.length > 0) withdraw.push({ afi: afis[family]!, safi: SAFI_UNICAST, prefixes });
  });
  return { announce, withdraw };
}
