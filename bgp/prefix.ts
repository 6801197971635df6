/**
 * Prefixes as compact keys, so that a million routes cost a million numbers, not a million objects.
 *
 * - IPv4: a `number`, `address * 64 + length` (address as an unsigned 32-bit integer; the key stays below
 *   2^38, well inside the safe-integer range). Map lookups on small integers are the fastest V8 offers.
 * - IPv6: a `string`, the canonical RFC 5952 text of the network address, `/`, the length
 *   (`fd00:244:2::/64`). IPv6 tables in a cluster are small; text keys are readable in logs as they are.
 *
 * Host bits are always zero in a key: the constructors mask them.
 */

export type PrefixKey = number | string;

/** IANA Address Family Identifiers (RFC 4760; IANA "Address Family Numbers"). */
export const AFI_IPV4 = 1;
export const AFI_IPV6 = 2;
export type Afi = typeof AFI_IPV4 | typeof AFI_IPV6;

export function isIpv4Key(key: PrefixKey): key is number {
  return typeof key === 'number';
}

export function prefixAfi(key: PrefixKey): Afi {
  return typeof key === 'number' ? AFI_IPV4 : AFI_IPV6;
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

export function formatIpv4(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`;
}

// ---- IPv6 ----------------------------------------------------------------------------------------------

/** RFC 4291 §2.2 text (with `::` and an embedded dotted quad) → 16 bytes, or `undefined`. */
export function parseIpv6(text: string): Uint8Array | undefined {
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
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parseGroups(halves[0]!);
  const right = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!left || !right) return undefined;
  const total = left.length + right.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const groups = [...left, ...new Array<number>(8 - total).fill(0), ...right];
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    bytes[i * 2] = groups[i]! >> 8;
    bytes[i * 2 + 1] = groups[i]! & 255;
  }
  if (tailV4 !== undefined) {
    bytes[12] = tailV4 >>> 24;
    bytes[13] = (tailV4 >>> 16) & 255;
    bytes[14] = (tailV4 >>> 8) & 255;
    bytes[15] = tailV4 & 255;
  }
  return bytes;
}

/** 16 bytes (from `offset`) → RFC 5952 canonical text: lower case, longest zero run (≥ 2 groups) as `::`. */
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

/** Zero the bits of `bytes` past `len` (in place) and return it. */
export function maskBytes(bytes: Uint8Array, len: number): Uint8Array {
  for (let i = 0; i < bytes.length; i++) {
    const bitsHere = len - i * 8;
    if (bitsHere >= 8) continue;
    bytes[i] = bitsHere <= 0 ? 0 : bytes[i]! & ((0xff << (8 - bitsHere)) & 0xff);
  }
  return bytes;
}

/** An IPv6 key from the first ⌈len/8⌉ bytes of `prefixBytes` (the NLRI encoding); host bits are masked. */
export function ipv6Key(prefixBytes: Uint8Array, len: number): string {
  const full = new Uint8Array(16);
  full.set(prefixBytes.subarray(0, Math.min(16, Math.ceil(len / 8))));
  return `${formatIpv6(maskBytes(full, len))}/${len}`;
}

/** The 16 address bytes and the length of an IPv6 key. */
export function ipv6KeyParts(key: string): { bytes: Uint8Array; len: number } {
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

/** Whether the text is an IPv4 or IPv6 address (no length). */
export function isIpAddress(text: string): boolean {
  return text.includes(':') ? parseIpv6(text) !== undefined : parseIpv4(text) !== undefined;
}
