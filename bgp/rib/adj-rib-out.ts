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
import {
  attributesKey,
  excludes,
  exclusionOf,
  exportAttributes,
  exportBlock,
  type Exclusion,
} from './export.js';
import { formatAttributes } from './format.js';
import type { LocRib } from './loc-rib.js';
import type { Path } from './path.js';
import type { RibPeer } from './peer.js';
import { PrefixMap } from './prefix-map.js';
import { SAFI_UNICAST } from '../wire/iana.js';

/**
 * What we send for a prefix: interned, so `===` means "same UPDATE content". In a shared (update group)
 * Adj-RIB-Out, `exclude` names the members it must not reach (the peer it came from, its originator).
 */
export interface OutPath {
  readonly attributes: PathAttributes;
  readonly nextHop: string;
  readonly exclude?: Exclusion;
}

export interface PendingUpdates {
  /** One entry per (attributes, next hop, family[, exclusion]); `reach.prefixes` can be long — the codec splits it. */
  readonly announce: {
    readonly attributes: PathAttributes;
    readonly reach: ReachBlock;
    /** The interned route these prefixes share (a key for caches of its encoding). */
    readonly out: OutPath;
    /** Shared only: members matching this do not get these prefixes (see `excludedWithdraw`). */
    readonly exclude?: Exclusion;
  }[];
  /** At most one block per family. */
  readonly withdraw: NlriBlock[];
  /**
   * Shared only: prefixes whose new route excludes members (`exclude`) that the old one (`unless`) did not: those
   * members may still hold the old route from us and get these as withdrawals.
   */
  readonly excludedWithdraw?: {
    readonly exclude: Exclusion;
    readonly unless?: Exclusion;
    readonly block: NlriBlock;
  }[];
}

export interface AdjRibOutOptions {
  readonly exportFilter?: SpeakerConfig['exportFilter'];
  /**
   * An update group's Adj-RIB-Out: `peer` stands for every member (they share export rules and capabilities);
   * the per-member rules (not back to where it came from, not to its originator) become `OutPath.exclude`.
   */
  readonly shared?: boolean;
  /** Shared only: does every member have this address? (A full table from it then needs no look, as below.) */
  readonly onlyMember?: (address: string) => boolean;
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
  private readonly shared: boolean;
  private readonly onlyMember: ((address: string) => boolean) | undefined;
  /** Shared only: a batch from the sole member was left out (see `membersGrew`). */
  private skippedForSole = false;
  /** Shared only: exclusions interned by content, so `===` compares them. */
  private readonly exclusions = new Map<string, Exclusion>();
  /** Path → what it becomes for this peer (null: not sent), one map per family (the next hop may differ). */
  private outByPath = [new WeakMap<Path, OutPath | null>(), new WeakMap<Path, OutPath | null>()];
  /** Source attributes → exported attributes, per variant ("local", "learned", "reflect:<router id>"). */
  private readonly attributeCache = new WeakMap<PathAttributes, Map<string, PathAttributes>>();
  /** Exported attributes → OutPath per next hop. */
  private readonly outPaths = new WeakMap<PathAttributes, Map<string, OutPath>>();
  /** Shared only: OutPath → the same with an exclusion. */
  private readonly excludedOuts = new WeakMap<OutPath, Map<Exclusion, OutPath>>();
  /** Attributes an export policy returned, interned by content. */
  private readonly policyAttributes = new Map<string, PathAttributes>();

  /** Subscribes to the Loc-RIB and marks every current best path pending (the initial table dump). */
  constructor(
    readonly peer: RibPeer,
    private readonly locRib: LocRib,
    opts: AdjRibOutOptions = {},
  ) {
    this.exportFilter = opts.exportFilter;
    this.shared = opts.shared === true;
    this.onlyMember = opts.onlyMember;
    this.unsubscribe = locRib.onBatch((prefixes, onlyFrom) => this.enqueue(prefixes, onlyFrom));
    locRib.forEachPrefix((prefix) => this.pending.push(prefix));
  }

