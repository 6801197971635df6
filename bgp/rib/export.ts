/**
 * The export rules: which best paths a peer may receive (RFC 4271 §9.1.3, RFC 4456 §6, RFC 1997) and how the
 * attributes change on the way out (RFC 4271 §5.1). Pure functions over one path and one target peer; the
 * Adj-RIB-Out caches their results per attributes object so they run once per UPDATE, not per prefix.
 */
import type { AsPathSegment, PathAttributes, RawAttribute } from '../wire/types.js';
import {
  AS_CONFED_SEQUENCE,
  AS_CONFED_SET,
  AS_PATH_SEGMENT_MAX,
  AS_SEQUENCE,
  COMMUNITY_NO_ADVERTISE,
  COMMUNITY_NO_EXPORT,
  COMMUNITY_NO_EXPORT_SUBCONFED,
  FLAG_PARTIAL,
  FLAG_TRANSITIVE,
} from '../wire/iana.js';
import type { Path } from './path.js';
import type { RibPeer } from './peer.js';

/** Why a best path is not sent to a peer, or undefined when it is. */
export type ExportBlock = 'own-route' | 'ibgp-split-horizon' | 'originator' | 'no-advertise' | 'no-export';

/**
 * RFC 4271 §9.1.3 / RFC 4456 §6: never back to the peer it came from; a route learned over iBGP goes to
 * another iBGP peer only when we reflect it — from a client to everyone, from a non-client to clients only.
 * `shared` (an update group's computation, `to` standing for every member): the two rules that depend on which
 * member it is — not back to the peer it came from, not to its originator — are left to the members' send
 * (`exclusionOf`, `excludes`).
 */
export function exportBlock(path: Path, to: RibPeer, shared = false): ExportBlock | undefined {
  const from = path.peer;
  const communities = path.attributes.communities;
  if (communities !== undefined && communities.length > 0) {
    if (communities.includes(COMMUNITY_NO_ADVERTISE)) return 'no-advertise';
    if (
      !to.ibgp &&
      (communities.includes(COMMUNITY_NO_EXPORT) || communities.includes(COMMUNITY_NO_EXPORT_SUBCONFED))
    )
      return 'no-export';
  }
  if (from === null) return undefined;
  if (!shared && from.address === to.address) return 'own-route';
  // RFC 4456 §6: from a client, reflect to every peer; from a non-client, to clients only.
  if (from.ibgp && to.ibgp) {
    if (!from.routeReflectorClient && !to.routeReflectorClient) return 'ibgp-split-horizon';
    // RFC 4456 §8 makes the originator drop it; not sending it saves the UPDATE (FRR does the same).
    if (!shared && (path.attributes.originatorId ?? from.bgpId) === to.bgpId) return 'originator';
  }
  return undefined;
}

/**
 * The members of an update group a shared route must not reach: the peer it came from (`own-route`), and over
 * iBGP its originator (`originator`, RFC 4456 §8) — the two per-member rules of `exportBlock`.
 */
export interface Exclusion {
  readonly peer: string;
  readonly originator?: string;
}

/** The exclusion of a path sent to peers like `to` (undefined: every member may have it). */
export function exclusionOf(path: Path, to: RibPeer): { peer: string; originator?: string } | undefined {
  const from = path.peer;
  if (from === null) return undefined;
  if (from.ibgp && to.ibgp)
    return { peer: from.address, originator: path.attributes.originatorId ?? from.bgpId };
  return { peer: from.address };
}

/** Is `member` one that `e` keeps the route from? */
export function excludes(
  e: Exclusion | undefined,
  member: { readonly address: string; readonly bgpId: string },
): boolean {
  return (
    e !== undefined &&
    (e.peer === member.address || (e.originator !== undefined && e.originator === member.bgpId))
  );
}

/** Whether sending `path` to `to` is route reflection (RFC 4456): iBGP in, iBGP out. */
export function isReflection(path: Path, to: RibPeer): boolean {
  return path.peer !== null && path.peer.ibgp && to.ibgp;
}

