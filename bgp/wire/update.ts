/**
 * UPDATE message decoding (RFC 4271 §4.3), after the header:
 *
 *      +-----------------------------------------------------+
 *      |   Withdrawn Routes Length (2 octets)                |
 *      +-----------------------------------------------------+
 *      |   Withdrawn Routes (variable)                       |
 *      +-----------------------------------------------------+
 *      |   Total Path Attribute Length (2 octets)            |
 *      +-----------------------------------------------------+
 *      |   Path Attributes (variable)                        |
 *      +-----------------------------------------------------+
 *      |   Network Layer Reachability Information (variable) |
 *      +-----------------------------------------------------+
 *
 * Errors follow RFC 7606 as an ORDERED OUTCOME, never an exception: attribute-discard < treat-as-withdraw <
 * session-reset; the strongest wins. The NLRI is parsed whatever happens to the attributes, so
 * treat-as-withdraw knows what to withdraw (the reach prefixes move to `withdrawn`, `attributes` is null).
 *
 * Choice: a missing well-known mandatory attribute (ORIGIN, AS_PATH, and NEXT_HOP when the IPv4 NLRI field
 * is used) is treat-as-withdraw as RFC 7606 §3.d says, not the RFC 4271 §6.3 3/3 Missing Well-known Attribute
 * NOTIFICATION: one bad route should not reset a session carrying a full table.
 *
 * Choice: structural errors reset the session with 3/1 Malformed Attribute List — Withdrawn Routes Length or
 * Total Path Attribute Length past the message (RFC 4271 §6.3, which RFC 7606 keeps) and a duplicate
 * MP_REACH/MP_UNREACH (RFC 7606 §3.g).
 *
 * RFC 7606 §4: an attribute header or value running past the attribute section (the Total Path Attribute
 * Length) is treat-as-withdraw: "the NLRI field MUST be located using the Total Path Attribute Length", and
 * with it every IPv4 Withdrawn Route, every prefix of the NLRI field, and the prefixes of an MP_REACH_NLRI /
 * MP_UNREACH_NLRI that ends before the fault all come back as withdrawn. An MP attribute hidden past the
 * fault is unread (nothing can find it); an MP attribute before it that does not parse still resets the
 * session (RFC 7606 §5.3: its prefixes cannot be located).
 */
import type {
  AttributeIssue,
  CodecContext,
  NlriBlock,
  PathAttributes,
  ReachBlock,
  UpdateMessage,
} from './types.js';
import type { BgpError } from './errors.js';
import type { PrefixKey } from '../../ip/prefix.js';
import { decodeAttribute } from './attributes.js';
import { ACTION_RANK, type AttributeDraft, type Fault } from './attr-common.js';
import { mergeAs4Path } from './as-path.js';
import { decodeIpv4Prefixes } from './nlri.js';
import { setWireHints, type AttributeCache, type DecodedAttributes } from './cache.js';
import * as iana from './iana.js';

export type UpdateResult = { ok: true; message: UpdateMessage } | { ok: false; error: BgpError };

const NO_ISSUES: readonly AttributeIssue[] = Object.freeze([]);

function malformedList(reason: string): UpdateResult {
  return {
    ok: false,
    error: { kind: 'malformed-attribute-list', code: 'BGP_ERR_MALFORMED_ATTRIBUTE_LIST', reason },
  };
}

function invalidNetwork(reason: string): UpdateResult {
  return {
    ok: false,
    error: { kind: 'invalid-network-field', code: 'BGP_ERR_INVALID_NETWORK_FIELD', reason },
  };
}

// ---- Scan: attribute headers only -------------------------------------------------------------------------
// The UPDATE path reads octets by index with an explicit bound before every read instead of through Reader:
// it runs once per UPDATE on a full table, and the bounds are as explicit here as Reader's (every `pos + n`
// is compared with the end before the octets are touched).

/** Per attribute: header start, value start, value end, flags, type (stride 5). */
type Records = number[];
const STRIDE = 5;

/** Duplicate detection without allocation: seen[type] === stamp means "seen in this UPDATE". */
const seen = new Uint32Array(256);
let stamp = 0;

interface Scan {
  readonly records: Records;
  /** Record index of MP_REACH_NLRI / MP_UNREACH_NLRI, −1 when absent. */
  readonly mpReach: number;
  readonly mpUnreach: number;
  /** Record indexes of later duplicates (to discard). */
  readonly duplicates: number[];
  /** RFC 7606 §4: an attribute overran the section here (type, or 0 for a cut header); records stop before it. */
  readonly overrun?: { readonly attribute: number; readonly reason: string };
}

