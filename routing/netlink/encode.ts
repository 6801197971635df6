/**
 * Encoders for the requests nodebgp sends. Lengths are back-patched: a message is written in place into a
 * batch buffer, then its nlmsghdr.nlmsg_len (and each rtattr/rtnexthop length) is filled in at the end.
 */
import {
  RouteMsg,
  nlmsghdr,
  rtmsg,
  rtnexthop,
  ifinfomsg,
  ifaddrmsg,
  nhmsg,
  writeStruct,
  align4,
  NLMSG_HDRLEN,
  sizeOf,
  gatewayFamily,
  rtvia,
  RTVIA_LEN,
} from './codec.js';
import { RTA, RTM, NHA, NLM_F_REQUEST, NLM_F_DUMP } from './constants.js';

/** Bytes a route message needs at most (header, rtmsg, fixed attributes, 32-byte next hops). */
export function routeMsgMaxLen(r: RouteMsg): number {
  return 16 + 12 + 20 + 8 + 8 + 20 + 8 + 20 + 4 + r.nexthops.length * 32;
}

function attr(buf: Buffer, off: number, type: number, value: Uint8Array): number {
  buf.writeUInt16LE(4 + value.length, off);
  buf.writeUInt16LE(type, off + 2);
  buf.set(value, off + 4);
  const end = off + 4 + value.length;
  buf.fill(0, end, align4(end));
  return align4(end);
}

function attrU32(buf: Buffer, off: number, type: number, value: number): number {
  buf.writeUInt16LE(8, off);
  buf.writeUInt16LE(type, off + 2);
  buf.writeUInt32LE(value >>> 0, off + 4);
  return off + 8;
}

/** A gateway of the route's family as RTA_GATEWAY; one of the other family as RTA_VIA (struct rtvia). */
function gatewayAttr(buf: Buffer, off: number, routeFamily: number, gw: Uint8Array): number {
  const family = gatewayFamily(routeFamily, gw);
  if (family === routeFamily) return attr(buf, off, RTA.RTA_GATEWAY, gw);
  const start = off;
  off = writeStruct(rtvia, { rtvia_family: family }, buf, off + 4);
  buf.set(gw, off);
  const end = start + 4 + RTVIA_LEN + gw.length;
  buf.writeUInt16LE(end - start, start);
  buf.writeUInt16LE(RTA.RTA_VIA, start + 2);
  buf.fill(0, end, align4(end));
  return align4(end);
}

function writeMultipath(buf: Buffer, off: number, r: RouteMsg): number {
  const start = off;
  off += 4;
  for (const nh of r.nexthops) {
    const nhStart = off;
    off = writeStruct(
      rtnexthop,
      { rtnh_len: 0, rtnh_flags: nh.flags, rtnh_hops: nh.hops, rtnh_ifindex: nh.oif },
      buf,
      off,
    );
    if (nh.gateway) off = gatewayAttr(buf, off, r.family, nh.gateway);
    buf.writeUInt16LE(off - nhStart, nhStart);
  }
  buf.writeUInt16LE(off - start, start);
  buf.writeUInt16LE(RTA.RTA_MULTIPATH, start + 2);
  return off;
}

/**
 * Write one RTM_NEWROUTE / RTM_DELROUTE at `off`; returns the end offset. The caller makes sure
 * `routeMsgMaxLen(r)` bytes are free. Attributes: RTA_DST, RTA_TABLE, RTA_PRIORITY, then RTA_NH_ID (a
 * nexthop object), or RTA_GATEWAY + RTA_OIF (one next hop), or RTA_MULTIPATH (several). An IPv6 gateway of
 * an IPv4 route is RTA_VIA instead of RTA_GATEWAY (RFC 8950).
 */
