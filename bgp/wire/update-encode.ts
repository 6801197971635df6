/**
 * UPDATE encoding (the layout is in update.ts): one generic `encodeUpdate` for a whole UpdateMessage, and the
 * packers the Adj-RIB-Out uses — `encodeUpdates` splits the prefixes sharing one attribute set into as few
 * ≤ 4096-octet UPDATEs as fit (the attributes are encoded ONCE and copied into each), `encodeWithdrawals`
 * does the same for withdrawals, `encodeEndOfRib` the RFC 4724 marker.
 *
 * IPv4 unicast with an IPv4 next hop uses the classic Withdrawn Routes / NLRI fields and NEXT_HOP; every
 * other family (and IPv4 with an IPv6 next hop, RFC 8950) uses MP_REACH_NLRI / MP_UNREACH_NLRI.
 * Attributes go in type-code order with Extended Length only past 255 octets — except for a decoded message,
 * whose wire hints (cache.ts) restore the received order and flags so the octets round-trip.
 */
import type { CodecContext, NlriBlock, PathAttributes, ReachBlock, UpdateMessage } from './types.js';
import type { EncodeExtras } from './attr-common.js';
import { encodeAttributeValue, KNOWN_TYPES, writeAttribute } from './attributes.js';
import { ATTRIBUTE_TABLE } from './attr-table.js';
import { mpReachHeaderLength, writeMpReach, writeMpUnreach } from './attr-mp.js';
import { prefixWireLength, writePrefix } from './nlri.js';
import { beginMessage, endMessage } from './header.js';
import { wireHints, type WireHints } from './cache.js';
import { Writer } from './writer.js';
import * as iana from './iana.js';

/** One encoded attribute (header and value) with its sort rank. */
interface Piece {
  readonly type: number;
  readonly rank: number;
  readonly bytes: Buffer;
}

function rankOf(type: number, hints: WireHints | undefined): number {
  if (hints === undefined) return type;
  const i = hints.order.indexOf(type);
  return i < 0 ? 1000 + type : i;
}

function piece(flags: number, type: number, value: Uint8Array, hints: WireHints | undefined): Piece {
  const w = new Writer(value.length + 4);
  writeAttribute(
    w,
    flags,
    type,
    value,
    hints?.extended.includes(type) === true || (flags & iana.FLAG_EXTENDED_LENGTH) !== 0,
  );
  return { type, rank: rankOf(type, hints), bytes: w.finish() };
}

/** The encoded attributes of `attrs` (not MP_*), sorted. */
function attributePieces(
  attrs: PathAttributes | null,
  ctx: CodecContext,
  extras: EncodeExtras,
  hints?: WireHints,
): Piece[] {
  if (attrs === null) return [];
  const pieces: Piece[] = [];
  for (const type of KNOWN_TYPES) {
    if (type === iana.ATTR_MP_REACH_NLRI || type === iana.ATTR_MP_UNREACH_NLRI) continue;
    // A received UPDATE without AS_PATH (possible only in a withdraw-only UPDATE) stays without one.
    if (
      type === iana.ATTR_AS_PATH &&
      hints !== undefined &&
      !hints.order.includes(type) &&
      attrs.asPath.length === 0
    )
      continue;
    const value = encodeAttributeValue(type, attrs, ctx, extras);
    if (value !== undefined) pieces.push(piece(ATTRIBUTE_TABLE[type]!.flags, type, value, hints));
  }
  for (const u of attrs.unknown ?? []) pieces.push(piece(u.flags, u.type, u.value, hints));
  return pieces.sort((a, b) => a.rank - b.rank);
}

function isClassic(block: { readonly afi: number; readonly safi: number }): boolean {
  return block.afi === iana.AFI_IPV4 && block.safi === iana.SAFI_UNICAST;
}

function isClassicReach(block: ReachBlock): boolean {
  return isClassic(block) && !block.nextHop.includes(':');
}

/** Split blocks into classic-field ones and MP ones; `lastToMp` moves the last classic one to MP. */
function partition<T extends NlriBlock>(
  blocks: readonly T[],
  classic: (b: T) => boolean,
  lastToMp: boolean,
): [T[], T[]] {
  const c = blocks.filter(classic);
  const m = blocks.filter((b) => !classic(b));
  if (lastToMp && c.length > 0) m.unshift(c.pop()!);
  return [c, m];
}

