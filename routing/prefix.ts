/**
 * Prefix keys and addresses as the kernel sees them: an address family (AF_INET / AF_INET6) and raw bytes.
 * The keys and the text forms are the project's own (`ip/prefix.ts`, `ip/address.ts`), so the daemon hands
 * the RIB's keys through without conversion; this file only converts between them and the kernel's shape.
 *
 * Addresses (next hops) are text: `"10.0.0.1"`, `"fd00::1"`, `"fe80::1%eth0"` (link-local with its interface,
 * or `"fe80::1%10.0.0.2"`: the interface holding that address of ours). A next hop may name alternatives,
 * `"fd00::1|fe80::1%eth0"`: the first that resolves is used (the global and link-local next hops of a 32-byte
 * MP_REACH_NLRI next hop, RFC 2545 §3).
 */
import { formatIpv6, ipv4Bytes, parseAddress as parseIpAddress } from '../ip/address.js';
import { ipv4KeyAddress, ipv4KeyLength, ipv6KeyParts, maskedCopy, type PrefixKey } from '../ip/prefix.js';
import { AF_INET, AF_INET6 } from './netlink/constants.js';

export type { PrefixKey } from '../ip/prefix.js';

export { AF_INET, AF_INET6 };
export type Family = typeof AF_INET | typeof AF_INET6;

/** A prefix as the kernel sees it: family, address bytes (4 or 16, host bits zero), length. */
export interface RawPrefix {
  family: Family;
  addr: Buffer;
  len: number;
}

export function keyFamily(key: PrefixKey): Family {
  return typeof key === 'number' ? AF_INET : AF_INET6;
}

export function decodeKey(key: PrefixKey): RawPrefix {
  if (typeof key === 'number')
    return { family: AF_INET, addr: ipv4Bytes(ipv4KeyAddress(key)), len: ipv4KeyLength(key) };
  const { bytes, len } = ipv6KeyParts(key);
  if (!bytes || !(len >= 0 && len <= 128)) throw new Error(`bad IPv6 prefix key: ${key}`);
  return { family: AF_INET6, addr: bytes, len };
}

/** Encode a kernel prefix (host bits masked) as a key. */
export function encodeKey(family: Family, addr: Uint8Array, len: number): PrefixKey {
  const masked = maskedCopy(addr, len);
  if (family === AF_INET) return masked.readUInt32BE(0) * 64 + len;
  return `${formatIpv6(masked)}/${len}`;
}

/** A next hop as text → family, bytes and optional zone (`fe80::1%eth0`). */
export interface ParsedAddress {
  family: Family;
  addr: Buffer;
  zone?: string;
}

export function parseAddress(text: string): ParsedAddress | undefined {
  const p = parseIpAddress(text);
  if (p === undefined) return undefined;
  const family = p.version === 4 ? AF_INET : AF_INET6;
  return p.zone === undefined ? { family, addr: p.bytes } : { family, addr: p.bytes, zone: p.zone };
}

/** The alternatives of a next hop's text, in order of preference (`"a|b"` → `["a", "b"]`). */
export function nexthopAlternatives(text: string): string[] {
  return text.split('|');
}
