/**
 * Prefix keys, in the encoding the rest of nodebgp uses (bgp/prefix.ts), so the daemon hands keys through
 * without conversion. routing/ may not import bgp/, hence this small copy of the decoding side:
 *
 * - IPv4: a number, `address * 64 + length` (address an unsigned 32-bit integer, host bits zero);
 * - IPv6: the canonical RFC 5952 text of the masked prefix, `"fd00:244:2::/64"`.
 *
 * Addresses (next hops) are text: `"10.0.0.1"`, `"fd00::1"`, `"fe80::1%eth0"` (link-local with its interface).
 */
import { isIPv4, isIPv6 } from 'node:net';

export type PrefixKey = number | string;

export const AF_INET = 2;
export const AF_INET6 = 10;
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

export function parseIpv4(text: string): Buffer | undefined {
  if (!isIPv4(text)) return undefined;
  return Buffer.from(text.split('.').map(Number));
}

export function parseIpv6(text: string): Buffer | undefined {
  if (!isIPv6(text)) return undefined;
  let head = text;
  let tail4: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    tail4 = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const l = left ? left.split(':') : [];
  const r = right === undefined ? [] : right ? right.split(':') : [];
  const groups = right === undefined ? l : [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  if (tail4.length === 4) Buffer.from(tail4).copy(out, 12);
  return out;
}

export function formatIpv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952: lower case, leading zeros dropped, the longest run (≥2) of zero groups as `::`, first on ties. */
export function formatIpv6(b: Uint8Array, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[off + i * 2] << 8) | b[off + i * 2 + 1]);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

export function formatAddress(b: Uint8Array): string {
  return b.length === 4 ? formatIpv4(b) : formatIpv6(b);
}

/** Zero the host bits of `addr` beyond `len`. Returns a new buffer. */
export function maskAddress(addr: Uint8Array, len: number): Buffer {
  const out = Buffer.from(addr);
  for (let i = 0; i < out.length; i++) {
    const bits = len - i * 8;
    if (bits >= 8) continue;
    out[i] = bits <= 0 ? 0 : out[i] & (0xff << (8 - bits));
  }
  return out;
}

export function decodeKey(key: PrefixKey): RawPrefix {
  if (typeof key === 'number') {
    const len = key % 64;
    const addr = Buffer.alloc(4);
    addr.writeUInt32BE(Math.floor(key / 64));
    return { family: AF_INET, addr, len };
  }
  const slash = key.lastIndexOf('/');
  const addr = parseIpv6(key.slice(0, slash));
  const len = Number(key.slice(slash + 1));
  if (!addr || !(len >= 0 && len <= 128)) throw new Error(`bad IPv6 prefix key: ${key}`);
  return { family: AF_INET6, addr, len };
}

/** Encode a kernel prefix (host bits masked) as a key. */
export function encodeKey(family: Family, addr: Uint8Array, len: number): PrefixKey {
  const masked = maskAddress(addr, len);
  if (family === AF_INET) return masked.readUInt32BE(0) * 64 + len;
  return `${formatIpv6(masked)}/${len}`;
}

export function formatKey(key: PrefixKey): string {
  const p = decodeKey(key);
  return `${formatAddress(p.addr)}/${p.len}`;
}

/** Parse `"10.0.0.0/24"` or `"fd00::/64"` into a key (host bits masked). */
export function parsePrefixText(text: string): PrefixKey | undefined {
  const slash = text.lastIndexOf('/');
  if (slash < 0) return undefined;
  const len = Number(text.slice(slash + 1));
  const a4 = parseIpv4(text.slice(0, slash));
  if (a4 && Number.isInteger(len) && len >= 0 && len <= 32) return encodeKey(AF_INET, a4, len);
  const a6 = parseIpv6(text.slice(0, slash));
  if (a6 && Number.isInteger(len) && len >= 0 && len <= 128) return encodeKey(AF_INET6, a6, len);
  return undefined;
}

/** A next hop as text → family, bytes and optional zone (`fe80::1%eth0`). */
export interface ParsedAddress {
  family: Family;
  addr: Buffer;
  zone?: string;
}

export function parseAddress(text: string): ParsedAddress | undefined {
  const pct = text.indexOf('%');
  const bare = pct < 0 ? text : text.slice(0, pct);
  const a4 = parseIpv4(bare);
  if (a4) return pct < 0 ? { family: AF_INET, addr: a4 } : undefined;
  const a6 = parseIpv6(bare);
  if (!a6) return undefined;
  return pct < 0 ? { family: AF_INET6, addr: a6 } : { family: AF_INET6, addr: a6, zone: text.slice(pct + 1) };
}

export function isLinkLocal6(addr: Uint8Array): boolean {
  return addr.length === 16 && addr[0] === 0xfe && (addr[1] & 0xc0) === 0x80;
}

/** Does `prefix` (addr/len) contain `addr`? Same family assumed. */
export function prefixContainsAddress(prefix: Uint8Array, len: number, addr: Uint8Array): boolean {
  for (let i = 0; i < prefix.length && len > 0; i++, len -= 8) {
    const mask = len >= 8 ? 0xff : (0xff << (8 - len)) & 0xff;
    if ((prefix[i] & mask) !== (addr[i] & mask)) return false;
  }
  return true;
}