function tooLong(what: string, length: number): RangeError {
  return new RangeError(
    `${what}: ${length} octets exceed the ${iana.MAX_MESSAGE_LENGTH}-octet BGP message limit; use encodeUpdates/encodeWithdrawals`,
  );
}

/**
 * Encode one UpdateMessage as is. At most one non-classic family may be withdrawn and one announced (one
 * MP_UNREACH_NLRI and one MP_REACH_NLRI per UPDATE, RFC 4760 §3 / RFC 7606 §3.g). Throws RangeError when the
 * message would exceed 4096 octets or break that rule: those are caller bugs, not wire input.
 */
export function encodeUpdate(msg: UpdateMessage, ctx: CodecContext): Buffer {
  const hints = wireHints(msg);
  const eor = msg.endOfRib;
  // A non-IPv4 End-of-RIB is an empty MP_UNREACH_NLRI for its family (the decoder lists no empty block).
  const withdrawnBlocks =
    eor !== undefined &&
    !isClassic(eor) &&
    !msg.withdrawn.some((b) => b.afi === eor.afi && b.safi === eor.safi)
      ? [...msg.withdrawn, { afi: eor.afi, safi: eor.safi, prefixes: [] }]
      : msg.withdrawn;
  // A received UPDATE may carry IPv4 unicast in MP attributes; its hints say which block went there.
  const [classicWithdrawn, mpWithdrawn] = partition(
    withdrawnBlocks,
    isClassic,
    ((hints?.ipv4InMp ?? 0) & 2) !== 0,
  );
  const [classicReach, mpReach] = partition(msg.reach, isClassicReach, ((hints?.ipv4InMp ?? 0) & 1) !== 0);
  if (mpWithdrawn.length > 1 || mpReach.length > 1 || classicReach.length > 1) {
    throw new RangeError(
      'encodeUpdate: more than one family needs MP_REACH_NLRI/MP_UNREACH_NLRI or NEXT_HOP in one UPDATE',
    );
  }
  const extras: EncodeExtras = classicReach.length > 0 ? { nextHop: classicReach[0]!.nextHop } : {};
  const pieces = attributePieces(msg.attributes, ctx, extras, hints);
  if (mpWithdrawn.length > 0) {
    const v = new Writer(256);
    writeMpUnreach(v, mpWithdrawn[0]!);
    pieces.push(piece(iana.FLAG_OPTIONAL, iana.ATTR_MP_UNREACH_NLRI, v.view(), hints));
  }
  if (mpReach.length > 0) {
    const v = new Writer(256);
    writeMpReach(v, mpReach[0]!);
    pieces.push(piece(iana.FLAG_OPTIONAL, iana.ATTR_MP_REACH_NLRI, v.view(), hints));
  }
  pieces.sort((a, b) => a.rank - b.rank);
  const w = new Writer(iana.MAX_MESSAGE_LENGTH);
  const start = beginMessage(w, iana.MESSAGE_UPDATE);
  const wMark = w.mark16();
  for (const b of classicWithdrawn) for (const p of b.prefixes) writePrefix(w, p);
  w.patch16(wMark);
  const aMark = w.mark16();
  for (const p of pieces) w.bytes(p.bytes);
  w.patch16(aMark);
  for (const b of classicReach) for (const p of b.prefixes) writePrefix(w, p);
  endMessage(w, start);
  if (w.pos > iana.MAX_MESSAGE_LENGTH) throw tooLong('encodeUpdate', w.pos);
  return w.finish();
}

function concat(pieces: readonly Piece[]): Buffer {
  return Buffer.concat(pieces.map((p) => p.bytes));
}

/** How many prefixes from `from` fit in `budget` octets, and the octets they take. */
function fit(
  prefixes: readonly (number | string)[],
  from: number,
  budget: number,
): { to: number; octets: number } {
  let octets = 0;
  let to = from;
  while (to < prefixes.length) {
    const len = prefixWireLength(prefixes[to]!);
    if (octets + len > budget) break;
    octets += len;
    to++;
  }
  return { to, octets };
}

/**
 * Announce `reach.prefixes` with `attrs`, packed into as few UPDATEs as fit (each ≤ 4096 octets). The
 * attributes are encoded once. The next hop comes from the block (`attrs.nextHop` is ignored). Throws
 * RangeError when the attributes alone leave no room for a prefix.
 */
