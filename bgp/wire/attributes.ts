/**
 * Path attributes (RFC 4271 §4.3):
 *
 *      0                   1
 *      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
 *      +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *      |  Attr. Flags  |Attr. Type Code|
 *      +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *      Attr. Flags: O(ptional) T(ransitive) P(artial) E(xtended Length) then 4 unused bits;
 *      followed by a 1-octet Attribute Length (2 octets when E is set) and the value.
 *
 * The codecs are a TABLE `type → { name, flags, malformed, decode, encode, format }` (attr-table.ts); this file
 * is the ONE dispatcher that does the generic checks once, in RFC 7606 order:
 *
 *  - unknown type: well-known → session reset 3/2 Unrecognized Well-known Attribute (RFC 4271 §6.3); optional
 *    transitive → kept as a RawAttribute with its received flags (the RIB sets Partial when passing it on,
 *    RFC 4271 §5); optional non-transitive → quietly ignored (RFC 4271 §5 "MUST quietly ignore").
 *  - known type with Optional/Transitive bits other than the attribute's (RFC 7606 §3.c): handled as the
 *    attribute's own "malformed" action.
 *  - duplicates are found by the UPDATE scan (update.ts), which skips the later copies (RFC 7606 §3.g).
 */
import type { CodecContext, PathAttributes } from './types.js';
import { fault, type AttributeDraft, type EncodeExtras, type Fault } from './attr-common.js';
import { FLAG_EXTENDED_LENGTH, FLAG_OPTIONAL, FLAG_TRANSITIVE, MAX_MESSAGE_LENGTH } from './iana.js';
import { Writer } from './writer.js';
import { ATTRIBUTE_TABLE } from './attr-table.js';

/** Decode one attribute into the draft, doing the generic checks. `attr` is header + value. */
export function decodeAttribute(
  flags: number,
  type: number,
  value: Buffer,
  attr: Buffer,
  ctx: CodecContext,
  draft: AttributeDraft,
): Fault | undefined {
  const codec = ATTRIBUTE_TABLE[type];
  if (codec === undefined) return unknownAttribute(flags, type, value, attr, draft);
  // RFC 7606 §3.c: "If the value of either the Optional or Transitive bits in the Attribute Flags is in
  // conflict with their specified values, then the attribute MUST be treated as malformed".
  if ((flags & (FLAG_OPTIONAL | FLAG_TRANSITIVE)) !== codec.flags) {
    return fault(type, codec.malformed, {
      kind: 'attribute-flags-error',
      code: 'BGP_ERR_ATTRIBUTE_FLAGS',
      reason: `${codec.name} flags 0x${flags.toString(16)}, expected 0x${codec.flags.toString(16)}`,
      data: Uint8Array.from(attr),
    });
  }
  return codec.decode(value, ctx, draft, attr);
}

function unknownAttribute(
  flags: number,
  type: number,
  value: Buffer,
  attr: Buffer,
  draft: AttributeDraft,
): Fault | undefined {
  if ((flags & FLAG_OPTIONAL) === 0) {
    // RFC 4271 §6.3: "If any of the well-known mandatory attributes are not recognized, then the Error Subcode
    // MUST be set to Unrecognized Well-known Attribute. The Data field MUST contain the unrecognized attribute".
    return fault(type, 'session-reset', {
      kind: 'unrecognized-well-known-attribute',
      code: 'BGP_ERR_UNRECOGNIZED_WELL_KNOWN',
      reason: `unknown well-known attribute type ${type}`,
      data: Uint8Array.from(attr),
    });
  }
  // RFC 4271 §5: "If an optional transitive attribute is unrecognized ... it SHOULD be accepted and passed
  // along"; "unrecognized non-transitive optional attributes MUST be quietly ignored and not passed along".
  if ((flags & FLAG_TRANSITIVE) !== 0) {
    (draft.unknown ??= []).push(Object.freeze({ flags, type, value: Uint8Array.from(value) }));
  }
  return undefined;
}

// ---- Encoding -----------------------------------------------------------------------------------------

/** The attribute types known to the table, ascending (the order we send them in). */
export const KNOWN_TYPES: readonly number[] = Object.keys(ATTRIBUTE_TABLE)
  .map(Number)
  .sort((a, b) => a - b);

/**
 * Write one attribute: flags (Extended Length when the value exceeds 255 octets, or when `forceExtended`),
 * type, length, value.
 */
export function writeAttribute(
  w: Writer,
  flags: number,
  type: number,
  value: Uint8Array,
  forceExtended = false,
): void {
  const extended = forceExtended || value.length > 255;
  w.u8(extended ? flags | FLAG_EXTENDED_LENGTH : flags & ~FLAG_EXTENDED_LENGTH).u8(type);
  if (extended) w.u16(value.length);
  else w.u8(value.length);
  w.bytes(value);
}

const scratch = new Writer(MAX_MESSAGE_LENGTH);

/** The value octets of one known attribute, or undefined when `attrs` does not have it. */
export function encodeAttributeValue(
  type: number,
  attrs: PathAttributes,
  ctx: CodecContext,
  extras: EncodeExtras,
): Buffer | undefined {
  const codec = ATTRIBUTE_TABLE[type];
  if (codec === undefined) return undefined;
  scratch.pos = 0;
  return codec.encode(attrs, ctx, scratch, extras) ? scratch.finish() : undefined;
}

/** "origin igp, as-path 65001 65002, next-hop 192.0.2.1, …" for logs. */
export function formatPathAttributes(attrs: PathAttributes): string {
  const parts: string[] = [];
  for (const type of KNOWN_TYPES) {
    const text = ATTRIBUTE_TABLE[type]!.format(attrs);
    if (text !== undefined) parts.push(text);
  }
  for (const u of attrs.unknown ?? []) parts.push(`attr-${u.type} 0x${Buffer.from(u.value).toString('hex')}`);
  return parts.join(', ');
}
