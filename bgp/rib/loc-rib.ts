/**
 * Loc-RIB (RFC 4271 §3.2): every peer's Adj-RIB-In, our locally originated routes, and per prefix the result of
 * the decision process (`decision.ts`).
 *
 * Storage, per prefix, is one map entry whose value is either the single candidate `Path` or a shared
 * `CandidateSet` holding the candidates and their decision (`candidates.ts`): no per-prefix object either way.
 * Every operation re-decides only the prefixes it touches and reports, in one batch:
 *
 * - to the caller, `LocRibChanges` — the FIB view: the ECMP next-hop set of the best *learned* path, or `null`
 *   when the prefix has no route or its best path is one we originate (we never install our own prefixes;
 *   see api.ts). Next-hop arrays are interned, so prefixes with the same set share one frozen array. Each
 *   prefix appears at most once per batch.
 * - to `onBatch` listeners (the Adj-RIB-Outs), once per operation, the prefixes whose best `Path` object
 *   changed (local ones included). A listener reads `bestPath(prefix)` for each. One call per batch, not per
 *   prefix, is what keeps a 1,000-prefix UPDATE at one closure call per peer.
 */
import type { LocRibChanges, RouteView, SpeakerConfig } from '../api.js';
import { isIpv4Key, type PrefixKey } from '../../ip/prefix.js';
import { parseIpv4 } from '../../ip/address.js';
import type { PathAttributes, UpdateMessage } from '../wire/types.js';
import { AFI_IPV4, AFI_IPV6, MAX_AS, ORIGIN_IGP } from '../wire/iana.js';
import { AdjRibIn, type LocalIdentity } from './adj-rib-in.js';
import { slotBest, slotFib, slotPaths, SlotTransitions, type Slot } from './candidates.js';
import { explain, formatVerdict, type Decision } from './decision.js';
import { pathView } from './format.js';
import { Path } from './path.js';
import type { RibPeer } from './peer.js';
import { PrefixMap } from './prefix-map.js';

/** Attributes of a locally originated route when the caller gives none: ORIGIN IGP, empty AS_PATH. */
export const LOCAL_ATTRIBUTES: PathAttributes = Object.freeze({
  origin: ORIGIN_IGP,
  asPath: Object.freeze([]),
});

export interface LocRibOptions {
  readonly localAsn: number;
  readonly routerId: string;
  /** RFC 4456 CLUSTER_ID (default: routerId). */
  readonly clusterId?: string;
  readonly importFilter?: SpeakerConfig['importFilter'];
}

/** Why the options are unusable, or undefined. The constructor throws with this message. */
export function validateLocRibOptions(opts: LocRibOptions): string | undefined {
  if (!Number.isInteger(opts.localAsn) || opts.localAsn < 1 || opts.localAsn > MAX_AS)
    return `localAsn ${opts.localAsn} is not an AS number (1..4294967295)`;
  if (parseIpv4(opts.routerId) === undefined) return `routerId "${opts.routerId}" is not a dotted quad`;
  if (opts.clusterId !== undefined && parseIpv4(opts.clusterId) === undefined)
    return `clusterId "${opts.clusterId}" is not a dotted quad`;
  return undefined;
}

/** A route we originate. `nextHop` omitted or '': our address on each session. */
export interface LocalRoute {
  readonly prefix: PrefixKey;
  readonly nextHop?: string;
  readonly attributes?: PathAttributes;
}

/**
 * `onlyFrom`, when given: the new best path of every prefix of the batch was learned from the peer with this
 * address (so none of them can be sent back to it).
 */
export type BatchListener = (prefixes: readonly PrefixKey[], onlyFrom?: string) => void;

/**
 * The candidate from `peer` in a slot. By address, as a stale path (graceful restart) belongs to the same
 * peer's previous session; the identity test first keeps the common case to one comparison.
 */
function pathFrom(slot: Slot | undefined, peer: RibPeer): Path | undefined {
  if (slot === undefined) return undefined;
  if (slot instanceof Path) return samePeer(slot.peer, peer) ? slot : undefined;
  for (const path of slot.paths) if (samePeer(path.peer, peer)) return path;
  return undefined;
}