export function encodeUpdates(attrs: PathAttributes, reach: ReachBlock, ctx: CodecContext): Buffer[] {
  const out: Buffer[] = [];
  if (reach.prefixes.length === 0) return out;
  const classic = isClassicReach(reach);
  const pieces = attributePieces(attrs, ctx, classic ? { nextHop: reach.nextHop } : { noNextHop: true });
  const before = concat(pieces.filter((p) => classic || p.type < iana.ATTR_MP_REACH_NLRI));
  const after = classic ? Buffer.alloc(0) : concat(pieces.filter((p) => p.type > iana.ATTR_MP_REACH_NLRI));
  const mpOverhead = classic ? 0 : 4 + mpReachHeaderLength(reach);
  const budget = iana.MAX_MESSAGE_LENGTH - iana.HEADER_LENGTH - 4 - before.length - after.length - mpOverhead;
  for (let from = 0; from < reach.prefixes.length; ) {
    const { to, octets } = fit(reach.prefixes, from, budget);
    if (to === from) throw tooLong('encodeUpdates: attributes', before.length + after.length + mpOverhead);
    // Sized exactly (the MP_REACH_NLRI header may take one octet less than reserved), so no copy at the end.
    const w = new Writer(iana.HEADER_LENGTH + 4 + before.length + after.length + mpOverhead + octets);
    const start = beginMessage(w, iana.MESSAGE_UPDATE);
    w.u16(0);
    const aMark = w.mark16();
    w.bytes(before);
    if (!classic) {
      const v = new Writer(iana.MAX_MESSAGE_LENGTH);
      writeMpReach(v, reach, from, to);
      writeAttribute(w, iana.FLAG_OPTIONAL, iana.ATTR_MP_REACH_NLRI, v.view());
      w.bytes(after);
    }
    w.patch16(aMark);
    if (classic) for (let i = from; i < to; i++) writePrefix(w, reach.prefixes[i]!);
    endMessage(w, start);
    out.push(w.view());
    from = to;
  }
  return out;
}

/** Withdraw `block.prefixes`, packed into as few UPDATEs as fit. */
export function encodeWithdrawals(block: NlriBlock, _ctx: CodecContext): Buffer[] {
  const out: Buffer[] = [];
  const classic = isClassic(block);
  const budget = iana.MAX_MESSAGE_LENGTH - iana.HEADER_LENGTH - 4 - (classic ? 0 : 4 + 3);
  for (let from = 0; from < block.prefixes.length; ) {
    const { to } = fit(block.prefixes, from, budget);
    const w = new Writer(iana.MAX_MESSAGE_LENGTH);
    const start = beginMessage(w, iana.MESSAGE_UPDATE);
    if (classic) {
      const mark = w.mark16();
      for (let i = from; i < to; i++) writePrefix(w, block.prefixes[i]!);
      w.patch16(mark);
      w.u16(0);
    } else {
      w.u16(0);
      const aMark = w.mark16();
      const v = new Writer(iana.MAX_MESSAGE_LENGTH);
      writeMpUnreach(v, block, from, to);
      writeAttribute(w, iana.FLAG_OPTIONAL, iana.ATTR_MP_UNREACH_NLRI, v.view());
      w.patch16(aMark);
    }
    endMessage(w, start);
    out.push(w.finish());
    from = to;
  }
  return out;
}

/**
 * RFC 4724 §2: "An UPDATE message with no reachable Network Layer Reachability Information (NLRI) and empty
 * withdrawn NLRI is specified as the End-of-RIB marker ... for the IPv4 unicast address family. For any other
 * address family, it is an UPDATE message that contains only the MP_UNREACH_NLRI attribute with no withdrawn
 * routes for that <AFI, SAFI>."
 */
export function encodeEndOfRib(afi: number, safi: number): Buffer {
  const w = new Writer(32);
  const start = beginMessage(w, iana.MESSAGE_UPDATE);
  w.u16(0);
  if (afi === iana.AFI_IPV4 && safi === iana.SAFI_UNICAST) {
    w.u16(0);
  } else {
    w.u16(6).u8(iana.FLAG_OPTIONAL).u8(iana.ATTR_MP_UNREACH_NLRI).u8(3).u16(afi).u8(safi);
  }
  endMessage(w, start);
  return w.finish();
}
