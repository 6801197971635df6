/**
 * IP addresses as plain values: IPv4 as an unsigned 32-bit integer (or 4 bytes), IPv6 as 16 bytes, text in
 * and out. The one parser and formatter of the project: `bgp/`, `routing/` and `daemon/` all use these.
 * Imports nothing.
 *
 * Parsers are strict (no leading `+`, no octal, no empty groups) and return `undefined` rather than throw;
 * the formatters write RFC 5952 canonical text (lower case, the longest run of two or more zero groups as `::`,
 * the first of equal runs).
 */

/** Dotted quad → uint32, or `undefined` when the text is not exactly four decimal octets. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** uint32 → dotted quad. */
export function formatIpv4(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`;
}

/** Four bytes from `offset` → dotted quad (a NEXT_HOP, an ORIGINATOR_ID, a kernel gateway). */
export function formatIpv4Bytes(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** uint32 → 4 bytes, network order. */
export function ipv4Bytes(address: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(address >>> 0);
  return b;
}

/** RFC 4291 §2.2 text (with `::` and an embedded dotted quad) → 16 bytes, or `undefined`. */
export function parseIpv6(text: string): Buffer | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  let head = text;
  let tailV4: number | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) !== -1) {
    tailV4 = parseIpv4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const left = groupsOf(halves[0]!);
  const right = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!left || !right) return undefined;
  const total = left.length + right.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const groups = [...left, ...new Array<number>(8 - total).fill(0), ...right];
  const bytes = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) bytes.writeUInt16BE(groups[i]!, i * 2);
  if (tailV4 !== undefined) bytes.writeUInt32BE(tailV4, 12);
  return bytes;
}

function groupsOf(s: string): number[] | undefined {
  if (s === '') return [];
  const out: number[] = [];
  for (const g of s.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    out.push(parseInt(g, 16));
  }
  return out;
}

/** 16 bytes (from `offset`) → RFC 5952 canonical text. */
export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  const groups: number[] = new Array(8);
  for (let i = 0; i < 8; i++) groups[i] = (bytes[offset + i * 2]! << 8) | bytes[offset + i * 2 + 1]!;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':');
  if (bestStart === -1) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** 4 or 16 bytes → text. */
export function formatAddress(bytes: Uint8Array): string {
  return bytes.length === 4 ? formatIpv4Bytes(bytes) : formatIpv6(bytes);
}

/** Whether the text is an IPv4 or IPv6 address (no length, no zone). */
export function isIpAddress(text: string): boolean {
  return text.includes(':') ? parseIpv6(text) !== undefined : parseIpv4(text) !== undefined;
}

/** An address as text split into its family, bytes and optional zone (`fe80::1%eth0`). */
export interface ParsedAddress {
  readonly version: 4 | 6;
  readonly bytes: Buffer;
  readonly zone?: string;
}

/** Text → version, bytes and zone; a zone is only allowed on IPv6. */
export function parseAddress(text: string): ParsedAddress | undefined {
  const pct = text.indexOf('%');
  const bare = pct < 0 ? text : text.slice(0, pct);
  const v4 = bare.includes(':') ? undefined : parseIpv4(bare);
  if (v4 !== undefined) return pct < 0 ? { version: 4, bytes: ipv4Bytes(v4) } : undefined;
  const v6 = parseIpv6(bare);
  if (v6 === undefined) return undefined;
  const zone = pct < 0 ? undefined : text.slice(pct + 1);
  if (zone === '') return undefined;
  return zone === undefined ? { version: 6, bytes: v6 } : { version: 6, bytes: v6, zone };
}

/** fe80::/10. */
export function isLinkLocal6(bytes: Uint8Array): boolean {
  return bytes.length === 16 && bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80;
}

/** ::ffff:0:0/96, RFC 4291 §2.5.5.2. */
function isMapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * The one spelling of an address, for identity (a peer's key, duplicate checks): IPv4 as a dotted quad, an
 * IPv4-mapped IPv6 address (`::ffff:10.0.0.5`, as a dual-stack socket reports an IPv4 peer) as its IPv4
 * address, IPv6 in RFC 5952 text with its zone kept. `undefined` when the text is not an address.
 */
export function canonicalAddress(text: string): string | undefined {
  const p = parseAddress(text);
  if (p === undefined) return undefined;
  if (p.version === 4) return formatIpv4Bytes(p.bytes);
  if (isMapped(p.bytes) && p.zone === undefined) return formatIpv4Bytes(p.bytes, 12);
  const t = formatIpv6(p.bytes);
  return p.zone === undefined ? t : `${t}%${p.zone}`;
}
