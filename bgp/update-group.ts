/**
 * Update groups (issue 13): peers with the same export rules and the same negotiated capabilities share one
 * Adj-RIB-Out computation and one encoded UPDATE stream, as BIRD, FRR and OpenBGPD do — a change is worked
 * out and encoded once per group, not once per peer.
 *
 * - **Key** (`groupKey`): iBGP or eBGP, our AS, route-reflector client or not (iBGP), 4-octet AS, RFC 8950
 *   extended next hop, the families, our addresses on the session (the next hop we put on routes), and the
 *   export policy's own key (`SpeakerConfig.exportPolicyKey`; with an export filter and no key, every peer is
 *   a group of its own). Nothing else in `export.ts` or the codec depends on the peer.
 * - **Per-member rules.** A route never goes back to the peer it came from, nor over iBGP to its originator
 *   (RFC 4456 §8). The shared computation leaves those two rules out and tags each route with its exclusion
 *   (`OutPath.exclude`, adj-rib-out.ts); the send leaves out of a member's copy the blocks that exclude it, and
 *   gives it a withdrawal where the route it may still hold from us became one it must not have.
 * - **Slow members cost prefixes, never messages** (out-queue.ts, issue 10). The group goes on as soon as one
 *   in-step member has room; a member above the high-water mark at that moment falls behind: from then on it
 *   keeps only the keys of the prefixes the group sent without it (deduplicated once they outgrow the table),
 *   and catches up on its own (`catchUp`) from the group's current state, one slice per pass, once it
 *   drains — then it is in step again and shares the stream. A member that joins a group already running
 *   starts behind with a live walk over what the group has advertised (no copy of a million keys), and so
 *   does a member that asked for a route refresh (a walk over that family).
 */
import type { Negotiated } from './fsm.js';
import type { SpeakerLog } from './log-events.js';
import { codecContext, hasFamily } from './negotiate.js';
import { EXPORT_SLICE_PREFIXES, ExportPacer } from './out-queue.js';
import { AFI_IPV4, AFI_IPV6, prefixAfi, type Afi } from './prefix.js';
import {
  AdjRibOut,
  excludes,
  PrefixMap,
  type Exclusion,
  type LocRib,
  type OutPath,
  type PendingUpdates,
  type RibPeer,
} from './rib/index.js';
import type { SpeakerConfig } from './api.js';
import { isIpv4Key, type PrefixKey } from '../ip/prefix.js';
import { encodeUpdates, encodeWithdrawals } from './wire/update-encode.js';
import { SAFI_UNICAST } from './wire/iana.js';
import type { CodecContext, ReachBlock } from './wire/types.js';

/** One peer's session as a group sees it. */
export interface GroupMember {
  readonly address: string;
  readonly bgpId: string;
  /** Octets queued in the member's socket (`Session.backlog`). */
  backlog(): number;
  /** Write encoded messages; `updates` of them are UPDATEs. */
  send(buffers: readonly Buffer[], updates: number): void;
}

interface MemberState {
  /** Behind the shared stream: prefixes to send from the group's current state, from `cursor`. */
  lag: PrefixKey[] | undefined;
  cursor: number;
  /**
   * Behind by a whole table (joined a running group, or a route refresh): a live walk over what the group has
   * advertised — no copy of its keys; what the group changes meanwhile lands in `lag` as above.
   */
  walk: Iterator<[PrefixKey, OutPath]> | undefined;
  /** The family the walk is for (a refresh of one family), or undefined for every family. */
  walkAfi: Afi | undefined;
  /** Entries the walk has visited (for `pendingFor`). */
  walked: number;
}

const behind = (st: MemberState): boolean => st.lag !== undefined || st.walk !== undefined;

/** The export rules and capabilities a group's members share. */
export function groupKey(p: RibPeer, n: Negotiated, policyKey: string | undefined): string {
  const families = n.families.map((f) => `${f.afi}/${f.safi}`).sort();
  return JSON.stringify([
    p.ibgp ? 'ibgp' : 'ebgp',
    p.localAsn,
    p.ibgp && p.routeReflectorClient,
    n.fourOctetAs,
    n.extendedNextHopIpv4,
    families,
    p.localAddress,
    p.localAddressIpv6 ?? '',
    p.localAddressIpv4 ?? '',
    policyKey ?? '',
  ]);
}

