/**
 * The rtnetlink codec: fixed headers declared as tables of `[field, type]` in the kernel's order and
 * names, attributes as `rtattr` TLVs (type → decoder). Everything is host byte order (little-endian on
 * every platform this runs on) except addresses, which are network order bytes.
 *
 *   nlmsghdr  | len u32 | type u16 | flags u16 | seq u32 | pid u32 |            16 bytes
 *   rtmsg     | family | dst_len | src_len | tos | table | protocol | scope | type | flags u32 |  12 bytes
 *   rtattr    | len u16 | type u16 | payload … padded to 4 |
 *   rtnexthop | len u16 | flags u8 | hops u8 | ifindex i32 | rtattrs … |    (inside RTA_MULTIPATH)
 *   rtvia     | family u16 | address … |                                      (RTA_VIA: a gateway of another family)
 *
 * A gateway of the route's own family is RTA_GATEWAY (the bare address); an IPv6 gateway of an IPv4 route
 * (RFC 8950, Linux ≥ 5.2) is RTA_VIA, at the top level or inside an rtnexthop alike.
 */
import { NLMSG_DONE, NLMSG_ERROR, RTA, IFA, IFLA, IF_OPER, NHA, AF_INET, AF_INET6 } from './constants.js';

type FieldType = 'u8' | 'u16' | 'u32' | 'i32';
export type StructDef = readonly (readonly [string, FieldType])[];
const SIZE: Record<FieldType, number> = { u8: 1, u16: 2, u32: 4, i32: 4 };

export const nlmsghdr = [
  ['nlmsg_len', 'u32'],
  ['nlmsg_type', 'u16'],
  ['nlmsg_flags', 'u16'],
  ['nlmsg_seq', 'u32'],
  ['nlmsg_pid', 'u32'],
] as const satisfies StructDef;
export const rtmsg = [
  ['rtm_family', 'u8'],
  ['rtm_dst_len', 'u8'],
  ['rtm_src_len', 'u8'],
  ['rtm_tos', 'u8'],
  ['rtm_table', 'u8'],
  ['rtm_protocol', 'u8'],
  ['rtm_scope', 'u8'],
  ['rtm_type', 'u8'],
  ['rtm_flags', 'u32'],
] as const satisfies StructDef;
export const ifaddrmsg = [
  ['ifa_family', 'u8'],
  ['ifa_prefixlen', 'u8'],
  ['ifa_flags', 'u8'],
  ['ifa_scope', 'u8'],
  ['ifa_index', 'u32'],
] as const satisfies StructDef;
export const ifinfomsg = [
  ['ifi_family', 'u8'],
  ['__ifi_pad', 'u8'],
  ['ifi_type', 'u16'],
  ['ifi_index', 'i32'],
  ['ifi_flags', 'u32'],
  ['ifi_change', 'u32'],
] as const satisfies StructDef;
export const rtnexthop = [
  ['rtnh_len', 'u16'],
  ['rtnh_flags', 'u8'],
  ['rtnh_hops', 'u8'],
  ['rtnh_ifindex', 'i32'],
] as const satisfies StructDef;
/** nexthop.h: struct nhmsg. */
export const nhmsg = [
  ['nh_family', 'u8'],
  ['nh_scope', 'u8'],
  ['nh_protocol', 'u8'],
  ['resvd', 'u8'],
  ['nh_flags', 'u32'],
] as const satisfies StructDef;
/** rtnetlink.h: struct rtvia (the address follows the family, 4 or 16 bytes). */
export const rtvia = [['rtvia_family', 'u16']] as const satisfies StructDef;
export const rtattr = [
  ['rta_len', 'u16'],
  ['rta_type', 'u16'],
] as const satisfies StructDef;

export type Struct<D extends StructDef> = { [K in D[number][0]]: number };

export function sizeOf(def: StructDef): number {
  return def.reduce((n, [, t]) => n + SIZE[t], 0);
}