  /**
   * Shared only: a second member joined. The routes the sole member sent were left out above (none could go
   * back to it), but the newcomer needs them: every prefix is looked at again (once per such join, and only
   * when something was left out). Without this, the first route-reflector client up reached no other client
   * when its UPDATE arrived before any of them was Established (issue 13: an intermittent hang of the bench).
   */
  membersGrew(): void {
    if (!this.skippedForSole) return;
    this.skippedForSole = false;
    this.locRib.forEachPrefix((prefix) => this.pending.push(prefix));
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
    if (
      onlyFrom !== undefined &&
      (this.onlyMember !== undefined ? this.onlyMember(onlyFrom) : onlyFrom === this.peer.address)
    ) {
      // Shared: what the sole member sent is needed by every member that joins later (`membersGrew`).
      if (this.onlyMember !== undefined) this.skippedForSole = true;
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
    /** Shared only: new exclusion → old exclusion (null: none) → prefixes, per family. */
    let excluded: Map<Exclusion, Map<Exclusion | null, PrefixKey[]>>[] | undefined;
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
      if (out.exclude !== undefined && had !== undefined && had.exclude !== out.exclude) {
        excluded ??= [new Map(), new Map()];
        const byOld = excluded[family]!;
        let m = byOld.get(out.exclude);
        if (m === undefined) byOld.set(out.exclude, (m = new Map()));
        const old = had.exclude ?? null;
        let list = m.get(old);
        if (list === undefined) m.set(old, (list = []));
        list.push(prefix);
      }
      if (out !== lastOut || family !== 0) {
        lastOut = family === 0 ? out : undefined;
        lastGroup = groups[family]!.get(out) ?? [];
        if (lastGroup.length === 0) groups[family]!.set(out, lastGroup);
      }
      lastGroup.push(prefix);
    }
    return packGroups(groups, withdrawn, excluded);
  }

  /**
   * What the peer should have for `prefix` now, by the current best path, whether or not it was sent yet
   * (null: nothing). A prefix whose answer differs from `advertised` is pending.
   */
  wants(prefix: PrefixKey): OutPath | null {
    return this.wanted(prefix, isIpv4Key(prefix) ? 0 : 1);
  }

  /** What the peer sees from us, as operators read it (shared: what `member` sees). */
  adjRibOut(member?: { readonly address: string; readonly bgpId: string }): RouteView[] {
    const out: RouteView[] = [];
    for (const [prefix, o] of this.advertised) {
      if (member !== undefined && excludes(o.exclude, member)) continue;
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
    if (exportBlock(path, this.peer, this.shared) !== undefined) return null;
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
    const out = this.internOut(attributes, this.nextHopFor(path, family));
    return this.shared ? this.withExclusion(out, exclusionOf(path, this.peer)) : out;
  }

  /** The OutPath with an exclusion, interned like the rest (one object per content). */
  private withExclusion(out: OutPath, e: { peer: string; originator?: string } | undefined): OutPath {
    if (e === undefined) return out;
    const key = e.originator === undefined ? e.peer : `${e.peer} ${e.originator}`;
    let exclude = this.exclusions.get(key);
    if (exclude === undefined) this.exclusions.set(key, (exclude = Object.freeze(e)));
    let byExclusion = this.excludedOuts.get(out);
    if (byExclusion === undefined) this.excludedOuts.set(out, (byExclusion = new Map()));
    let x = byExclusion.get(exclude);
    if (x === undefined) byExclusion.set(exclude, (x = Object.freeze({ ...out, exclude })));
    return x;
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
    const policy = this.internOut(attributes, out.nextHop);
    return out.exclude === undefined ? policy : this.withExclusion(policy, out.exclude);
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

function packGroups(
  groups: Map<OutPath, PrefixKey[]>[],
  withdrawn: PrefixKey[][],
  excluded?: Map<Exclusion, Map<Exclusion | null, PrefixKey[]>>[],
): PendingUpdates {
  const announce: PendingUpdates['announce'][number][] = [];
  const afis = [AFI_IPV4, AFI_IPV6] as const;
  groups.forEach((byOut, family) => {
    for (const [out, prefixes] of byOut) {
      const reach = { afi: afis[family]!, safi: SAFI_UNICAST, nextHop: out.nextHop, prefixes };
      announce.push(
        out.exclude === undefined
          ? { attributes: out.attributes, reach, out }
          : { attributes: out.attributes, reach, out, exclude: out.exclude },
      );
    }
  });
  const withdraw: NlriBlock[] = [];
  withdrawn.forEach((prefixes, family) => {
    if (prefixes.length > 0) withdraw.push({ afi: afis[family]!, safi: SAFI_UNICAST, prefixes });
  });
  const excludedWithdraw: NonNullable<PendingUpdates['excludedWithdraw']>[number][] = [];
  excluded?.forEach((byNew, family) => {
    for (const [exclude, byOld] of byNew)
      for (const [unless, prefixes] of byOld) {
        const block = { afi: afis[family]!, safi: SAFI_UNICAST, prefixes };
        excludedWithdraw.push(unless === null ? { exclude, block } : { exclude, unless, block });
      }
  });
  return excluded === undefined ? { announce, withdraw } : { announce, withdraw, excludedWithdraw };
}