export interface UpdateGroupOptions {
  readonly exportFilter?: SpeakerConfig['exportFilter'];
  readonly log?: SpeakerLog;
}

export class UpdateGroup {
  readonly out: AdjRibOut;
  private readonly members = new Map<GroupMember, MemberState>();
  private sole: GroupMember | undefined;
  private readonly warned = new Set<number>();
  /** UPDATE and withdrawal messages encoded for the shared stream (tests: once per change, not per member). */
  sharedMessages = 0;
  /** Messages encoded for one member alone (catching up). */
  memberMessages = 0;
  /**
   * The encoded UPDATE of a one-prefix block, by route (a reflected route's attributes are its own: every
   * member catching up sends the same message). Bounded: cleared when full.
   */
  private readonly encoded = new Map<OutPath, { readonly prefix: PrefixKey; readonly buffers: Buffer[] }>();

  constructor(
    readonly key: string,
    profile: RibPeer,
    readonly negotiated: Negotiated,
    locRib: LocRib,
    private readonly opts: UpdateGroupOptions = {},
  ) {
    // A copy: the member's own RibPeer may change in place (route-reflector client), the group's rules not.
    this.out = new AdjRibOut({ ...profile }, locRib, {
      ...(opts.exportFilter !== undefined ? { exportFilter: opts.exportFilter } : {}),
      shared: true,
      onlyMember: (address) => this.sole?.address === address,
    });
  }

  get size(): number {
    return this.members.size;
  }

  has(m: GroupMember): boolean {
    return this.members.has(m);
  }

  /**
   * Add a member. The first one follows the initial dump the Adj-RIB-Out marked pending; a later one starts
   * behind, walking what the group has advertised (`extra`: more keys to look at, e.g. what it held from its
   * previous group: withdrawn unless this group has them too).
   */
  join(m: GroupMember, extra?: readonly PrefixKey[]): void {
    const walk = this.out.advertisedCount > 0 ? this.out.advertised.entries() : undefined;
    const lag = extra !== undefined && extra.length > 0 ? [...extra] : undefined;
    if (this.members.size === 1) this.out.membersGrew();
    this.members.set(m, { lag, cursor: 0, walk, walkAfi: undefined, walked: 0 });
    this.sole = this.members.size === 1 ? m : undefined;
  }

  leave(m: GroupMember): void {
    this.members.delete(m);
    this.sole = this.members.size === 1 ? this.members.keys().next().value : undefined;
  }

  /** The keys of every prefix the group has advertised (what a member leaving may hold). */
  advertisedKeys(): PrefixKey[] {
    const keys: PrefixKey[] = [];
    this.out.advertised.forEach((_o, prefix) => keys.push(prefix));
    return keys;
  }

  /** Is everything the group owes `m` sent (nothing pending in the group, `m` in step)? */
  drained(m: GroupMember): boolean {
    const st = this.members.get(m);
    return !this.out.hasPending && (st === undefined || !behind(st));
  }

  /** Entries waiting for `m`: the group's pending ones and, when behind, its own. */
  pendingFor(m: GroupMember): number {
    const st = this.members.get(m);
    if (st === undefined) return this.out.pendingCount;
    const walking = st.walk !== undefined ? Math.max(0, this.out.advertisedCount - st.walked) : 0;
    return this.out.pendingCount + walking + (st.lag !== undefined ? st.lag.length - st.cursor : 0);
  }

  /** How many prefixes `m` has from us (the group's count; its own excluded routes are not subtracted). */
  advertisedFor(_m: GroupMember): number {
    return this.out.advertisedCount;
  }

  isBehind(m: GroupMember): boolean {
    const st = this.members.get(m);
    return st !== undefined && behind(st);
  }

  /** RFC 2918 for one member: everything of the family again, from the group's state, on its own. */
  resend(m: GroupMember, afi?: Afi): void {
    const st = this.members.get(m);
    if (st === undefined || this.out.advertisedCount === 0) return;
    // A walk under way for another family becomes one for every family (it starts again: nothing is lost).
    st.walkAfi = st.walk === undefined || st.walkAfi === afi ? afi : undefined;
    st.walk = this.out.advertised.entries();
    st.walked = 0;
  }