/**
 * Walk the attribute headers of [start, end); a header or value past `end` ends the walk with `overrun` (RFC
 * 7606 §4, see the file comment).
 */
function scanAttributes(buf: Buffer, start: number, end: number): Scan | UpdateResult {
  const records: Records = [];
  const duplicates: number[] = [];
  let mpReach = -1;
  let mpUnreach = -1;
  if (++stamp === 0xffffffff) {
    seen.fill(0);
    stamp = 1;
  }
  const overrun = (attribute: number, reason: string): Scan => ({
    records,
    mpReach,
    mpUnreach,
    duplicates,
    overrun: { attribute, reason },
  });
  for (let pos = start; pos < end; ) {
    if (pos + 3 > end)
      return overrun(0, `attribute header at ${pos - start} runs past the attribute section`);
    const flags = buf[pos]!;
    const type = buf[pos + 1]!;
    const extended = (flags & iana.FLAG_EXTENDED_LENGTH) !== 0;
    if (extended && pos + 4 > end)
      return overrun(type, `attribute ${type} length runs past the attribute section`);
    const len = extended ? (buf[pos + 2]! << 8) | buf[pos + 3]! : buf[pos + 2]!;
    const valueStart = pos + (extended ? 4 : 3);
    if (valueStart + len > end)
      return overrun(type, `attribute ${type} of ${len} octets runs past the attribute section`);
    const index = records.length / STRIDE;
    records.push(pos, valueStart, valueStart + len, flags, type);
    if (seen[type] === stamp) {
      // RFC 7606 §3.g: "If the MP_REACH_NLRI attribute or the MP_UNREACH_NLRI attribute appears more than once
      // ... Malformed Attribute List. If any other attribute ... appears more than once ... all the occurrences
      // of the attribute other than the first one SHALL be discarded".
      if (type === iana.ATTR_MP_REACH_NLRI || type === iana.ATTR_MP_UNREACH_NLRI) {
        return malformedList(`attribute ${type} appears twice`);
      }
      duplicates.push(index);
    } else {
      seen[type] = stamp;
      if (type === iana.ATTR_MP_REACH_NLRI) mpReach = index;
      else if (type === iana.ATTR_MP_UNREACH_NLRI) mpUnreach = index;
    }
    pos = valueStart + len;
  }
  return { records, mpReach, mpUnreach, duplicates };
}

// ---- Attributes: cached decode ---------------------------------------------------------------------------

function contextTag(ctx: CodecContext): string {
  return String.fromCharCode(48 + (ctx.fourOctetAs ? 1 : 0) + (ctx.ibgp ? 2 : 0));
}

/** The cache key: context tag + the attribute octets minus MP_REACH/MP_UNREACH. */
function cacheKey(buf: Buffer, start: number, end: number, scan: Scan, ctx: CodecContext): string {
  const tag = contextTag(ctx);
  if (scan.mpReach < 0 && scan.mpUnreach < 0) return tag + buf.toString('latin1', start, end);
  let key = tag;
  const r = scan.records;
  for (let i = 0; i < r.length; i += STRIDE) {
    const type = r[i + 4]!;
    if (type !== iana.ATTR_MP_REACH_NLRI && type !== iana.ATTR_MP_UNREACH_NLRI)
      key += buf.toString('latin1', r[i]!, r[i + 2]!);
  }
  return key;
}

function toIssue(f: Fault, action: 'attribute-discard' | 'treat-as-withdraw'): AttributeIssue {
  return { attribute: f.attribute, action, code: f.error.code, reason: f.error.reason };
}