/** The byte offset of `field` in a struct of `def` (for scanners that read one field in place). */
export function offsetOf<D extends StructDef>(def: D, field: D[number][0]): number {
  let off = 0;
  for (const [name, t] of def) {
    if (name === field) return off;
    off += SIZE[t];
  }
  throw new Error(`no field ${field}`);
}

export function readStruct<D extends StructDef>(def: D, buf: Buffer, off: number): Struct<D> {
  const out: Record<string, number> = {};
  for (const [name, t] of def) {
    out[name] =
      t === 'u8'
        ? buf[off]
        : t === 'u16'
          ? buf.readUInt16LE(off)
          : t === 'u32'
            ? buf.readUInt32LE(off)
            : buf.readInt32LE(off);
    off += SIZE[t];
  }
  return out as Struct<D>;
}

export function writeStruct<D extends StructDef>(def: D, v: Struct<D>, buf: Buffer, off: number): number {
  const vals = v as Record<string, number>;
  for (const [name, t] of def) {
    const x = vals[name] ?? 0;
    if (t === 'u8') buf[off] = x;
    else if (t === 'u16') buf.writeUInt16LE(x, off);
    else if (t === 'u32') buf.writeUInt32LE(x >>> 0, off);
    else buf.writeInt32LE(x, off);
    off += SIZE[t];
  }
  return off;
}

export const NLMSG_HDRLEN = sizeOf(nlmsghdr);
export const RTVIA_LEN = sizeOf(rtvia);
export const RTMSG_LEN = sizeOf(rtmsg);
export const align4 = (n: number): number => (n + 3) & ~3;

/** One netlink message inside a datagram: its header and a view of its payload. */
export interface NlMsg {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Buffer;
}

/** Split a datagram into messages. Truncated trailing bytes are ignored. */
export function splitMessages(buf: Buffer): NlMsg[] {
  const out: NlMsg[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const h = readStruct(nlmsghdr, buf, off);
    if (h.nlmsg_len < NLMSG_HDRLEN || off + h.nlmsg_len > buf.length) break;
    out.push({
      type: h.nlmsg_type,
      flags: h.nlmsg_flags,
      seq: h.nlmsg_seq,
      pid: h.nlmsg_pid,
      payload: buf.subarray(off + NLMSG_HDRLEN, off + h.nlmsg_len),
    });
    off += align4(h.nlmsg_len);
  }
  return out;
}

/** rtattrs of a payload from `off` on, as type → value view (last one wins; nested flag bit cleared). */
export function parseAttrs(buf: Buffer, off: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) break;
    out.set(buf.readUInt16LE(off + 2) & 0x3fff, buf.subarray(off + 4, off + len));
    off += align4(len);
  }
  return out;
}

/** NLMSG_ERROR payload: `struct nlmsgerr { int error; struct nlmsghdr msg; }`; error 0 is an ack. */
export function decodeError(m: NlMsg): { errno: number; seq: number } {
  if (m.type !== NLMSG_ERROR || m.payload.length < 4) return { errno: 0, seq: m.seq };
  const error = m.payload.readInt32LE(0);
  return { errno: -error, seq: m.seq };
}

/**
 * A next hop of a route: a gateway (4 or 16 bytes) and/or an output interface. The gateway's length is its
 * family: a 16-byte gateway of an IPv4 route is an IPv6 one (RFC 8950), written and read as RTA_VIA.
 */
export interface RouteNexthop {
  gateway?: Buffer;
  oif: number;
  flags: number;
  hops: number;
}

/** An rtmsg with the attributes nodebgp reads and writes. */
export interface RouteMsg {
  family: number;
  dstLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
  dst?: Buffer;
  priority?: number;
  prefsrc?: Buffer;
  /** RTA_NH_ID: the route uses this nexthop object (the kernel also reports its next hops, for compatibility). */
  nhid?: number;
  /** One entry for a single-path route (RTA_GATEWAY/RTA_OIF), several for RTA_MULTIPATH. */
  nexthops: RouteNexthop[];
}

