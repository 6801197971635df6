/**
 * MP_REACH_NLRI (type 14) and MP_UNREACH_NLRI (type 15), RFC 4760 §3 and §4:
 *
 *      MP_REACH_NLRI                                            MP_UNREACH_NLRI
 *      +---------------------------------------------------+    +-----------------------------------------------+
 *      | Address Family Identifier (2 octets)              |    | Address Family Identifier (2 octets)          |
 *      +---------------------------------------------------+    +-----------------------------------------------+
 *      | Subsequent Address Family Identifier (1 octet)    |    | Subsequent Address Family Identifier (1 octet)|
 *      +---------------------------------------------------+    +-----------------------------------------------+
 *      | Length of Next Hop Network Address (1 octet)      |    | Withdrawn Routes (variable)                   |
 *      +---------------------------------------------------+    +-----------------------------------------------+
 *      | Network Address of Next Hop (variable)            |
 *      +---------------------------------------------------+
 *      | Reserved (1 octet)                                |
 *      +---------------------------------------------------+
 *      | Network Layer Reachability Information (variable) |
 *      +---------------------------------------------------+
 *
 * Next hops: IPv6 16 octets, or 32 with the link-local address second (RFC 2545 §3); IPv4 4 octets, or an
 * IPv6 next hop of 16/32 octets for IPv4 NLRI (RFC 8950 §3). These attributes are per message and never
 * cached. RFC 7606 §7.11: a malformed one means the NLRI cannot be trusted: "session reset" (3/9 here).
 */
import { AFI_IPV4, AFI_IPV6, type Afi } from '../prefix.js';
import { formatIpv6, parseIpv6 } from '../../ip/address.js';
import type { NlriBlock, ReachBlock } from './types.js';
import { fault, type AttributeCodec, type Fault } from './attr-common.js';
import { decodePrefixes, writePrefix } from './nlri.js';
import type { Writer } from './writer.js';
import * as iana from './iana.js';

function mpFault(type: number, attr: Buffer, reason: string): Fault {
  return fault(type, 'session-reset', {
    kind: 'optional-attribute-error',
    code: type === iana.ATTR_MP_REACH_NLRI ? 'BGP_ERR_MALFORMED_MP_REACH' : 'BGP_ERR_MALFORMED_MP_UNREACH',
    reason,
    data: Uint8Array.from(attr),
  });
}

/** Families whose NLRI is plain prefixes (RFC 4760 §5): IPv4/IPv6 unicast and multicast. */
function family(value: Buffer): { afi: Afi; safi: number } | undefined {
  const afi = value.readUInt16BE(0);
  const safi = value[2]!;
  if ((afi !== AFI_IPV4 && afi !== AFI_IPV6) || (safi !== iana.SAFI_UNICAST && safi !== iana.SAFI_MULTICAST))
    return undefined;
  return { afi, safi };
}

function unsupportedFamily(type: number, value: Buffer): Fault {
  // RFC 4760 §7 leaves an AFI/SAFI that was not negotiated to the receiver; we ignore the attribute.
  return fault(type, 'attribute-discard', {
    kind: 'optional-attribute-error',
    code: 'BGP_ERR_MP_UNSUPPORTED_FAMILY',
    reason: `AFI ${value.readUInt16BE(0)} SAFI ${value[2]} is not supported`,
    data: new Uint8Array(0),
  });
}

function nextHops(afi: Afi, nh: Buffer): { nextHop: string; linkLocalNextHop?: string } | undefined {
  if (afi === AFI_IPV4 && nh.length === 4) return { nextHop: `${nh[0]}.${nh[1]}.${nh[2]}.${nh[3]}` };
  if (nh.length === 16) return { nextHop: formatIpv6(nh) };
  if (nh.length === 32) return { nextHop: formatIpv6(nh), linkLocalNextHop: formatIpv6(nh, 16) };
  return undefined;
}