/** Decode every non-MP attribute of the scan (a cache miss). */
function decodeAttributeSection(buf: Buffer, scan: Scan, ctx: CodecContext): DecodedAttributes {
  const draft: AttributeDraft = {};
  const faults: Fault[] = [];
  const r = scan.records;
  let present = 0;
  for (let i = 0; i < r.length; i += STRIDE) {
    const type = r[i + 4]!;
    if (type === iana.ATTR_MP_REACH_NLRI || type === iana.ATTR_MP_UNREACH_NLRI) continue;
    if (type === iana.ATTR_ORIGIN) present |= HAS_ORIGIN;
    else if (type === iana.ATTR_AS_PATH) present |= HAS_AS_PATH;
    else if (type === iana.ATTR_NEXT_HOP) present |= HAS_NEXT_HOP;
    if (scan.duplicates.includes(i / STRIDE)) {
      faults.push({
        attribute: type,
        action: 'attribute-discard',
        error: {
          kind: 'malformed-attribute-list',
          code: 'BGP_ERR_DUPLICATE_ATTRIBUTE',
          reason: `attribute ${type} repeated; later copy discarded`,
        },
      });
      continue;
    }
    const f = decodeAttribute(
      r[i + 3]!,
      type,
      buf.subarray(r[i + 1]!, r[i + 2]!),
      buf.subarray(r[i]!, r[i + 2]!),
      ctx,
      draft,
    );
    if (f !== undefined) faults.push(f);
  }
  return finishSection(draft, faults, ctx, present);
}

/** Bits for the well-known mandatory attributes seen in the section (malformed or not). */
const HAS_ORIGIN = 1;
const HAS_AS_PATH = 2;
const HAS_NEXT_HOP = 4;

function finishSection(
  draft: AttributeDraft,
  faults: Fault[],
  ctx: CodecContext,
  present: number,
): DecodedAttributes {
  let worst = 0;
  let reset: BgpError | undefined;
  let withdrawOnlyForNextHop = true;
  const issues: AttributeIssue[] = [];
  for (const f of faults) {
    const rank = ACTION_RANK[f.action];
    if (f.action === 'session-reset') reset ??= f.error;
    else issues.push(toIssue(f, f.action));
    if (f.action === 'treat-as-withdraw' && f.attribute !== iana.ATTR_NEXT_HOP)
      withdrawOnlyForNextHop = false;
    if (rank > worst) worst = rank;
  }
  return {
    attributes: freezeAttributes(draft, ctx),
    issues: issues.length === 0 ? NO_ISSUES : Object.freeze(issues),
    worst,
    ...(reset === undefined ? {} : { reset }),
    withdrawOnlyForNextHop,
    // "Present" as RFC 7606 §3.d means it: a malformed ORIGIN already cost what it costs, it is not missing.
    hasOrigin: (present & HAS_ORIGIN) !== 0,
    hasAsPath: (present & HAS_AS_PATH) !== 0,
    hasNextHop: (present & HAS_NEXT_HOP) !== 0,
  };
}

/** RFC 6793 §4.2.3 merge (2-octet sessions), then one frozen object. */
function freezeAttributes(d: AttributeDraft, ctx: CodecContext): PathAttributes | null {
  let asPath = d.asPath ?? [];
  let aggregator = d.aggregator;
  if (!ctx.fourOctetAs) {
    // RFC 6793 §4.2.3: "If the AGGREGATOR attribute ... contains an AS number other than AS_TRANS, then ...
    // the AS4_AGGREGATOR attribute and the AS4_PATH attribute SHALL be ignored".
    const aggregatorIsReal = aggregator !== undefined && aggregator.asn !== iana.AS_TRANS;
    if (!aggregatorIsReal) {
      if (aggregator !== undefined && d.as4Aggregator !== undefined) aggregator = d.as4Aggregator;
      if (d.as4Path !== undefined) asPath = mergeAs4Path(asPath, d.as4Path);
    }
  }
  const out: { -readonly [K in keyof PathAttributes]: PathAttributes[K] } = {
    asPath: Object.freeze(asPath.map((s) => Object.freeze({ type: s.type, asns: Object.freeze(s.asns) }))),
  };
  if (d.origin !== undefined) out.origin = d.origin;
  if (d.nextHop !== undefined) out.nextHop = d.nextHop;
  if (d.med !== undefined) out.med = d.med;
  if (d.localPref !== undefined) out.localPref = d.localPref;
  if (d.atomicAggregate) out.atomicAggregate = true;
  if (aggregator !== undefined) out.aggregator = Object.freeze(aggregator);
  if (d.communities !== undefined) out.communities = Object.freeze(d.communities);
  if (d.extendedCommunities !== undefined) out.extendedCommunities = Object.freeze(d.extendedCommunities);
  if (d.largeCommunities !== undefined)
    out.largeCommunities = Object.freeze(d.largeCommunities.map((c) => Object.freeze(c)));
  if (d.originatorId !== undefined) out.originatorId = d.originatorId;
  if (d.clusterList !== undefined) out.clusterList = Object.freeze(d.clusterList);
  if (d.unknown !== undefined) out.unknown = Object.freeze(d.unknown);
  return Object.freeze(out);
}