export interface AddrMsg {
  family: number;
  prefixLen: number;
  scope: number;
  index: number;
  address?: Buffer;
  local?: Buffer;
}

export interface LinkMsg {
  index: number;
  flags: number;
  name?: string;
  operstate?: string;
}

/** The address family of a gateway (by its length), or `routeFamily` without one. */
export function gatewayFamily(routeFamily: number, gateway: Uint8Array | undefined): number {
  if (gateway === undefined) return routeFamily;
  return gateway.length === 16 ? AF_INET6 : AF_INET;
}

/** RTA_VIA's value: the address of a family the kernel knows (IPv4 or IPv6), else undefined. */
export function decodeVia(v: Buffer): Buffer | undefined {
  if (v.length < RTVIA_LEN) return undefined;
  const { rtvia_family: family } = readStruct(rtvia, v, 0);
  const len = family === AF_INET ? 4 : family === AF_INET6 ? 16 : 0;
  if (len === 0 || v.length < RTVIA_LEN + len) return undefined;
  return Buffer.from(v.subarray(RTVIA_LEN, RTVIA_LEN + len));
}

function decodeMultipath(v: Buffer): RouteNexthop[] {
  const out: RouteNexthop[] = [];
  let off = 0;
  while (off + 8 <= v.length) {
    const h = readStruct(rtnexthop, v, off);
    if (h.rtnh_len < 8 || off + h.rtnh_len > v.length) break;
    const attrs = parseAttrs(v.subarray(off, off + h.rtnh_len), 8);
    const via = attrs.get(RTA.RTA_VIA);
    const gw = attrs.get(RTA.RTA_GATEWAY) ?? (via ? decodeVia(via) : undefined);
    out.push({
      oif: h.rtnh_ifindex,
      flags: h.rtnh_flags,
      hops: h.rtnh_hops,
      ...(gw ? { gateway: Buffer.from(gw) } : {}),
    });
    off += align4(h.rtnh_len);
  }
  return out;
}

/** Decode an RTM_NEWROUTE/RTM_DELROUTE payload (rtmsg + attributes). One pass, no intermediate map. */
export function decodeRoute(payload: Buffer): RouteMsg {
  const h = readStruct(rtmsg, payload, 0);
  const r: RouteMsg = {
    family: h.rtm_family,
    dstLen: h.rtm_dst_len,
    tos: h.rtm_tos,
    table: h.rtm_table,
    protocol: h.rtm_protocol,
    scope: h.rtm_scope,
    type: h.rtm_type,
    flags: h.rtm_flags,
    nexthops: [],
  };
  let gw: Buffer | undefined;
  let oif: number | undefined;
  for (let off = RTMSG_LEN; off + 4 <= payload.length; ) {
    const len = payload.readUInt16LE(off);
    if (len < 4 || off + len > payload.length) break;
    const type = payload.readUInt16LE(off + 2) & 0x3fff;
    const v = payload.subarray(off + 4, off + len);
    // A u32 attribute too short for its value is skipped, not read past its end.
    const u32 = v.length >= 4;
    switch (type) {
      case RTA.RTA_DST:
        r.dst = Buffer.from(v);
        break;
      case RTA.RTA_GATEWAY:
        gw = Buffer.from(v);
        break;
      case RTA.RTA_VIA:
        gw ??= decodeVia(v);
        break;
      case RTA.RTA_OIF:
        if (u32) oif = v.readUInt32LE(0);
        break;
      case RTA.RTA_PRIORITY:
        if (u32) r.priority = v.readUInt32LE(0);
        break;
      case RTA.RTA_TABLE:
        if (u32) r.table = v.readUInt32LE(0);
        break;
      case RTA.RTA_PREFSRC:
        r.prefsrc = Buffer.from(v);
        break;
      case RTA.RTA_MULTIPATH:
        r.nexthops = decodeMultipath(v);
        break;
      case RTA.RTA_NH_ID:
        if (u32) r.nhid = v.readUInt32LE(0);
        break;
    }
    off += align4(len);
  }
  if (!r.nexthops.length && (gw || oif !== undefined))
    r.nexthops = [{ oif: oif ?? 0, flags: h.rtm_flags & 0xff, hops: 0, ...(gw ? { gateway: gw } : {}) }];
  return r;
}