/** Keep only the last change of each prefix (the state after the batch). */
function lastPerPrefix(changes: LocRibChanges): LocRibChanges {
  const last = new PrefixMap<number>();
  changes.prefixes.forEach((prefix, i) => last.set(prefix, i));
  if (last.size === changes.prefixes.length) return changes;
  const out: LocRibChanges = { prefixes: [], nexthops: [] };
  changes.prefixes.forEach((prefix, i) => {
    if (last.get(prefix) !== i) return;
    out.prefixes.push(prefix);
    out.nexthops.push(changes.nexthops[i]!);
  });
  return out;
}

function samePeer(a: RibPeer | null, b: RibPeer): boolean {
  return a === b || (a !== null && a.address === b.address);
}

export class LocRib {
  readonly localAsn: number;
  readonly routerId: string;
  private readonly importFilter: SpeakerConfig['importFilter'];
  /** Shared with every Adj-RIB-In; `setClusterId` changes it in place. */
  private readonly identity: { -readonly [K in keyof LocalIdentity]: LocalIdentity[K] };
  private readonly adjRibIns = new Map<string, AdjRibIn>();
  private readonly rib = new PrefixMap<Slot>();
  /** Peers being withdrawn a slice at a time (`peerDownSlice`): their prefixes, in random order, and how far. */
  private readonly withdrawals = new Map<string, { readonly keys: PrefixKey[]; next: number }>();
  private localRoutes = new Map<PrefixKey, Path>();
  private readonly nexthopSets = new Map<string, readonly string[]>();
  private readonly listeners = new Set<BatchListener>();
  private readonly transitions = new SlotTransitions((sorted) => this.internNexthops(sorted));
  /** Paths carry the epoch they were made in; a peer's markStale starts a new one (adj-rib-in.ts). */
  private readonly epochs = {
    current: 1,
    next(): number {
      return ++this.current;
    },
  };
  // The batch being built by the current operation.
  private changedPrefixes: PrefixKey[] = [];
  private changedNexthops: (readonly string[] | null)[] = [];
  private bestChanged: PrefixKey[] = [];
  /** The peer every new best path of `bestChanged` came from, or null (mixed, ours, or none). */
  private bestFrom: string | null = null;

  constructor(opts: LocRibOptions) {
    const invalid = validateLocRibOptions(opts);
    if (invalid !== undefined) throw new Error(`RIB: ${invalid}`);
    this.localAsn = opts.localAsn;
    this.routerId = opts.routerId;
    this.importFilter = opts.importFilter;
    const clusterId = opts.clusterId ?? opts.routerId;
    this.identity = { localAsn: this.localAsn, routerId: this.routerId, clusterId };
  }

  /** RFC 4456 CLUSTER_ID: put in the CLUSTER_LIST of reflected routes and checked against received ones. */
  get clusterId(): string {
    return this.identity.clusterId;
  }

  /**
   * A new CLUSTER_ID (undefined: the router id) for routes reflected from now on and for loop checks of
   * routes received from now on; paths already held keep their verdict until they are received again.
   */
  setClusterId(clusterId: string | undefined): void {
    const id = clusterId ?? this.routerId;
    if (parseIpv4(id) === undefined) throw new Error(`RIB: clusterId "${id}" is not a dotted quad`);
    this.identity.clusterId = id;
  }

  // ---- Peers ---------------------------------------------------------------------------------------------

  /**
   * A session reached Established. A known address is accepted again once its routes are gone (after
   * `peerDown`), taking the new description (router id, capabilities); with routes still held it throws.
   */
  addPeer(peer: RibPeer): void {
    const known = this.adjRibIns.get(peer.address);
    if (this.withdrawals.has(peer.address))
      throw new Error(`RIB: peer ${peer.address} is still being withdrawn; finish with peerDown first`);
    if (known !== undefined && known.received > 0)
      throw new Error(`RIB: peer ${peer.address} still holds routes; call peerDown or markStale first`);
    const adjRibIn = new AdjRibIn(peer, this.identity, (nh) => this.internNexthops([nh]), this.epochs, known);
    this.adjRibIns.set(peer.address, adjRibIn);
  }