const EMPTY_SECTION: DecodedAttributes = Object.freeze({
  attributes: null,
  issues: NO_ISSUES,
  worst: 0,
  withdrawOnlyForNextHop: true,
  hasOrigin: false,
  hasAsPath: false,
  hasNextHop: false,
});

function attributesFor(
  buf: Buffer,
  start: number,
  end: number,
  scan: Scan,
  ctx: CodecContext,
  cache?: AttributeCache,
): DecodedAttributes {
  const mpCount = (scan.mpReach >= 0 ? 1 : 0) + (scan.mpUnreach >= 0 ? 1 : 0);
  if (scan.records.length === mpCount * STRIDE) return EMPTY_SECTION;
  if (cache === undefined) return decodeAttributeSection(buf, scan, ctx);
  const key = cacheKey(buf, start, end, scan, ctx);
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const decoded = decodeAttributeSection(buf, scan, ctx);
  if (decoded.worst < 3) cache.put(key, decoded);
  return decoded;
}

// ---- MP attributes (per message) -----------------------------------------------------------------------------

interface MpResult {
  reach?: ReachBlock;
  unreach?: NlriBlock;
  faults: Fault[];
}

function decodeMp(buf: Buffer, scan: Scan, ctx: CodecContext): MpResult {
  const draft: AttributeDraft = {};
  const faults: Fault[] = [];
  for (const index of [scan.mpReach, scan.mpUnreach]) {
    if (index < 0) continue;
    const i = index * STRIDE;
    const r = scan.records;
    const f = decodeAttribute(
      r[i + 3]!,
      r[i + 4]!,
      buf.subarray(r[i + 1]!, r[i + 2]!),
      buf.subarray(r[i]!, r[i + 2]!),
      ctx,
      draft,
    );
    if (f !== undefined) faults.push(f);
  }
  return { reach: draft.mpReach, unreach: draft.mpUnreach, faults };
}

// ---- The UPDATE -------------------------------------------------------------------------------------------

/**
 * Decode the body of an UPDATE (`body` = the message without its 19-octet header). Never throws: structural
 * errors and session-reset outcomes come back as `{ ok: false, error }`, the rest as `issues`.
 */
export function decodeUpdate(body: Buffer, ctx: CodecContext, cache?: AttributeCache): UpdateResult {
  if (body.length < 4) return malformedList('UPDATE shorter than its two length fields');
  const withdrawnLength = (body[0]! << 8) | body[1]!;
  // RFC 4271 §6.3: "If the Withdrawn Routes Length or Total Attribute Length is too large (i.e., if Withdrawn
  // Routes Length + Total Attribute Length + 23 exceeds the message Length), then the Error Subcode MUST be set
  // to Malformed Attribute List."
  if (4 + withdrawnLength > body.length)
    return malformedList(`Withdrawn Routes Length ${withdrawnLength} exceeds the message`);
  const attrStart = 4 + withdrawnLength;
  const attrEnd = attrStart + ((body[2 + withdrawnLength]! << 8) | body[3 + withdrawnLength]!);
  if (attrEnd > body.length)
    return malformedList(`Total Path Attribute Length ${attrEnd - attrStart} exceeds the message`);
  const withdrawn4: PrefixKey[] = [];
  // RFC 4271 §6.3: "The NLRI field in the UPDATE message is checked for syntactic validity. If the field is
  // syntactically incorrect, then the Error Subcode MUST be set to Invalid Network Field." (RFC 7606 §5.3:
  // the prefixes cannot be located any more, so this stays a session reset.) Same for Withdrawn Routes.
  if (!decodeIpv4Prefixes(body, 2, 2 + withdrawnLength, withdrawn4))
    return invalidNetwork('bad prefix in Withdrawn Routes');
  const nlri4: PrefixKey[] = [];
  if (!decodeIpv4Prefixes(body, attrEnd, body.length, nlri4))
    return invalidNetwork('bad prefix in the NLRI field');
  const scan = scanAttributes(body, attrStart, attrEnd);
  if ('ok' in scan) return scan;
  if (scan.overrun !== undefined) return overrunWithdraw(body, scan, scan.overrun, ctx, withdrawn4, nlri4);
  const section = attributesFor(body, attrStart, attrEnd, scan, ctx, cache);
  if (section.reset !== undefined) return { ok: false, error: section.reset };
  const mp = scan.mpReach < 0 && scan.mpUnreach < 0 ? undefined : decodeMp(body, scan, ctx);
  const mpReset = mp?.faults.find((f) => f.action === 'session-reset');
  if (mpReset !== undefined) return { ok: false, error: mpReset.error };
  const message = assemble(section, mp, withdrawn4, nlri4, scan.records.length / STRIDE);
  recordHints(message, scan, mp);
  return { ok: true, message };
}

