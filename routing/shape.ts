/**
 * A route's content apart from its prefix: type, metric and next hops. A million pod routes learned from two
 * top-of-rack routers have two or three shapes, so the FIB mirror keeps one shared RouteShape per content
 * instead of a message per route, and compares content by reference.
 *
 * A shape keeps its attributes pre-encoded. Writing a route is then a header, the prefix and one copy:
 *
 *   nlmsghdr | rtmsg | RTA_DST <prefix> | tail = RTA_TABLE, RTA_PRIORITY, RTA_GATEWAY + RTA_OIF or RTA_MULTIPATH
 *
 * (RTA_VIA instead of RTA_GATEWAY for an IPv6 gateway of an IPv4 route, RFC 8950.)
 *
 * With a nexthop object (nexthops.ts) the tail is RTA_TABLE, RTA_PRIORITY, RTA_NH_ID.
 *
 * A deletion carries RTA_TABLE and RTA_PRIORITY but no next hops, with rtm_scope RT_SCOPE_NOWHERE: it removes
 * our route at that prefix and metric whatever its next hops became (`ip route del PREFIX proto 202 metric M`).
 */
import { RouteMsg, RouteNexthop, NLMSG_HDRLEN, RTMSG_LEN, gatewayFamily } from './netlink/codec.js';
import { writeRouteMsg, writeNexthopMsg } from './netlink/encode.js';
import { RTA, RTM, RT_SCOPE } from './netlink/constants.js';
import { AF_INET, PrefixKey, decodeKey } from './prefix.js';

export class RouteShape {
  constructor(
    /** A small number, unique among the live shapes of its table (the mirror's columns hold it). */
    readonly id: number,
    readonly family: number,
    readonly type: number,
    readonly priority: number,
    readonly nexthops: readonly RouteNexthop[],
    /** The nexthop object the route names (RTA_NH_ID), or 0: the next hops are in the route itself. */
    readonly nhid: number,
    /** `family|type|metric|gateway@oif,…[#nhid]` (next hops sorted): equal content, equal signature. */
    readonly sig: string,
    /** The attributes after RTA_DST of an RTM_NEWROUTE. */
    readonly tail: Buffer,
    /** The attributes after RTA_DST of an RTM_DELROUTE. */
    readonly delTail: Buffer,
  ) {}

  /** Bytes one message of this shape needs at most (header, rtmsg, RTA_DST of an IPv6 prefix, tail). */
  get maxLen(): number {
    return NLMSG_HDRLEN + RTMSG_LEN + 20 + this.tail.length;
  }
}

function nexthopSig(n: RouteNexthop): string {
  return `${n.gateway ? n.gateway.toString('hex') : ''}@${n.oif}`;
}

/** The interned shapes of one FIB: one table, one protocol. */
export class ShapeTable {
  private readonly shapes = new Map<string, RouteShape>();
  /** Shapes by id (0: none). */
  private readonly byId: (RouteShape | undefined)[] = [undefined];
  private readonly freeIds: number[] = [];

  constructor(
    private readonly table: number,
    private readonly protocol: number,
  ) {}

  /** The shape with this content (created once, then shared). */
  get(
    family: number,
    type: number,
    priority: number,
    nexthops: readonly RouteNexthop[],
    nhid = 0,
  ): RouteShape {
    const nh = nexthops.length === 1 ? nexthopSig(nexthops[0]) : nexthops.map(nexthopSig).sort().join(',');
    const sig = `${family}|${type}|${priority}|${nh}${nhid ? `#${nhid}` : ''}`;
    let s = this.shapes.get(sig);
    if (s === undefined) {
      const id = this.freeIds.pop() ?? this.byId.length;
      s = new RouteShape(
        id,
        family,
        type,
        priority,
        nexthops,
        nhid,
        sig,
        this.encodeTail(family, type, priority, nexthops, nhid),
        this.encodeTail(family, type, priority, [], 0),
      );
      this.shapes.set(sig, s);
      this.byId[id] = s;
    }
    return s;
  }

  /** The live shape with this id. */
  byNumber(id: number): RouteShape {
    const s = this.byId[id];
    if (s === undefined) throw new Error(`no route shape ${id}`);
    return s;
  }

  /** The shape of a route read back from the kernel. */
  fromRoute(r: RouteMsg): RouteShape {
    return this.get(r.family, r.type, r.priority ?? 0, r.nexthops, r.nhid ?? 0);
  }

  /**
   * Write the RTM_NEWNEXTHOP (or RTM_DELNEXTHOP) of `shape`'s nexthop object; at most 60 bytes. The object's
   * family is its gateway's: an IPv4 route through an IPv6 gateway (RFC 8950) names an IPv6 object.
   */
  writeNexthop(
    buf: Buffer,
    off: number,
    msgType: number,
    flags: number,
    seq: number,
    shape: RouteShape,
  ): number {
    const nh = shape.nexthops[0];
    return writeNexthopMsg(buf, off, msgType, flags, seq, {
      id: shape.nhid,
      family: gatewayFamily(shape.family, nh.gateway),
      protocol: this.protocol,
      oif: nh.oif,
      gateway: nh.gateway,
    });
  }