  /** Withdraw everything the peer sent and forget it. */
  removePeer(address: string): LocRibChanges {
    const changes = this.peerDown(address);
    this.adjRibIns.delete(address);
    return changes;
  }

  /**
   * The session went down: withdraw every route the peer sent; the peer stays known (with empty tables).
   * All at once — or the rest of a withdrawal `peerDownSlice` began.
   */
  peerDown(address: string): LocRibChanges {
    return this.peerDownSlice(address, Infinity).changes;
  }

  /**
   * `peerDown` a slice at a time, for a peer with a full table: the first call lists the peer's prefixes (in
   * random order); each call withdraws no more than `budget` of them and reports that slice as one batch
   * (changes returned, Adj-RIB-Outs told); `done` once nothing of the peer's is left. A million routes
   * withdrawn in one call keep the caller's thread busy for seconds (3.6 s measured at 1M, before the FIB and
   * the other peers see any of it). Between the calls the table may change: other peers' UPDATEs, local
   * routes. Until done the peer's remaining paths are still candidates, its counts are the old session's, and
   * `addPeer` refuses it (`peerDown` finishes the withdrawal in one go).
   */
  peerDownSlice(address: string, budget: number): { changes: LocRibChanges; done: boolean } {
    const adjRibIn = this.adjRibIns.get(address);
    if (adjRibIn === undefined) return { changes: { prefixes: [], nexthops: [] }, done: true };
    const peer = adjRibIn.peer;
    let w = this.withdrawals.get(address);
    if (w === undefined && adjRibIn.received + adjRibIn.stale > 0) {
      // The peer's prefixes, then in random order: each slice is a sample of the whole table, not a run of
      // neighbours. The kernel's IPv4 trie deletes neighbouring prefixes in ascending order slowly (it keeps
      // resizing the node they empty): a 1M drop in 65,536-prefix slices of neighbours took 35-44 s in the
      // kernel, in one random order 5 s; the FIB shuffles a backlog only within what it holds at once.
      const keys: PrefixKey[] = [];
      this.rib.forEach((slot, prefix) => {
        if (pathFrom(slot, peer) !== undefined) keys.push(prefix);
      });
      shuffle(keys);
      w = { keys, next: 0 };
      this.withdrawals.set(address, w);
    }
    let done = true;
    if (w !== undefined) {
      const end = Math.min(w.keys.length, w.next + budget);
      for (; w.next < end; w.next++) {
        const prefix = w.keys[w.next]!;
        const slot = this.rib.get(prefix);
        const path = slot === undefined ? undefined : pathFrom(slot, peer);
        if (path !== undefined) this.replace(prefix, slot!, path, undefined);
      }
      done = w.next >= w.keys.length;
    }
    if (done) {
      this.withdrawals.delete(address);
      adjRibIn.clear();
    }
    return { changes: this.finishBatch(), done };
  }

  /** The peer's withdrawal (`peerDownSlice`) is under way. */
  withdrawing(address: string): boolean {
    return this.withdrawals.has(address);
  }

  /**
   * RFC 4724 graceful restart (the session dropped, the peer restarts) or RFC 7313 Beginning of Route Refresh:
   * keep using everything the peer sent, as stale, until `sweepStale`. Re-announced prefixes stop being stale.
   * `addPeer` may then be called again for the new session. Nothing changes in the Loc-RIB, so nothing is
   * reported.
   */
  markStale(address: string): void {
    this.adjRibIns.get(address)?.markStale();
  }

  /**
   * End-of-RIB after a restart (or End of Route Refresh): withdraw what the peer did not announce again — of
   * one family (AFI) when given, else of all.
   */
  sweepStale(address: string, afi?: number): LocRibChanges {
    const adjRibIn = this.adjRibIns.get(address);
    if (adjRibIn === undefined) return { prefixes: [], nexthops: [] };
    if (adjRibIn.stale > 0)
      this.withdrawFrom(adjRibIn.peer, (path, prefix) => {
        if (!adjRibIn.isStale(path)) return false;
        if (afi !== undefined && (isIpv4Key(prefix) ? AFI_IPV4 : AFI_IPV6) !== afi) return false;
        adjRibIn.forget(path);
        return true;
      });
    return this.finishBatch();
  }