/**
 * RFC 7606 §4: the attribute section does not add up, so nothing in it is trusted but the MP attributes that
 * end before the fault; every prefix the message names is withdrawn (see the file comment).
 */
function overrunWithdraw(
  body: Buffer,
  scan: Scan,
  fault: NonNullable<Scan['overrun']>,
  ctx: CodecContext,
  withdrawn4: PrefixKey[],
  nlri4: PrefixKey[],
): UpdateResult {
  const mp = scan.mpReach < 0 && scan.mpUnreach < 0 ? undefined : decodeMp(body, scan, ctx);
  const mpReset = mp?.faults.find((f) => f.action === 'session-reset');
  if (mpReset !== undefined) return { ok: false, error: mpReset.error };
  const withdrawn: NlriBlock[] = [];
  const ipv4 = withdrawn4.concat(nlri4);
  if (ipv4.length > 0) withdrawn.push({ afi: iana.AFI_IPV4, safi: iana.SAFI_UNICAST, prefixes: ipv4 });
  if (mp?.unreach !== undefined && mp.unreach.prefixes.length > 0) addWithdrawn(withdrawn, mp.unreach);
  if (mp?.reach !== undefined && mp.reach.prefixes.length > 0) addWithdrawn(withdrawn, mp.reach);
  const issues: AttributeIssue[] = [
    {
      attribute: fault.attribute,
      action: 'treat-as-withdraw',
      code: 'BGP_ERR_ATTRIBUTE_OVERRUN',
      reason: fault.reason,
    },
  ];
  for (const f of mp?.faults ?? []) issues.push(toIssue(f, 'attribute-discard'));
  return { ok: true, message: { type: iana.MESSAGE_UPDATE, withdrawn, reach: [], attributes: null, issues } };
}

/** The RFC 7606 outcome of the whole UPDATE, and the message it leaves. */
function assemble(
  section: DecodedAttributes,
  mp: MpResult | undefined,
  withdrawn4: PrefixKey[],
  nlri4: PrefixKey[],
  attributeCount: number,
): UpdateMessage {
  // Hot path: no spreads, and the cached (frozen, usually empty) issue list is shared unless something adds.
  let issues: readonly AttributeIssue[] = section.issues;
  let worst = section.worst;
  // A NEXT_HOP fault only costs the routes of the IPv4 NLRI field; without them it is just discarded.
  if (worst === 2 && section.withdrawOnlyForNextHop && nlri4.length === 0) {
    worst = 1;
    issues = issues.map((i) =>
      i.action === 'treat-as-withdraw' ? { ...i, action: 'attribute-discard' } : i,
    );
  }
  if (mp !== undefined && mp.faults.length > 0) {
    issues = [...issues, ...mp.faults.map((f) => toIssue(f, 'attribute-discard'))];
    if (worst < 1) worst = 1;
  }
  const hasReach = nlri4.length > 0 || mp?.reach !== undefined;
  if (hasReach && !(section.hasOrigin && section.hasAsPath && (section.hasNextHop || nlri4.length === 0))) {
    const more = issues.slice();
    worst = Math.max(worst, missingMandatory(section, nlri4.length > 0, more));
    issues = more;
  }
  const withdrawn: NlriBlock[] = [];
  if (withdrawn4.length > 0)
    withdrawn.push({ afi: iana.AFI_IPV4, safi: iana.SAFI_UNICAST, prefixes: withdrawn4 });
  const endOfRib = endOfRibOf(mp, withdrawn4, nlri4, attributeCount);
  if (mp?.unreach !== undefined && endOfRib === undefined) withdrawn.push(mp.unreach);
  const reach: ReachBlock[] = [];
  const attrs = section.attributes;
  if (nlri4.length > 0) {
    reach.push({
      afi: iana.AFI_IPV4,
      safi: iana.SAFI_UNICAST,
      prefixes: nlri4,
      nextHop: attrs?.nextHop ?? '0.0.0.0',
    });
  }
  if (mp?.reach !== undefined) reach.push(mp.reach);
  if (worst >= ACTION_RANK['treat-as-withdraw'] && hasReach) {
    for (const block of reach) addWithdrawn(withdrawn, block);
    return { type: iana.MESSAGE_UPDATE, withdrawn, reach: [], attributes: null, issues };
  }
  if (endOfRib !== undefined)
    return { type: iana.MESSAGE_UPDATE, withdrawn, reach, attributes: attrs, endOfRib, issues };
  return { type: iana.MESSAGE_UPDATE, withdrawn, reach, attributes: attrs, issues };
}

