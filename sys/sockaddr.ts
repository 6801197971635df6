/**
 * `struct sockaddr_in` / `sockaddr_in6` to and from address text (ip/address.ts parses and prints). Pure.
 *
 *   sockaddr_in  (16): u16 family (host order) | u16 port (network order) | 4 address bytes | 8 zero
 *   sockaddr_in6 (28): u16 family | u16 port | u32 flowinfo | 16 address bytes | u32 scope id
 *
 * An IPv4 address given to an AF_INET6 socket is written as its v4-mapped IPv6 address (`::ffff:a.b.c.d`), the
 * way a dual-stack socket sees IPv4 peers; decoding gives the plain IPv4 text back.
 */
import { canonicalAddress, formatIpv4Bytes, formatIpv6, parseIpv4, parseIpv6 } from '../ip/address.js';
import { AF_INET, AF_INET6 } from './libc.js';

export const SOCKADDR_IN_LEN = 16;
export const SOCKADDR_IN6_LEN = 28;
/** sizeof(struct sockaddr_storage) */
export const SOCKADDR_STORAGE_LEN = 128;

/** AF_INET for dotted quads, AF_INET6 for everything else that parses; undefined for non-addresses. */
export function familyOf(address: string): typeof AF_INET | typeof AF_INET6 | undefined {
  if (parseIpv4(address) !== undefined) return AF_INET;
  return parseIpv6(withoutZone(address)) !== undefined ? AF_INET6 : undefined;
}

/** `fe80::1%eth0` → `fe80::1`. */
export function withoutZone(address: string): string {
  const pct = address.indexOf('%');
  return pct < 0 ? address : address.slice(0, pct);
}

/** `eth0` of `fe80::1%eth0`, or undefined. */
export function zoneOf(address: string): string | undefined {
  const pct = address.indexOf('%');
  return pct < 0 ? undefined : address.slice(pct + 1);
}

/**
 * The sockaddr for `address`:`port` as a socket of `family` wants it (a zone in the text is dropped: pass its
 * interface index as `scopeId`). Undefined when the address does not parse or does not fit the family.
 */
export function encodeSockaddr(
  address: string,
  port: number,
  family: number = familyOf(address) ?? AF_INET6,
  scopeId = 0,
): Buffer | undefined {
  const v4 = parseIpv4(address);
  if (family === AF_INET) {
    if (v4 === undefined) return undefined;
    const b = Buffer.alloc(SOCKADDR_IN_LEN);
    b.writeUInt16LE(AF_INET, 0);
    b.writeUInt16BE(port, 2);
    b.writeUInt32BE(v4 >>> 0, 4);
    return b;
  }
  const v6 = v4 !== undefined ? parseIpv6(`::ffff:${address}`) : parseIpv6(withoutZone(address));
  if (v6 === undefined) return undefined;
  const b = Buffer.alloc(SOCKADDR_IN6_LEN);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(port, 2);
  v6.copy(b, 8);
  b.writeUInt32LE(scopeId >>> 0, 24);
  return b;
}

/** The address (canonical text; v4-mapped IPv6 as plain IPv4) and port of a sockaddr, or undefined. */
export function decodeSockaddr(b: Buffer, length = b.length): { address: string; port: number } | undefined {
  if (length < 4) return undefined;
  const family = b.readUInt16LE(0);
  const port = b.readUInt16BE(2);
  if (family === AF_INET && length >= SOCKADDR_IN_LEN) return { address: formatIpv4Bytes(b, 4), port };
  if (family === AF_INET6 && length >= 24) {
    const text = formatIpv6(b.subarray(8, 24));
    return { address: canonicalAddress(text) ?? text, port };
  }
  return undefined;
}