  /**
   * RFC 4456: make an established peer a route-reflector client of ours, or not. Best paths do not depend on
   * it, so nothing here changes; what every iBGP peer may be sent does — the caller re-evaluates the
   * Adj-RIB-Outs (`AdjRibOut.reevaluate`). Returns whether anything changed.
   */
  setRouteReflectorClient(address: string, client: boolean): boolean {
    const peer = this.adjRibIns.get(address)?.peer;
    if (peer === undefined || peer.routeReflectorClient === client) return false;
    peer.routeReflectorClient = client;
    return true;
  }

  peers(): RibPeer[] {
    return [...this.adjRibIns.values()].map((r) => r.peer);
  }

  peer(address: string): RibPeer | undefined {
    return this.adjRibIns.get(address)?.peer;
  }

  // ---- Input ---------------------------------------------------------------------------------------------

  /** RFC 4271 §9: apply one UPDATE from a peer — withdrawals first, then announcements — and decide. */
  applyUpdate(peerAddress: string, update: UpdateMessage, now: number): LocRibChanges {
    const adjRibIn = this.adjRibIns.get(peerAddress);
    if (adjRibIn === undefined) throw new Error(`RIB: UPDATE from unknown peer ${peerAddress}`);
    for (const block of update.withdrawn) {
      for (const prefix of block.prefixes) {
        const slot = this.rib.get(prefix);
        const old = pathFrom(slot, adjRibIn.peer);
        if (old === undefined) continue;
        adjRibIn.forget(old);
        this.replace(prefix, slot, old, undefined);
      }
    }
    const attributes = update.attributes;
    if (attributes !== null) {
      const filter = this.importFilter;
      for (const block of update.reach) {
        const path = adjRibIn.makePath(attributes, block, now);
        for (const prefix of block.prefixes) {
          const chosen =
            filter !== undefined && !filter(peerAddress, prefix, attributes, block.nextHop)
              ? path.refused()
              : path;
          const slot = this.rib.get(prefix);
          const old = pathFrom(slot, adjRibIn.peer);
          if (old === chosen) continue;
          adjRibIn.record(chosen, old);
          this.replace(prefix, slot, old, chosen);
        }
      }
    }
    // Only a prefix both withdrawn and announced in one UPDATE can be reported twice (RFC 7606 §5.3).
    return this.finishBatch(update.withdrawn.length > 0 && update.reach.length > 0);
  }

  /**
   * The whole desired set of routes we originate (an empty list withdraws them all). They beat learned paths
   * (decision step "local"). Their own changes are not in the returned `LocRibChanges` (a prefix whose best
   * becomes local is reported `null`, as no learned route is to be installed); Adj-RIB-Outs see them.
   */
  setLocal(routes: readonly LocalRoute[], now: number): LocRibChanges {
    const wanted = new Map<PrefixKey, Path>();
    const shared = new Map<PathAttributes, Map<string, Path>>();
    for (const r of routes) {
      const attributes = r.attributes ?? LOCAL_ATTRIBUTES;
      const nextHop = r.nextHop ?? '';
      let byNextHop = shared.get(attributes);
      if (byNextHop === undefined) shared.set(attributes, (byNextHop = new Map()));
      let path = byNextHop.get(nextHop);
      if (path === undefined) {
        const old = this.localRoutes.get(r.prefix);
        const same = old !== undefined && old.attributes === attributes && old.nextHop === nextHop;
        path = same ? old : new Path(null, attributes, nextHop, undefined, now, undefined, null);
        byNextHop.set(nextHop, path);
      }
      wanted.set(r.prefix, path);
    }
    for (const [prefix, old] of this.localRoutes)
      if (!wanted.has(prefix)) this.replace(prefix, this.rib.get(prefix), old, undefined);
    for (const [prefix, path] of wanted) {
      const old = this.localRoutes.get(prefix);
      if (old !== path) this.replace(prefix, this.rib.get(prefix), old, path);
    }
    this.localRoutes = wanted;
    return this.finishBatch();
  }