export const MP_REACH_NLRI: AttributeCodec = {
  name: 'MP_REACH_NLRI',
  flags: iana.FLAG_OPTIONAL,
  malformed: 'session-reset',
  decode(value, _ctx, draft, attr) {
    const type = iana.ATTR_MP_REACH_NLRI;
    if (value.length < 5) return mpFault(type, attr, `MP_REACH_NLRI of ${value.length} octets`);
    const fam = family(value);
    if (fam === undefined) return unsupportedFamily(type, value);
    const nhLen = value[3]!;
    if (4 + nhLen + 1 > value.length)
      return mpFault(type, attr, `next hop length ${nhLen} overruns MP_REACH_NLRI`);
    const hops = nextHops(fam.afi, value.subarray(4, 4 + nhLen));
    if (hops === undefined) return mpFault(type, attr, `next hop length ${nhLen} for AFI ${fam.afi}`);
    const prefixes: ReachBlock['prefixes'] = [];
    if (!decodePrefixes(fam.afi, value, 4 + nhLen + 1, value.length, prefixes)) {
      return mpFault(type, attr, 'MP_REACH_NLRI prefix is longer than its address or overruns the attribute');
    }
    draft.mpReach = { ...fam, prefixes, ...hops };
    return undefined;
  },
  encode: () => false, // per message: see writeMpReach
  format: () => undefined,
};

export const MP_UNREACH_NLRI: AttributeCodec = {
  name: 'MP_UNREACH_NLRI',
  flags: iana.FLAG_OPTIONAL,
  malformed: 'session-reset',
  decode(value, _ctx, draft, attr) {
    const type = iana.ATTR_MP_UNREACH_NLRI;
    if (value.length < 3) return mpFault(type, attr, `MP_UNREACH_NLRI of ${value.length} octets`);
    const fam = family(value);
    if (fam === undefined) return unsupportedFamily(type, value);
    const prefixes: NlriBlock['prefixes'] = [];
    if (!decodePrefixes(fam.afi, value, 3, value.length, prefixes)) {
      return mpFault(
        type,
        attr,
        'MP_UNREACH_NLRI prefix is longer than its address or overruns the attribute',
      );
    }
    draft.mpUnreach = { ...fam, prefixes };
    return undefined;
  },
  encode: () => false, // per message: see writeMpUnreach
  format: () => undefined,
};

/** Octets of the MP_REACH_NLRI value before the NLRI: AFI, SAFI, next-hop length, next hop(s), reserved. */
export function mpReachHeaderLength(block: ReachBlock): number {
  return 5 + nextHopLength(block);
}

function nextHopLength(block: ReachBlock): number {
  if (block.nextHop.includes(':')) return block.linkLocalNextHop === undefined ? 16 : 32;
  return 4;
}

/** Write the MP_REACH_NLRI value for `prefixes[from, to)` of `block`. */
export function writeMpReach(w: Writer, block: ReachBlock, from = 0, to = block.prefixes.length): void {
  w.u16(block.afi).u8(block.safi).u8(nextHopLength(block));
  if (block.nextHop.includes(':')) {
    w.bytes(parseIpv6(block.nextHop) ?? new Uint8Array(16));
    if (block.linkLocalNextHop !== undefined)
      w.bytes(parseIpv6(block.linkLocalNextHop) ?? new Uint8Array(16));
  } else {
    w.ipv4(block.nextHop);
  }
  w.u8(0); // Reserved
  for (let i = from; i < to; i++) writePrefix(w, block.prefixes[i]!);
}

/** Write the MP_UNREACH_NLRI value for `prefixes[from, to)` of `block`. */
export function writeMpUnreach(w: Writer, block: NlriBlock, from = 0, to = block.prefixes.length): void {
  w.u16(block.afi).u8(block.safi);
  for (let i = from; i < to; i++) writePrefix(w, block.prefixes[i]!);
}