  /**
   * One slice of the shared stream: at most EXPORT_SLICE_PREFIXES pending prefixes worked out and encoded
   * once, written to every in-step member with room; members behind, or above the high-water mark now, keep
   * the slice's prefix keys instead. Nothing while no in-step member has room (their 'drain' asks again).
   * True when more is pending.
   */
  flush(): boolean {
    if (!this.out.hasPending) return false;
    let ready = false;
    for (const [m, st] of this.members)
      if (!behind(st) && !ExportPacer.paused(m.backlog())) {
        ready = true;
        break;
      }
    if (!ready) return false;
    const pending = this.out.takePending(EXPORT_SLICE_PREFIXES);
    const slice = this.encodeShared(pending);
    let keys: PrefixKey[] | undefined;
    for (const [m, st] of this.members) {
      if (!behind(st) && !ExportPacer.paused(m.backlog())) {
        this.sendShared(m, slice);
        continue;
      }
      keys ??= sliceKeys(pending);
      const lag = st.lag ?? [];
      for (const k of keys) lag.push(k);
      if (lag.length > st.cursor) st.lag = lag;
      this.compact(st);
    }
    return this.out.hasPending;
  }

  /**
   * One slice of a member's own catch-up, from the group's current state: a prefix the group has (and may send
   * it) is announced, any other withdrawn. Once its list is done the member is in step. True while behind.
   */
  catchUp(m: GroupMember): boolean {
    const st = this.members.get(m);
    if (st === undefined || !behind(st)) return false;
    if (ExportPacer.paused(m.backlog())) return true;
    const groups = [new Map<OutPath, PrefixKey[]>(), new Map<OutPath, PrefixKey[]>()];
    const withdrawn: PrefixKey[][] = [[], []];
    let budget = EXPORT_SLICE_PREFIXES;
    // The walk first: what the group has now, announced (the member held nothing of it, or an older copy).
    while (st.walk !== undefined && budget > 0) {
      const next = st.walk.next();
      if (next.done === true) {
        st.walk = undefined;
        break;
      }
      budget--;
      st.walked++;
      const [prefix, cur] = next.value;
      if (st.walkAfi !== undefined && prefixAfi(prefix) !== st.walkAfi) continue;
      if (excludes(cur.exclude, m)) continue;
      const family = isIpv4Key(prefix) ? 0 : 1;
      let list = groups[family]!.get(cur);
      if (list === undefined) groups[family]!.set(cur, (list = []));
      list.push(prefix);
    }
    const lag = st.lag ?? [];
    const from = st.cursor;
    const to = Math.min(lag.length, from + budget);
    const advertised = this.out.advertised;
    for (let i = from; i < to; i++) {
      const prefix = lag[i]!;
      const family = isIpv4Key(prefix) ? 0 : 1;
      const cur = advertised.get(prefix);
      if (cur === undefined || excludes(cur.exclude, m)) {
        // Not advertised by the group yet but wanted (a new group's first dump, pending): the shared stream
        // brings it once this member is in step. A withdrawal now would flap the route in the member's kernel.
        const want = cur === undefined ? this.out.wants(prefix) : null;
        if (want === null || excludes(want.exclude, m)) withdrawn[family]!.push(prefix);
        continue;
      }
      let list = groups[family]!.get(cur);
      if (list === undefined) groups[family]!.set(cur, (list = []));
      list.push(prefix);
    }
    if (to >= lag.length) {
      st.lag = undefined;
      st.cursor = 0;
    } else st.cursor = to;
    const buffers: Buffer[] = [];
    const ctx = codecContext(this.negotiated);
    const afis = [AFI_IPV4, AFI_IPV6] as const;
    try {
      withdrawn.forEach((prefixes, family) => {
        const block = { afi: afis[family]!, safi: SAFI_UNICAST, prefixes };
        if (prefixes.length > 0 && hasFamily(this.negotiated, block.afi))
          buffers.push(...encodeWithdrawals(block, ctx));
      });
      groups.forEach((byOut, family) => {
        for (const [out, prefixes] of byOut) {
          const reach = { afi: afis[family]!, safi: SAFI_UNICAST, nextHop: out.nextHop, prefixes };
          if (!this.sendable(reach.afi, reach.nextHop)) continue;
          buffers.push(...this.encodeOne(out, reach, ctx));
        }
      });
    } catch (err) {
      this.opts.log?.('error', 'encode-failed', { peer: m.address, error: String(err) });
    }
    this.memberMessages += buffers.length;
    if (buffers.length > 0) m.send(buffers, buffers.length);
    return behind(st);
  }

  // ---- Internals -----------------------------------------------------------------------------------------

