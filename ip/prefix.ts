/**
 * Prefixes as compact keys, so that a million routes cost a million numbers, not a million objects. The one
 * encoding of the project: the BGP RIBs, the kernel FIB mirror and the daemon hand the same keys through.
 *
 * - IPv4: a `number`, `address * 64 + length` (address as an unsigned 32-bit integer; the key stays below
 *   2^38, well inside the safe-integer range). Map lookups on small integers are the fastest V8 offers.
 * - IPv6: a `string`, the canonical RFC 5952 text of the network address, `/`, the length
 *   (`fd00:244:2::/64`). IPv6 tables in a cluster are small; text keys are readable in logs as they are.
 *
 * Host bits are always zero in a key: the constructors mask them. Imports nothing but `address.ts`.
 */
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from './address.js';

export type PrefixKey = number | string;

export function isIpv4Key(key: PrefixKey): key is number {
  return typeof key === 'number';
}

// ---- IPv4 ----------------------------------------------------------------------------------------------

/** Mask an IPv4 address (uint32) to `len` bits. */
export function maskIpv4(address: number, len: number): number {
  if (len <= 0) return 0;
  if (len >= 32) return address >>> 0;
  return (address & (0xffffffff << (32 - len))) >>> 0;
}

export function ipv4Key(address: number, len: number): number {
  return maskIpv4(address, len) * 64 + len;
}

export function ipv4KeyAddress(key: number): number {
  return Math.floor(key / 64);
}

export function ipv4KeyLength(key: number): number {
  return key % 64;
}

// ---- IPv6 ----------------------------------------------------------------------------------------------

/** Zero the bits of `bytes` past `len` (in place) and return it. */
export function maskBytes<T extends Uint8Array>(bytes: T, len: number): T {
  for (let i = 0; i < bytes.length; i++) {
    const bitsHere = len - i * 8;
    if (bitsHere >= 8) continue;
    bytes[i] = bitsHere <= 0 ? 0 : bytes[i]! & ((0xff << (8 - bitsHere)) & 0xff);
  }
  return bytes;
}

/** A masked copy of an address of either family. */
export function maskedCopy(bytes: Uint8Array, len: number): Buffer {
  return maskBytes(Buffer.from(bytes), len);
}

/** An IPv6 key from the first ⌈len/8⌉ bytes of `prefixBytes` (the NLRI encoding); host bits are masked. */
export function ipv6Key(prefixBytes: Uint8Array, len: number): string {
  const full = new Uint8Array(16);
  full.set(prefixBytes.subarray(0, Math.min(16, Math.ceil(len / 8))));
  return `${formatIpv6(maskBytes(full, len))}/${len}`;
}

/** The 16 address bytes and the length of an IPv6 key. */
export function ipv6KeyParts(key: string): { bytes: Buffer; len: number } {
  const slash = key.lastIndexOf('/');
  return { bytes: parseIpv6(key.slice(0, slash))!, len: Number(key.slice(slash + 1)) };
}

// ---- Both families -------------------------------------------------------------------------------------

export function formatPrefix(key: PrefixKey): string {
  if (typeof key === 'number') return `${formatIpv4(ipv4KeyAddress(key))}/${ipv4KeyLength(key)}`;
  return key;
}

/**
 * `a.b.c.d/n` or `x:y::/n` → key. Host bits must be zero (`10.244.2.1/24` is refused, as `ip route` would
 * refuse it), so that a typo in a config file is reported instead of silently widened.
 */
export function parsePrefix(text: string): PrefixKey | Error {
  const slash = text.indexOf('/');
  if (slash === -1) return new Error(`"${text}" is not a prefix: expected ADDRESS/LENGTH`);
  const addr = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return new Error(`"${text}": prefix length "${lenText}" is not a number`);
  const len = Number(lenText);
  if (addr.includes(':')) {
    const bytes = parseIpv6(addr);
    if (!bytes) return new Error(`"${text}": "${addr}" is not an IPv6 address`);
    if (len > 128) return new Error(`"${text}": IPv6 prefix length ${len} is over 128`);
    const key = ipv6Key(bytes, len);
    if (formatIpv6(bytes) !== key.slice(0, key.lastIndexOf('/')))
      return new Error(`"${text}": host bits are set past /${len} (did you mean ${key}?)`);
    return key;
  }
  const address = parseIpv4(addr);
  if (address === undefined) return new Error(`"${text}": "${addr}" is not an IPv4 address`);
  if (len > 32) return new Error(`"${text}": IPv4 prefix length ${len} is over 32`);
  if (maskIpv4(address, len) !== address)
    return new Error(
      `"${text}": host bits are set past /${len} (did you mean ${formatPrefix(ipv4Key(address, len))}?)`,
    );
  return ipv4Key(address, len);
}

/** `a.b.c.d/n` or `x:y::/n` → key with host bits masked (what a kernel dump or a test names); else undefined. */
export function parsePrefixMasked(text: string): PrefixKey | undefined {
  const slash = text.lastIndexOf('/');
  if (slash < 0) return undefined;
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const len = Number(lenText);
  const addr = text.slice(0, slash);
  if (addr.includes(':')) {
    const bytes = parseIpv6(addr);
    return bytes !== undefined && len <= 128 ? ipv6Key(bytes, len) : undefined;
  }
  const v4 = parseIpv4(addr);
  return v4 !== undefined && len <= 32 ? ipv4Key(v4, len) : undefined;
}

/** Whether `inner` lies inside (or equals) `outer`. Prefixes of different families never contain each other. */
export function prefixContains(outer: PrefixKey, inner: PrefixKey): boolean {
  if (typeof outer === 'number') {
    if (typeof inner !== 'number') return false;
    const outerLen = ipv4KeyLength(outer);
    return (
      ipv4KeyLength(inner) >= outerLen && maskIpv4(ipv4KeyAddress(inner), outerLen) === ipv4KeyAddress(outer)
    );
  }
  if (typeof inner === 'number') return false;
  const o = ipv6KeyParts(outer);
  const i = ipv6KeyParts(inner);
  if (i.len < o.len) return false;
  const masked = maskBytes(i.bytes, o.len);
  for (let b = 0; b < 16; b++) if (masked[b] !== o.bytes[b]) return false;
  return true;
}

/** The length of a key's prefix. */
export function prefixLength(key: PrefixKey): number {
  return typeof key === 'number' ? ipv4KeyLength(key) : Number(key.slice(key.lastIndexOf('/') + 1));
}

/** Does the prefix `bytes`/`len` contain the address `addr` (same family, as bytes)? */
export function prefixContainsAddress(bytes: Uint8Array, len: number, addr: Uint8Array): boolean {
  for (let i = 0; i < bytes.length && len > 0; i++, len -= 8) {
    const mask = len >= 8 ? 0xff : (0xff << (8 - len)) & 0xff;
    if ((bytes[i]! & mask) !== (addr[i]! & mask)) return false;
  }
  return true;
}