export function writeRouteMsg(
  buf: Buffer,
  off: number,
  msgType: number,
  flags: number,
  seq: number,
  r: RouteMsg,
): number {
  const start = off;
  off = writeStruct(
    nlmsghdr,
    { nlmsg_len: 0, nlmsg_type: msgType, nlmsg_flags: flags, nlmsg_seq: seq, nlmsg_pid: 0 },
    buf,
    off,
  );
  off = writeStruct(
    rtmsg,
    {
      rtm_family: r.family,
      rtm_dst_len: r.dstLen,
      rtm_src_len: 0,
      rtm_tos: r.tos,
      rtm_table: r.table < 256 ? r.table : 252,
      rtm_protocol: r.protocol,
      rtm_scope: r.scope,
      rtm_type: r.type,
      rtm_flags: r.flags,
    },
    buf,
    off,
  );
  if (r.dst && r.dstLen > 0) off = attr(buf, off, RTA.RTA_DST, r.dst);
  off = attrU32(buf, off, RTA.RTA_TABLE, r.table);
  if (r.priority !== undefined) off = attrU32(buf, off, RTA.RTA_PRIORITY, r.priority);
  if (r.prefsrc) off = attr(buf, off, RTA.RTA_PREFSRC, r.prefsrc);
  if (r.nhid) {
    off = attrU32(buf, off, RTA.RTA_NH_ID, r.nhid);
  } else if (r.nexthops.length === 1) {
    const nh = r.nexthops[0];
    if (nh.gateway) off = gatewayAttr(buf, off, r.family, nh.gateway);
    if (nh.oif) off = attrU32(buf, off, RTA.RTA_OIF, nh.oif);
  } else if (r.nexthops.length > 1) {
    off = writeMultipath(buf, off, r);
  }
  buf.writeUInt32LE(off - start, start);
  return off;
}

/** A whole standalone route message (tests, single writes). */
export function encodeRouteMsg(msgType: number, flags: number, seq: number, r: RouteMsg): Buffer {
  const buf = Buffer.alloc(routeMsgMaxLen(r));
  return buf.subarray(0, writeRouteMsg(buf, 0, msgType, flags, seq, r));
}

/**
 * RTM_NEWNEXTHOP (`ip nexthop add id ID via GW dev OIF proto P`, NLM_F_CREATE|NLM_F_EXCL from the caller)
 * or RTM_DELNEXTHOP (`ip nexthop del id ID`; only the id is needed). Returns the end offset; at most 60 bytes.
 */
export function writeNexthopMsg(
  buf: Buffer,
  off: number,
  msgType: number,
  flags: number,
  seq: number,
  nh: {
    id: number;
    family: number;
    protocol: number;
    oif: number;
    gateway?: Uint8Array;
    blackhole?: boolean;
  },
): number {
  const start = off;
  off = writeStruct(
    nlmsghdr,
    { nlmsg_len: 0, nlmsg_type: msgType, nlmsg_flags: flags, nlmsg_seq: seq, nlmsg_pid: 0 },
    buf,
    off,
  );
  // A deletion's header must be all zero but the family (the kernel refuses a protocol there: EINVAL).
  const create = msgType === RTM.RTM_NEWNEXTHOP;
  off = writeStruct(
    nhmsg,
    { nh_family: nh.family, nh_scope: 0, nh_protocol: create ? nh.protocol : 0, resvd: 0, nh_flags: 0 },
    buf,
    off,
  );
  off = attrU32(buf, off, NHA.NHA_ID, nh.id);
  if (msgType === RTM.RTM_NEWNEXTHOP && nh.blackhole) {
    buf.writeUInt16LE(4, off);
    buf.writeUInt16LE(NHA.NHA_BLACKHOLE, off + 2);
    off += 4;
  } else if (msgType === RTM.RTM_NEWNEXTHOP) {
    off = attrU32(buf, off, NHA.NHA_OIF, nh.oif);
    if (nh.gateway) off = attr(buf, off, NHA.NHA_GATEWAY, nh.gateway);
  }
  buf.writeUInt32LE(off - start, start);
  return off;
}

/** A dump request: `ip route show table all` = RTM_GETROUTE + NLM_F_REQUEST|NLM_F_DUMP with an rtmsg (family). */
export function encodeDumpRequest(msgType: number, family: number, seq: number): Buffer {
  const body =
    msgType === 18 ? ifinfomsg : msgType === 22 ? ifaddrmsg : msgType === RTM.RTM_GETNEXTHOP ? nhmsg : rtmsg;
  const len = NLMSG_HDRLEN + sizeOf(body);
  const buf = Buffer.alloc(len);
  writeStruct(
    nlmsghdr,
    {
      nlmsg_len: len,
      nlmsg_type: msgType,
      nlmsg_flags: NLM_F_REQUEST | NLM_F_DUMP,
      nlmsg_seq: seq,
      nlmsg_pid: 0,
    },
    buf,
    0,
  );
  buf[NLMSG_HDRLEN] = family;
  return buf;
}