  private encodeShared(pending: PendingUpdates): SharedSlice {
    const ctx = codecContext(this.negotiated);
    const common: Buffer[] = [];
    const excluded: { exclude: Exclusion; buffers: Buffer[] }[] = [];
    const withdrawals: { exclude: Exclusion; unless?: Exclusion; buffers: Buffer[] }[] = [];
    try {
      for (const w of pending.withdraw)
        if (hasFamily(this.negotiated, w.afi, w.safi)) common.push(...encodeWithdrawals(w, ctx));
      for (const a of pending.announce) {
        if (
          !hasFamily(this.negotiated, a.reach.afi, a.reach.safi) ||
          !this.sendable(a.reach.afi, a.reach.nextHop)
        )
          continue;
        const buffers = this.encodeOne(a.out, a.reach, ctx);
        if (a.exclude === undefined) common.push(...buffers);
        else excluded.push({ exclude: a.exclude, buffers });
      }
      for (const x of pending.excludedWithdraw ?? [])
        if (hasFamily(this.negotiated, x.block.afi, x.block.safi))
          withdrawals.push({
            exclude: x.exclude,
            ...(x.unless !== undefined ? { unless: x.unless } : {}),
            buffers: encodeWithdrawals(x.block, ctx),
          });
    } catch (err) {
      const first = this.members.keys().next().value;
      this.opts.log?.('error', 'encode-failed', { peer: first?.address ?? '', error: String(err) });
    }
    // Who is excluded from what: by address and by router id, so a member finds its blocks in two lookups.
    const by = new Map<string, number[]>();
    excluded.forEach((x, i) => {
      for (const k of x.exclude.originator === undefined
        ? [x.exclude.peer]
        : [x.exclude.peer, x.exclude.originator]) {
        let list = by.get(k);
        if (list === undefined) by.set(k, (list = []));
        list.push(i);
      }
    });
    const all = [...common, ...excluded.flatMap((x) => x.buffers)];
    this.sharedMessages += all.length + withdrawals.reduce((n, w) => n + w.buffers.length, 0);
    return {
      common,
      excluded,
      by,
      all: all.length > 0 ? [Buffer.concat(all)] : [],
      count: all.length,
      withdrawals,
    };
  }

  /** `encodeUpdates`, through the one-prefix cache. */
  private encodeOne(out: OutPath, reach: ReachBlock, ctx: CodecContext): Buffer[] {
    if (reach.prefixes.length !== 1) return encodeUpdates(out.attributes, reach, ctx);
    const prefix = reach.prefixes[0]!;
    const hit = this.encoded.get(out);
    if (hit !== undefined && hit.prefix === prefix) return hit.buffers;
    const buffers = encodeUpdates(out.attributes, reach, ctx);
    if (this.encoded.size >= ENCODED_CACHE_MAX) this.encoded.clear();
    this.encoded.set(out, { prefix, buffers });
    return buffers;
  }

  private sendShared(m: GroupMember, s: SharedSlice): void {
    const mine = [...(s.by.get(m.address) ?? []), ...(s.by.get(m.bgpId) ?? [])];
    let buffers: readonly Buffer[] = s.all;
    let count = s.count;
    if (mine.length > 0) {
      const skip = new Set(mine);
      const list = [...s.common];
      s.excluded.forEach((x, i) => {
        if (!skip.has(i)) list.push(...x.buffers);
      });
      buffers = list;
      count = list.length;
    }
    if (s.withdrawals.length > 0) {
      const list = [...buffers];
      for (const w of s.withdrawals)
        if (excludes(w.exclude, m) && !excludes(w.unless, m)) list.push(...w.buffers);
      count += list.length - buffers.length;
      buffers = list;
    }
    if (count > 0) m.send(buffers, count);
  }

  /** Keep a member's list to the distinct prefixes once it outgrows the table: memory in prefixes. */
  private compact(st: MemberState): void {
    const lag = st.lag;
    if (lag === undefined || lag.length - st.cursor <= 2 * this.out.advertisedCount + 4096) return;
    const seen = new PrefixMap<true>();
    const kept: PrefixKey[] = [];
    for (let i = st.cursor; i < lag.length; i++) {
      const p = lag[i]!;
      if (seen.has(p)) continue;
      seen.set(p, true);
      kept.push(p);
    }
    st.lag = kept;
    st.cursor = 0;
  }