/**
 * RFC 4271 §5: unrecognised optional non-transitive attributes are not passed on; unrecognised optional
 * transitive ones are, with the Partial bit set. Our own routes carry what the operator gave, unchanged.
 */
function outUnknown(unknown: readonly RawAttribute[] | undefined): readonly RawAttribute[] | undefined {
  if (unknown === undefined || unknown.length === 0) return undefined;
  const kept = unknown
    .filter((u) => (u.flags & FLAG_TRANSITIVE) !== 0)
    .map((u) =>
      (u.flags & FLAG_PARTIAL) !== 0 ? u : Object.freeze({ ...u, flags: u.flags | FLAG_PARTIAL }),
    );
  return kept.length === 0 ? undefined : Object.freeze(kept);
}

/**
 * Prepend `asn` to AS_PATH: into the leading AS_SEQUENCE when it has room (AS_PATH_SEGMENT_MAX ASes), else a
 * new segment.
 * Confederation segments are removed first (RFC 5065 §5.2: they never leave the confederation).
 */
export function prependAs(a: PathAttributes, asn: number): PathAttributes['asPath'] {
  const confed = (s: AsPathSegment) => s.type === AS_CONFED_SEQUENCE || s.type === AS_CONFED_SET;
  const path = a.asPath.some(confed) ? a.asPath.filter((s) => !confed(s)) : a.asPath;
  const first = path[0];
  if (first !== undefined && first.type === AS_SEQUENCE && first.asns.length < AS_PATH_SEGMENT_MAX)
    return Object.freeze([
      Object.freeze({ type: AS_SEQUENCE, asns: Object.freeze([asn, ...first.asns]) }),
      ...path.slice(1),
    ]);
  return Object.freeze([Object.freeze({ type: AS_SEQUENCE, asns: Object.freeze([asn]) }), ...path]);
}

/** Drop the optional fields named, keeping the object free of `undefined` properties. */
function without(a: PathAttributes, ...keys: (keyof PathAttributes)[]): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...a };
  for (const k of keys) delete copy[k];
  return copy;
}

/**
 * RFC 4271 §5.1.2–5.1.5, RFC 4456 §8: the attributes to send.
 * - to eBGP: our AS prepended; LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST removed (iBGP-only); MED removed
 *   unless the route is ours (§5.1.4: a MED received from a neighbouring AS is not propagated to others).
 * - always: the received NEXT_HOP attribute dropped (the next hop to send is on the ReachBlock).
 * - to iBGP: LOCAL_PREF set (100) when absent; when reflecting, ORIGINATOR_ID set to the originating peer's
 *   router id if absent and our CLUSTER_ID prepended to CLUSTER_LIST.
 */
export function exportAttributes(
  path: Path,
  to: RibPeer,
  localAsn: number,
  clusterId: string,
): PathAttributes {
  const a = path.attributes;
  const learned = path.peer !== null;
  let out: Record<string, unknown>;
  if (!to.ibgp) {
    out = without(a, 'localPref', 'originatorId', 'clusterList', ...(learned ? (['med'] as const) : []));
    out.asPath = prependAs(a, localAsn);
  } else {
    out = { ...a };
    // The LOCAL_PREF our decision used: an eBGP path's own (RFC 7606 discards it anyway) never counts.
    if (a.localPref === undefined || path.ebgp) out.localPref = path.localPref;
    if (isReflection(path, to)) {
      out.originatorId = a.originatorId ?? path.peer!.bgpId;
      out.clusterList = Object.freeze([clusterId, ...(a.clusterList ?? [])]);
    }
  }
  if (learned) {
    const unknown = outUnknown(a.unknown);
    if (unknown === undefined) delete out.unknown;
    else out.unknown = unknown;
  }
  // The next hop we send travels on the ReachBlock (see wire/types.ts); the received NEXT_HOP must not.
  delete out.nextHop;
  return Object.freeze(out) as unknown as PathAttributes;
}

/** A stable text key of attributes, to intern objects an export policy returns fresh. */
export function attributesKey(a: PathAttributes): string {
  return JSON.stringify(a, (_k, v: unknown) =>
    typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v,
  );
}