  // ---- Output --------------------------------------------------------------------------------------------

  /** Be told, once per operation, which prefixes changed best path. Returns the unsubscribe function. */
  onBatch(listener: BatchListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The best path of a prefix (fast: no allocation). */
  bestPath(prefix: PrefixKey): Path | undefined {
    return slotBest(this.rib.get(prefix));
  }

  /** The decision for a prefix: best path, ECMP set and the deciding step; undefined when no eligible path. */
  bestPaths(prefix: PrefixKey): Decision | undefined {
    const slot = this.rib.get(prefix);
    if (slot === undefined) return undefined;
    if (slot instanceof Path)
      return slot.ineligible === undefined
        ? { best: slot, multipath: slot.alone, step: 'only-path' }
        : undefined;
    return slot.best === undefined
      ? undefined
      : { best: slot.best, multipath: slot.multipath, step: slot.step };
  }

  /** The ECMP next-hop set installed for a prefix (null: none, or the best is local). */
  nexthops(prefix: PrefixKey): readonly string[] | null {
    return slotFib(this.rib.get(prefix));
  }

  /** Every prefix with at least one candidate path (eligible or not). */
  prefixes(): IterableIterator<PrefixKey> {
    return this.rib.keys();
  }

  /** Calls `fn` for every prefix with at least one candidate path (faster than `prefixes()`). */
  forEachPrefix(fn: (prefix: PrefixKey) => void): void {
    this.rib.forEach((_slot, prefix) => fn(prefix));
  }

  /** Every candidate path of a prefix. */
  candidates(prefix: PrefixKey): readonly Path[] {
    return slotPaths(this.rib.get(prefix));
  }

  /** Received and accepted count the current session's routes; `stale` those kept from before a restart. */
  counts(peer: string): { received: number; accepted: number; stale: number } {
    const r = this.adjRibIns.get(peer);
    return { received: r?.received ?? 0, accepted: r?.accepted ?? 0, stale: r?.stale ?? 0 };
  }

  get size(): number {
    return this.rib.size;
  }

  /** What `routes()` would list, counted without building a view per path. */
  totals(): { prefixes: number; paths: number } {
    let paths = 0;
    this.rib.forEach((slot) => {
      paths += slotPaths(slot).length;
    });
    return { prefixes: this.rib.size, paths };
  }

  /** The Loc-RIB as operators see it: every candidate with best / multipath / the reason. */
  routes(filter: { prefix?: PrefixKey; peer?: string } = {}, now: number = Date.now()): RouteView[] {
    const out: RouteView[] = [];
    const keys = filter.prefix !== undefined ? [filter.prefix] : this.rib.keys();
    for (const prefix of keys) {
      const paths = this.candidates(prefix);
      if (paths.length === 0) continue;
      const decision = this.bestPaths(prefix);
      const reasons = explain(paths, decision);
      paths.forEach((path, i) => {
        if (filter.peer !== undefined && path.peer?.address !== filter.peer) return;
        const best = path === decision?.best;
        const multipath =
          decision !== undefined && decision.multipath.length > 1 && decision.multipath.includes(path);
        const nexthops = best ? (this.nexthops(prefix) ?? undefined) : undefined;
        const address = path.peer?.address;
        const stale = address !== undefined && this.adjRibIns.get(address)?.isStale(path) === true;
        const reason = formatVerdict(reasons[i]!);
        const view = pathView(prefix, path, {
          nexthops,
          best,
          multipath,
          reason: stale ? `stale, ${reason}` : reason,
          now,
        });
        out.push(stale ? { ...view, stale: true } : view);
      });
    }
    return out;
  }

  /** What one peer sent us, with "accepted" or why not, and whether it is the best path. */
  adjRibIn(peer: string, now: number = Date.now()): RouteView[] {
    const r = this.adjRibIns.get(peer);
    if (r === undefined) return [];
    const out: RouteView[] = [];
    const all: [PrefixKey, Path][] = [];
    this.rib.forEach((slot, prefix) => {
      const path = pathFrom(slot, r.peer);
      if (path !== undefined) all.push([prefix, path]);
    });
    for (const [prefix, path] of all) {
      let reason = path.ineligible === undefined ? 'accepted' : `ineligible: ${path.ineligible}`;
      if (r.isStale(path)) reason = `stale, ${reason}`;
      const best = this.bestPath(prefix) === path;
      const set = this.bestPaths(prefix)?.multipath;
      const multipath = set !== undefined && set.length > 1 && set.includes(path);
      out.push(pathView(prefix, path, { best, multipath, reason, now }));
    }
    return out;
  }

  // ---- Internals -----------------------------------------------------------------------------------------

  /** One frozen array per distinct sorted next-hop set. */
  internNexthops(sorted: readonly string[]): readonly string[] {
    const key = sorted.length === 1 ? sorted[0]! : sorted.join(',');
    let set = this.nexthopSets.get(key);
    if (set === undefined) this.nexthopSets.set(key, (set = Object.freeze([...sorted])));
    return set;
  }

  /**
   * Withdraw the path from `peer` (by address: a stale one belongs to its previous session) of every prefix
   * where `which` says so: one walk of the table, changes collected first.
   */
  private withdrawFrom(peer: RibPeer, which: (path: Path, prefix: PrefixKey) => boolean): void {
    const prefixes: PrefixKey[] = [];
    const paths: Path[] = [];
    this.rib.forEach((slot, prefix) => {
      const path = pathFrom(slot, peer);
      if (path !== undefined && which(path, prefix)) {
        prefixes.push(prefix);
        paths.push(path);
      }
    });
    for (let i = 0; i < prefixes.length; i++)
      this.replace(prefixes[i]!, this.rib.get(prefixes[i]!), paths[i], undefined);
  }

  /**
   * Swap one candidate of a prefix (`old` → `next`, either may be absent) in its `slot` (looked up by the
   * caller), decide, record what changed.
   */
  private replace(
    prefix: PrefixKey,
    slot: Slot | undefined,
    old: Path | undefined,
    next: Path | undefined,
  ): void {
    const beforeBest = slotBest(slot);
    const beforeFib = slotFib(slot);
    const after = this.updateSlot(slot, old, next);
    if (after === undefined) this.rib.delete(prefix);
    else if (after !== slot) this.rib.set(prefix, after);
    const afterBest = slotBest(after);
    if (afterBest !== beforeBest) {
      const from = afterBest?.peer?.address ?? null;
      if (this.bestChanged.push(prefix) === 1) this.bestFrom = from;
      else if (from !== this.bestFrom) this.bestFrom = null;
    }
    const afterFib = slotFib(after);
    if (afterFib !== beforeFib) {
      this.changedPrefixes.push(prefix);
      this.changedNexthops.push(afterFib);
    }
  }

  private updateSlot(
    slot: Slot | undefined,
    old: Path | undefined,
    next: Path | undefined,
  ): Slot | undefined {
    if (old !== undefined) slot = this.transitions.without(slot, old);
    return next === undefined ? slot : this.transitions.with(slot, next);
  }

  private finishBatch(mayRepeat = false): LocRibChanges {
    let changes: LocRibChanges = { prefixes: this.changedPrefixes, nexthops: this.changedNexthops };
    if (mayRepeat && changes.prefixes.length > 1) changes = lastPerPrefix(changes);
    const touched = this.bestChanged;
    this.changedPrefixes = [];
    this.changedNexthops = [];
    this.bestChanged = [];
    const from = this.bestFrom ?? undefined;
    this.bestFrom = null;
    if (touched.length > 0) for (const listener of this.listeners) listener(touched, from);
    return changes;
  }
}

/** Fisher–Yates, in place. */
function shuffle<T>(a: T[]): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const x = a[i]!;
    a[i] = a[j]!;
    a[j] = x;
  }
}