  get size(): number {
    return this.shapes.size;
  }

  /** Forget shapes no route refers to any more (`inUse` is the set still referenced). */
  retain(inUse: ReadonlySet<RouteShape>): void {
    for (const [sig, s] of this.shapes)
      if (!inUse.has(s)) {
        this.shapes.delete(sig);
        this.byId[s.id] = undefined;
        this.freeIds.push(s.id);
      }
  }

  private encodeTail(
    family: number,
    type: number,
    priority: number,
    nexthops: readonly RouteNexthop[],
    nhid: number,
  ): Buffer {
    const r: RouteMsg = {
      family,
      dstLen: 0,
      tos: 0,
      table: this.table,
      protocol: this.protocol,
      scope: RT_SCOPE.RT_SCOPE_UNIVERSE,
      type,
      flags: 0,
      priority,
      nexthops: [...nexthops],
      ...(nhid ? { nhid } : {}),
    };
    const buf = Buffer.alloc(256 + nexthops.length * 32);
    const end = writeRouteMsg(buf, 0, RTM.RTM_NEWROUTE, 0, 0, r);
    return Buffer.from(buf.subarray(NLMSG_HDRLEN + RTMSG_LEN, end));
  }

  /**
   * Write one RTM_NEWROUTE or RTM_DELROUTE for `key` with `shape` at `off` (`shape.maxLen` bytes must be
   * free); returns the end offset.
   */
  write(
    buf: Buffer,
    off: number,
    msgType: number,
    flags: number,
    seq: number,
    key: PrefixKey,
    shape: RouteShape,
  ): number {
    const start = off;
    const del = msgType === RTM.RTM_DELROUTE;
    let dstLen: number;
    let addr: Uint8Array | undefined;
    let v4 = 0;
    if (typeof key === 'number') {
      v4 = Math.floor(key / 64);
      dstLen = key - v4 * 64;
    } else {
      const p = decodeKey(key);
      dstLen = p.len;
      addr = p.addr;
    }
    // Byte stores rather than Buffer.write*: this runs for every route, and those check their arguments.
    // nlmsghdr: length (patched below), type, flags, sequence, port 0 (the kernel fills in ours).
    buf[off + 4] = msgType & 0xff;
    buf[off + 5] = msgType >>> 8;
    buf[off + 6] = flags & 0xff;
    buf[off + 7] = flags >>> 8;
    buf[off + 8] = seq & 0xff;
    buf[off + 9] = (seq >>> 8) & 0xff;
    buf[off + 10] = (seq >>> 16) & 0xff;
    buf[off + 11] = seq >>> 24;
    buf[off + 12] = buf[off + 13] = buf[off + 14] = buf[off + 15] = 0;
    off += NLMSG_HDRLEN;
    // rtmsg
    buf[off] = shape.family;
    buf[off + 1] = dstLen;
    buf[off + 2] = 0; // rtm_src_len
    buf[off + 3] = 0; // rtm_tos
    buf[off + 4] = this.table < 256 ? this.table : 252; // RT_TABLE_COMPAT; the real one is in RTA_TABLE
    buf[off + 5] = this.protocol;
    buf[off + 6] = del ? RT_SCOPE.RT_SCOPE_NOWHERE : RT_SCOPE.RT_SCOPE_UNIVERSE;
    buf[off + 7] = shape.type;
    buf[off + 8] = buf[off + 9] = buf[off + 10] = buf[off + 11] = 0; // rtm_flags
    off += RTMSG_LEN;
    if (dstLen > 0) {
      const alen = shape.family === AF_INET ? 4 : 16;
      buf[off] = 4 + alen;
      buf[off + 1] = 0;
      buf[off + 2] = RTA.RTA_DST;
      buf[off + 3] = 0;
      if (addr) buf.set(addr, off + 4);
      else {
        buf[off + 4] = v4 >>> 24;
        buf[off + 5] = (v4 >>> 16) & 0xff;
        buf[off + 6] = (v4 >>> 8) & 0xff;
        buf[off + 7] = v4 & 0xff;
      }
      off += 4 + alen;
    }
    const tail = del ? shape.delTail : shape.tail;
    if (tail.length <= 32) for (let i = 0; i < tail.length; i++) buf[off + i] = tail[i];
    else buf.set(tail, off);
    off += tail.length;
    const len = off - start;
    buf[start] = len & 0xff;
    buf[start + 1] = (len >>> 8) & 0xff;
    buf[start + 2] = buf[start + 3] = 0;
    return off;
  }
}