/** A nexthop object (RTM_NEWNEXTHOP): one gateway/device, a blackhole, or a group (not read: we make none). */
export interface NexthopMsg {
  id: number;
  family: number;
  protocol: number;
  oif: number;
  gateway?: Buffer;
  blackhole: boolean;
  group: boolean;
}

export function decodeNexthop(payload: Buffer): NexthopMsg {
  const h = readStruct(nhmsg, payload, 0);
  const a = parseAttrs(payload, sizeOf(nhmsg));
  const gw = a.get(NHA.NHA_GATEWAY);
  const oif = a.get(NHA.NHA_OIF);
  const id = a.get(NHA.NHA_ID);
  return {
    id: id && id.length >= 4 ? id.readUInt32LE(0) : 0,
    family: h.nh_family,
    protocol: h.nh_protocol,
    oif: oif && oif.length >= 4 ? oif.readUInt32LE(0) : 0,
    ...(gw ? { gateway: Buffer.from(gw) } : {}),
    blackhole: a.has(NHA.NHA_BLACKHOLE),
    group: a.has(NHA.NHA_GROUP),
  };
}

export function decodeAddr(payload: Buffer): AddrMsg {
  const h = readStruct(ifaddrmsg, payload, 0);
  const a = parseAttrs(payload, sizeOf(ifaddrmsg));
  const r: AddrMsg = {
    family: h.ifa_family,
    prefixLen: h.ifa_prefixlen,
    scope: h.ifa_scope,
    index: h.ifa_index,
  };
  const addr = a.get(IFA.IFA_ADDRESS);
  const local = a.get(IFA.IFA_LOCAL);
  if (addr) r.address = Buffer.from(addr);
  if (local) r.local = Buffer.from(local);
  return r;
}

export function decodeLink(payload: Buffer): LinkMsg {
  const h = readStruct(ifinfomsg, payload, 0);
  const a = parseAttrs(payload, sizeOf(ifinfomsg));
  const r: LinkMsg = { index: h.ifi_index, flags: h.ifi_flags };
  const name = a.get(IFLA.IFLA_IFNAME);
  if (name) r.name = name.toString('latin1').replace(/\0.*$/s, '');
  const op = a.get(IFLA.IFLA_OPERSTATE);
  if (op) r.operstate = IF_OPER[op[0]] ?? String(op[0]);
  return r;
}

/**
 * Calls `fn(type, buf, off, len)` for every message in `datagrams` (off/len: the whole message, header
 * included). A buffer may hold several datagrams back to back (a dump's, as channel.ts packs them).
 * NLMSG_DONE and NLMSG_ERROR are skipped.
 */
export function forEachMessage(
  datagrams: readonly Buffer[],
  fn: (type: number, buf: Buffer, off: number, len: number) => void,
): void {
  for (const buf of datagrams) {
    for (let off = 0; off + NLMSG_HDRLEN <= buf.length; ) {
      const len = buf.readUInt32LE(off);
      if (len < NLMSG_HDRLEN || off + len > buf.length) break;
      const type = buf.readUInt16LE(off + 4);
      if (type !== NLMSG_DONE && type !== NLMSG_ERROR) fn(type, buf, off, len);
      off += align4(len);
    }
  }
}

/** Every message of a dump's buffers (see forEachMessage), as NlMsg views. */
export function dumpMessages(datagrams: readonly Buffer[]): NlMsg[] {
  const out: NlMsg[] = [];
  forEachMessage(datagrams, (type, buf, off, len) =>
    out.push({
      type,
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    }),
  );
  return out;
}