/** RFC 7606 §3.d: "If any of the well-known mandatory attributes are not present ... 'treat-as-withdraw'". */
function missingMandatory(section: DecodedAttributes, ipv4Nlri: boolean, issues: AttributeIssue[]): number {
  const missing: [number, string][] = [];
  if (!section.hasOrigin) missing.push([iana.ATTR_ORIGIN, 'ORIGIN']);
  if (!section.hasAsPath) missing.push([iana.ATTR_AS_PATH, 'AS_PATH']);
  // RFC 4760 §3: NEXT_HOP is only mandatory when the IPv4 NLRI field is used.
  if (ipv4Nlri && !section.hasNextHop) missing.push([iana.ATTR_NEXT_HOP, 'NEXT_HOP']);
  for (const [attribute, name] of missing) {
    issues.push({
      attribute,
      action: 'treat-as-withdraw',
      code: 'BGP_ERR_MISSING_WELL_KNOWN',
      reason: `${name} missing`,
    });
  }
  return missing.length > 0 ? ACTION_RANK['treat-as-withdraw'] : 0;
}

/** RFC 4724 §2: End-of-RIB is an UPDATE with nothing (IPv4 unicast), or only an empty MP_UNREACH_NLRI. */
function endOfRibOf(
  mp: MpResult | undefined,
  withdrawn4: PrefixKey[],
  nlri4: PrefixKey[],
  attributeCount: number,
) {
  if (withdrawn4.length > 0 || nlri4.length > 0) return undefined;
  if (attributeCount === 0) return { afi: iana.AFI_IPV4, safi: iana.SAFI_UNICAST } as const;
  const u = mp?.unreach;
  if (attributeCount === 1 && u !== undefined && u.prefixes.length === 0) return { afi: u.afi, safi: u.safi };
  return undefined;
}

function addWithdrawn(withdrawn: NlriBlock[], block: NlriBlock): void {
  const same = withdrawn.find((b) => b.afi === block.afi && b.safi === block.safi);
  if (same === undefined)
    withdrawn.push({ afi: block.afi, safi: block.safi, prefixes: block.prefixes.slice() });
  else for (const p of block.prefixes) same.prefixes.push(p);
}

/** Remember what re-encoding cannot derive: received order when not ascending, needless Extended Length. */
function recordHints(message: UpdateMessage, scan: Scan, mp: MpResult | undefined): void {
  const r = scan.records;
  const ipv4 = (b: NlriBlock | undefined): boolean =>
    b !== undefined && b.afi === iana.AFI_IPV4 && b.safi === iana.SAFI_UNICAST;
  const ipv4InMp =
    (ipv4(mp?.reach) && !mp!.reach!.nextHop.includes(':') && message.reach.length > 0 ? 1 : 0) |
    (ipv4(mp?.unreach) && message.withdrawn.includes(mp!.unreach!) ? 2 : 0);
  let ascending = true;
  let extended: number[] | undefined;
  for (let i = 0; i < r.length; i += STRIDE) {
    if (i > 0 && r[i + 4]! <= r[i - STRIDE + 4]!) ascending = false;
    if ((r[i + 3]! & iana.FLAG_EXTENDED_LENGTH) !== 0 && r[i + 2]! - r[i + 1]! <= 255)
      (extended ??= []).push(r[i + 4]!);
  }
  if (ascending && extended === undefined && ipv4InMp === 0) return;
  const order: number[] = [];
  for (let i = 0; i < r.length; i += STRIDE) order.push(r[i + 4]!);
  setWireHints(message, { order, extended: extended ?? [], ...(ipv4InMp === 0 ? {} : { ipv4InMp }) });
}
