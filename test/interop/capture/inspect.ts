/**
 * A deliberately small, independent BGP message reader for the capture tooling (it does not use bgp/wire): it
 * finds which prefixes each captured UPDATE carries, so the configured expectations can be attached to the
 * right message, and reads back the attributes so a capture whose bytes disagree with its configuration is
 * reported instead of committed.
 */
export interface Inspected {
  readonly type: 'open' | 'update' | 'notification' | 'keepalive' | 'route-refresh' | 'unknown';
  readonly asn?: number;
  readonly holdTime?: number;
  readonly bgpId?: string;
  readonly capabilities?: number[];
  readonly prefixes: string[];
  readonly withdrawn: string[];
  readonly nextHop?: string;
  readonly nextHopLinkLocal?: string;
  readonly asPath?: string;
  readonly origin?: 'igp' | 'egp' | 'incomplete';
  readonly med?: number;
  readonly communities?: string[];
  readonly largeCommunities?: string[];
  readonly attributeCodes: number[];
}

function ip4(b: Buffer): string {
  return [...b].join('.');
}

function ip6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // Compress the longest run of zero groups.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j += 1;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function nlri(b: Buffer, afi: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < b.length) {
    const len = b[i] ?? 0;
    const bytes = Math.ceil(len / 8);
    const addr = Buffer.alloc(afi === 2 ? 16 : 4);
    b.copy(addr, 0, i + 1, i + 1 + bytes);
    out.push(`${afi === 2 ? ip6(addr) : ip4(addr)}/${len}`);
    i += 1 + bytes;
  }
  return out;
}

export function inspect(hex: string, fourOctetAs: boolean): Inspected {
  const m = Buffer.from(hex, 'hex');
  const type = m[18];
  const body = m.subarray(19);
  if (type === 4) return { type: 'keepalive', prefixes: [], withdrawn: [], attributeCodes: [] };
  if (type === 1) {
    let asn = body.readUInt16BE(1);
    const capabilities: number[] = [];
    const params = body.subarray(10, 10 + (body[9] ?? 0));
    for (let i = 0; i < params.length; ) {
      const ptype = params[i] ?? 0;
      const plen = params[i + 1] ?? 0;
      if (ptype === 2) {
        const caps = params.subarray(i + 2, i + 2 + plen);
        for (let j = 0; j < caps.length; ) {
          const code = caps[j] ?? 0;
          const clen = caps[j + 1] ?? 0;
          capabilities.push(code);
          if (code === 65) asn = caps.readUInt32BE(j + 2);
          j += 2 + clen;
        }
      }
      i += 2 + plen;
    }
    return {
      type: 'open',
      asn,
      holdTime: body.readUInt16BE(3),
      bgpId: ip4(body.subarray(5, 9)),
      capabilities,
      prefixes: [],
      withdrawn: [],
      attributeCodes: [],
    };
  }
  if (type !== 2)
    return { type: type === 3 ? 'notification' : 'unknown', prefixes: [], withdrawn: [], attributeCodes: [] };
  const wlen = body.readUInt16BE(0);
  const withdrawn = nlri(body.subarray(2, 2 + wlen), 1);
  const alen = body.readUInt16BE(2 + wlen);
  const attrs = body.subarray(4 + wlen, 4 + wlen + alen);
  const prefixes = nlri(body.subarray(4 + wlen + alen), 1);
  const r: {
    -readonly [K in keyof Inspected]: Inspected[K];
  } = { type: 'update', prefixes, withdrawn, attributeCodes: [] };
  let asPath: number[] = [];
  let as4Path: number[] | undefined;
  for (let i = 0; i < attrs.length; ) {
    const flags = attrs[i] ?? 0;
    const code = attrs[i + 1] ?? 0;
    const ext = (flags & 0x10) !== 0;
    const len = ext ? attrs.readUInt16BE(i + 2) : (attrs[i + 2] ?? 0);
    const v = attrs.subarray(i + (ext ? 4 : 3), i + (ext ? 4 : 3) + len);
    i += (ext ? 4 : 3) + len;
    r.attributeCodes.push(code);
    const path = (as4: boolean): number[] => {
      const out: number[] = [];
      for (let j = 0; j < v.length; ) {
        const n = v[j + 1] ?? 0;
        j += 2;
        for (let k = 0; k < n; k += 1, j += as4 ? 4 : 2)
          out.push(as4 ? v.readUInt32BE(j) : v.readUInt16BE(j));
      }
      return out;
    };
    switch (code) {
      case 1:
        r.origin = (['igp', 'egp', 'incomplete'] as const)[v[0] ?? 2];
        break;
      case 2:
        asPath = path(fourOctetAs);
        break;
      case 17:
        as4Path = path(true);
        break;
      case 3:
        r.nextHop = ip4(v);
        break;
      case 4:
        r.med = v.readUInt32BE(0);
        break;
      case 8:
        r.communities = [];
        for (let j = 0; j < v.length; j += 4)
          r.communities.push(`${v.readUInt16BE(j)}:${v.readUInt16BE(j + 2)}`);
        break;
      case 32:
        r.largeCommunities = [];
        for (let j = 0; j < v.length; j += 12)
          r.largeCommunities.push(`${v.readUInt32BE(j)}:${v.readUInt32BE(j + 4)}:${v.readUInt32BE(j + 8)}`);
        break;
      case 14: {
        const afi = v.readUInt16BE(0);
        const nhlen = v[3] ?? 0;
        const nh = v.subarray(4, 4 + nhlen);
        if (afi === 2) {
          r.nextHop = ip6(nh.subarray(0, 16));
          if (nhlen === 32) r.nextHopLinkLocal = ip6(nh.subarray(16, 32));
        } else r.nextHop = ip4(nh.subarray(0, 4));
        r.prefixes = [...r.prefixes, ...nlri(v.subarray(5 + nhlen), afi)];
        break;
      }
      case 15:
        r.withdrawn = [...r.withdrawn, ...nlri(v.subarray(3), v.readUInt16BE(0))];
        break;
      default:
        break;
    }
  }
  if (r.attributeCodes.includes(2)) {
    // RFC 6793 §4.2.3: replace the trailing part of AS_PATH with AS4_PATH when the latter is not longer.
    if (as4Path !== undefined && as4Path.length <= asPath.length)
      asPath = [...asPath.slice(0, asPath.length - as4Path.length), ...as4Path];
    r.asPath = asPath.join(' ');
  }
  return r;
}
