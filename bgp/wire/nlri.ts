/**
 * NLRI prefixes (RFC 4271 §4.3 "Network Layer Reachability Information", RFC 4760 §5 for other families):
 *
 *      +---------------------------+
 *      |   Length (1 octet)        |
 *      +---------------------------+
 *      |   Prefix (variable)       |
 *      +---------------------------+
 *
 * Length is in bits; the prefix takes ⌈Length/8⌉ octets, trailing bits irrelevant (masked off here).
 * Decoded straight into `PrefixKey`s: an IPv4 prefix becomes the number `address * 64 + length` built from the
 * octets, without any string or object; IPv6 goes through `ipv6Key`.
 */
import { AFI_IPV4, type Afi } from '../prefix.js';
import { ipv4KeyAddress, ipv6Key, ipv6KeyParts, type PrefixKey } from '../../ip/prefix.js';
import type { Writer } from './writer.js';

/** 2^(32 − len): the number of addresses a /len covers, to clear host bits with one modulo. */
const HOST_SPAN: readonly number[] = Array.from({ length: 33 }, (_, len) => 2 ** (32 - len));

/**
 * Append the IPv4 prefixes in `buf[start, end)` to `out`. Returns false when a length exceeds 32 or a prefix
 * runs past `end` (RFC 4271 §6.3 Invalid Network Field).
 */
export function decodeIpv4Prefixes(buf: Uint8Array, start: number, end: number, out: PrefixKey[]): boolean {
  let pos = start;
  while (pos < end) {
    const len = buf[pos]!;
    if (len > 32) return false;
    const octets = (len + 7) >> 3;
    if (pos + 1 + octets > end) return false;
    let address = 0;
    if (octets > 0) {
      address = buf[pos + 1]! * 0x1000000;
      if (octets > 1) {
        address += buf[pos + 2]! << 16;
        if (octets > 2) {
          address += buf[pos + 3]! << 8;
          if (octets > 3) address += buf[pos + 4]!;
        }
      }
    }
    if (len < 32) address -= address % HOST_SPAN[len]!; // clear the host bits
    out.push(address * 64 + len);
    pos += 1 + octets;
  }
  return true;
}

/** Append the IPv6 prefixes in `buf[start, end)` to `out`; false on a length over 128 or an overrun. */
export function decodeIpv6Prefixes(buf: Uint8Array, start: number, end: number, out: PrefixKey[]): boolean {
  let pos = start;
  while (pos < end) {
    const len = buf[pos]!;
    if (len > 128) return false;
    const octets = (len + 7) >> 3;
    if (pos + 1 + octets > end) return false;
    out.push(ipv6Key(buf.subarray(pos + 1, pos + 1 + octets), len));
    pos += 1 + octets;
  }
  return true;
}

export function decodePrefixes(
  afi: Afi,
  buf: Uint8Array,
  start: number,
  end: number,
  out: PrefixKey[],
): boolean {
  return afi === AFI_IPV4
    ? decodeIpv4Prefixes(buf, start, end, out)
    : decodeIpv6Prefixes(buf, start, end, out);
}

/** Octets `key` takes in an NLRI field. */
export function prefixWireLength(key: PrefixKey): number {
  const len = typeof key === 'number' ? key % 64 : Number(key.slice(key.lastIndexOf('/') + 1));
  return 1 + ((len + 7) >> 3);
}

/** Write one prefix (length octet, then the significant octets). */
export function writePrefix(w: Writer, key: PrefixKey): void {
  if (typeof key === 'number') {
    const len = key % 64;
    const address = ipv4KeyAddress(key);
    w.u8(len);
    const octets = (len + 7) >> 3;
    for (let i = 0; i < octets; i++) w.u8((address >>> (24 - i * 8)) & 0xff);
    return;
  }
  const { bytes, len } = ipv6KeyParts(key);
  w.u8(len);
  w.bytes(bytes.subarray(0, (len + 7) >> 3));
}