  /**
   * The next-hop rule: IPv4 prefixes need an IPv4 next hop, or an IPv6 one when RFC 8950 extended next hop was
   * negotiated; IPv6 prefixes need an IPv6 next hop (PeerConfig.localAddressIpv6 over an IPv4 session).
   * Otherwise the prefixes are not sent, logged once per group and family.
   */
  private sendable(afi: number, nextHop: string): boolean {
    const v6 = nextHop.includes(':');
    const ok = afi === AFI_IPV6 ? v6 : !v6 || this.negotiated.extendedNextHopIpv4;
    if (!ok && nextHop !== '' && !this.warned.has(afi)) {
      this.warned.add(afi);
      const first = this.members.keys().next().value;
      this.opts.log?.('warn', 'no-usable-next-hop', {
        peer: first?.address ?? '',
        afi,
        nextHop,
        hint: 'set localAddressIpv6/localAddressIpv4 or an Advertisement nextHop',
      });
    }
    return ok && nextHop !== '';
  }
}

/** One-prefix UPDATEs kept per group for members catching up (a few MB at most). */
const ENCODED_CACHE_MAX = 65_536;

interface SharedSlice {
  /** Withdrawals and routes every member gets. */
  readonly common: Buffer[];
  /** Routes some members must not get. */
  readonly excluded: { readonly exclude: Exclusion; readonly buffers: Buffer[] }[];
  /** Address or router id → indexes into `excluded`. */
  readonly by: Map<string, number[]>;
  /** Everything, in one buffer: what a member without exclusions gets. */
  readonly all: Buffer[];
  readonly count: number;
  readonly withdrawals: {
    readonly exclude: Exclusion;
    readonly unless?: Exclusion;
    readonly buffers: Buffer[];
  }[];
}

function sliceKeys(p: PendingUpdates): PrefixKey[] {
  const keys: PrefixKey[] = [];
  for (const w of p.withdraw) for (const k of w.prefixes) keys.push(k);
  for (const a of p.announce) for (const k of a.reach.prefixes) keys.push(k);
  for (const x of p.excludedWithdraw ?? []) for (const k of x.block.prefixes) keys.push(k);
  return keys;
}

/** Every update group of a speaker, by key; a group lives while it has members. */
export class UpdateGroups {
  private readonly groups = new Map<string, UpdateGroup>();

  constructor(
    private readonly locRib: LocRib,
    private readonly config: SpeakerConfig,
    private readonly log?: SpeakerLog,
  ) {}

  /** The policy part of the key: the speaker's `exportPolicyKey`, else with an export filter the peer itself. */
  private policyKey(address: string): string | undefined {
    if (this.config.exportFilter === undefined) return undefined;
    return this.config.exportPolicyKey?.(address) ?? `peer ${address}`;
  }

  join(m: GroupMember, profile: RibPeer, n: Negotiated, extra?: readonly PrefixKey[]): UpdateGroup {
    const key = groupKey(profile, n, this.policyKey(profile.address));
    let g = this.groups.get(key);
    if (g === undefined) {
      g = new UpdateGroup(key, profile, n, this.locRib, {
        ...(this.config.exportFilter !== undefined ? { exportFilter: this.config.exportFilter } : {}),
        ...(this.log !== undefined ? { log: this.log } : {}),
      });
      this.groups.set(key, g);
    }
    g.join(m, extra);
    return g;
  }

  leave(m: GroupMember, g: UpdateGroup): void {
    g.leave(m);
    if (g.size === 0 && this.groups.get(g.key) === g) {
      this.groups.delete(g.key);
      g.out.close();
    }
  }

  /** Move a member whose rules changed (route-reflector client): what it held is looked at again. */
  move(m: GroupMember, from: UpdateGroup, profile: RibPeer, n: Negotiated): UpdateGroup {
    const held = from.advertisedKeys();
    this.leave(m, from);
    return this.join(m, profile, n, held);
  }

  /** One shared slice of every group; true when any has more pending. */
  flush(): boolean {
    let more = false;
    for (const g of this.groups.values()) if (g.flush()) more = true;
    return more;
  }

  /** The export rules changed: every group works out again what its members should have. */
  reevaluate(): void {
    for (const g of this.groups.values()) g.out.reevaluate();
  }

  get count(): number {
    return this.groups.size;
  }

  all(): IterableIterator<UpdateGroup> {
    return this.groups.values();
  }
}
