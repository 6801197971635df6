/**
 * AS_PATH and AS4_PATH values (RFC 4271 §4.3 b, RFC 5065 §3, RFC 6793 §3):
 *
 *      a sequence of path segments, each  <path segment type (1), path segment length (1), path segment value>
 *      where the length counts AS numbers (not octets) and each AS number is 2 octets, or 4 octets when both
 *      speakers have the 4-octet AS capability (and always 4 in AS4_PATH).
 *
 * Plus the RFC 6793 §4.2.3 reconstruction of the path from AS_PATH and AS4_PATH, the reverse for an OLD
 * (2-octet) peer, and helpers the RIB uses (`asPathContains`, `asPathLength`, `formatAsPath`).
 */
import type { AsPathSegment, AsPathSegmentType } from './types.js';
import type { Writer } from './writer.js';
import {
  AS_CONFED_SEQUENCE,
  AS_CONFED_SET,
  AS_PATH_SEGMENT_MAX,
  AS_SEQUENCE,
  AS_SET,
  AS_TRANS,
  MAX_TWO_OCTET_AS,
} from './iana.js';

/** Parse segments; undefined when malformed (RFC 7606 §7.2: bad type, zero length, overrun, trailing octet). */
export function decodeAsPath(value: Buffer, asSize: 2 | 4, allowConfed = true): AsPathSegment[] | undefined {
  const segments: AsPathSegment[] = [];
  let pos = 0;
  while (pos < value.length) {
    if (pos + 2 > value.length) return undefined;
    const type = value[pos]!;
    const count = value[pos + 1]!;
    const confed = type === AS_CONFED_SEQUENCE || type === AS_CONFED_SET;
    if (type < AS_SET || type > AS_CONFED_SET || (confed && !allowConfed) || count === 0) return undefined;
    pos += 2;
    if (pos + count * asSize > value.length) return undefined;
    const asns: number[] = new Array<number>(count);
    for (let i = 0; i < count; i++, pos += asSize) {
      asns[i] = asSize === 4 ? value.readUInt32BE(pos) : (value[pos]! << 8) | value[pos + 1]!;
    }
    segments.push({ type: type as AsPathSegmentType, asns });
  }
  return segments;
}

/**
 * Write segments with `asSize`-octet AS numbers, splitting any segment longer than 255. With `asSize` 2, an AS
 * number above 65535 becomes AS_TRANS (RFC 6793 §4.2.2). `skipConfed` drops confederation segments (AS4_PATH).
 */
export function writeAsPath(
  w: Writer,
  segments: readonly AsPathSegment[],
  asSize: 2 | 4,
  skipConfed = false,
): void {
  for (const seg of segments) {
    if (skipConfed && (seg.type === AS_CONFED_SEQUENCE || seg.type === AS_CONFED_SET)) continue;
    for (let from = 0; from < seg.asns.length; from += AS_PATH_SEGMENT_MAX) {
      const chunk = seg.asns.slice(from, from + AS_PATH_SEGMENT_MAX);
      w.u8(seg.type).u8(chunk.length);
      for (const asn of chunk) {
        if (asSize === 4) w.u32(asn);
        else w.u16(asn > MAX_TWO_OCTET_AS ? AS_TRANS : asn);
      }
    }
  }
}

/** Whether an OLD peer needs AS4_PATH to learn the real path: some non-confederation AS is above 65535. */
export function needsAs4Path(segments: readonly AsPathSegment[]): boolean {
  for (const seg of segments) {
    if (seg.type === AS_CONFED_SEQUENCE || seg.type === AS_CONFED_SET) continue;
    for (const asn of seg.asns) if (asn > MAX_TWO_OCTET_AS) return true;
  }
  return false;
}

/** RFC 4271 §9.1.2.2 a: an AS_SET counts 1, each AS in a sequence 1; RFC 5065 §5.3: confederation segments 0. */
export function asPathLength(segments: readonly AsPathSegment[]): number {
  let n = 0;
  for (const seg of segments) {
    if (seg.type === AS_SEQUENCE) n += seg.asns.length;
    else if (seg.type === AS_SET) n += 1;
  }
  return n;
}

/**
 * RFC 6793 §4.2.3: "the number of AS numbers in the AS_PATH attribute ... is compared with the number in
 * AS4_PATH. If [AS_PATH has fewer], then the AS4_PATH attribute SHALL be ignored ... Otherwise, take as many
 * AS numbers and path segments as necessary from the leading part of the AS_PATH attribute ... and then
 * prepend them to the AS4_PATH attribute so that the AS_PATH attribute has an identical number of AS numbers
 * as the AS4_PATH".
 */
export function mergeAs4Path(
  asPath: readonly AsPathSegment[],
  as4Path: readonly AsPathSegment[],
): AsPathSegment[] {
  const have = asPathLength(asPath);
  const want = asPathLength(as4Path);
  if (have < want) return asPath.slice();
  let budget = have - want;
  const out: AsPathSegment[] = [];
  for (const seg of asPath) {
    if (seg.type === AS_CONFED_SEQUENCE || seg.type === AS_CONFED_SET) {
      out.push(seg); // confederation segments count 0 and stay in front (AS4_PATH never carries them)
      continue;
    }
    if (budget <= 0) break;
    if (seg.type === AS_SEQUENCE) {
      const take = Math.min(budget, seg.asns.length);
      out.push(take === seg.asns.length ? seg : { type: seg.type, asns: seg.asns.slice(0, take) });
      budget -= take;
    } else {
      out.push(seg); // AS_SET counts 1
      budget -= 1;
    }
  }
  return [...out, ...as4Path];
}

/** Whether `asn` appears anywhere in the path (loop detection, RFC 4271 §9.1.2; the RIB applies it). */
export function asPathContains(segments: readonly AsPathSegment[], asn: number): boolean {
  for (const seg of segments) if (seg.asns.includes(asn)) return true;
  return false;
}

/**
 * "65001 65002 {65003,65004} (65010 65011) [65020]" — Cisco/FRR notation for sets and confederations; an
 * empty path is "". The one AS_PATH text of the project: logs, `RouteView.asPath` and the CLI.
 */
export function formatAsPath(segments: readonly AsPathSegment[]): string {
  const parts: string[] = [];
  for (const seg of segments) {
    if (seg.asns.length === 0) continue;
    switch (seg.type) {
      case AS_SEQUENCE:
        parts.push(seg.asns.join(' '));
        break;
      case AS_SET:
        parts.push(`{${seg.asns.join(',')}}`);
        break;
      case AS_CONFED_SEQUENCE:
        parts.push(`(${seg.asns.join(' ')})`);
        break;
      case AS_CONFED_SET:
        parts.push(`[${seg.asns.join(',')}]`);
        break;
    }
  }
  return parts.join(' ');
}
