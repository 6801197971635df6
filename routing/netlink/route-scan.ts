/**
 * A route dump read in place: a million routes are visited without a million objects. The fields are read
 * at the offsets the codec's declarative tables give (`rtmsg`, `rtattr`), so this file and codec.ts cannot
 * disagree on the layout; decodeRoute() is the slow path for the routes that need all their attributes.
 *
 * For each RTM_NEWROUTE the cursor says family, prefix length, table (RTA_TABLE over the u8 rtm_table),
 * protocol, type and where RTA_DST is. RTA_CACHEINFO (counters that change every second, not content) is
 * zeroed in place, so two routes of the same content differ only in their RTA_DST bytes: `contentKey()`
 * zeroes those too and returns the message's bytes as a string, the same for every route of that content.
 */
import { NLMSG_HDRLEN, RTMSG_LEN, align4, offsetOf, rtattr, rtmsg } from './codec.js';
import { RTA, RTM } from './constants.js';

const FAMILY = offsetOf(rtmsg, 'rtm_family');
const DST_LEN = offsetOf(rtmsg, 'rtm_dst_len');
const TABLE = offsetOf(rtmsg, 'rtm_table');
const PROTOCOL = offsetOf(rtmsg, 'rtm_protocol');
const TYPE = offsetOf(rtmsg, 'rtm_type');
const RTA_LEN = offsetOf(rtattr, 'rta_len');
const RTA_TYPE = offsetOf(rtattr, 'rta_type');
const RTA_HDRLEN = 4;
/** rta_type bits that are flags, not the type (NLA_F_NESTED, NLA_F_NET_BYTEORDER). */
const RTA_TYPE_MASK = 0x3fff;

/** One route of a dump, valid during the visit only (the cursor is reused). */
export class RouteCursor {
  buf: Buffer = Buffer.alloc(0);
  /** The rtmsg's first byte and the message's end. */
  start = 0;
  end = 0;
  family = 0;
  dstLen = 0;
  table = 0;
  protocol = 0;
  type = 0;
  /** Offset of RTA_DST's value, or -1 (a default route has none). */
  dst = -1;

  /** The rtmsg and its attributes (for decodeRoute). */
  payload(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }

  /** The route's bytes with its prefix zeroed: equal for routes of equal content. Zeroes RTA_DST in place. */
  contentKey(): string {
    this.zeroDst();
    return this.buf.toString('latin1', this.start, this.end);
  }

  /** The route's bytes with its prefix zeroed are `content`'s (no string made). Zeroes RTA_DST in place. */
  sameContent(content: Buffer): boolean {
    this.zeroDst();
    return this.end - this.start === content.length && content.compare(this.buf, this.start, this.end) === 0;
  }

  /** A copy of the route's bytes with its prefix zeroed. */
  content(): Buffer {
    this.zeroDst();
    return Buffer.from(this.buf.subarray(this.start, this.end));
  }

  private zeroDst(): void {
    if (this.dst >= 0) this.buf.fill(0, this.dst, this.dst + (this.family === 2 ? 4 : 16));
  }
}

/** Calls `visit` for every RTM_NEWROUTE of a dump (buffers of whole datagrams, see forEachMessage). */
export function scanRoutes(datagrams: readonly Buffer[], visit: (r: RouteCursor) => void): number {
  const scan = new RouteScanner(datagrams);
  scan.step(Infinity, visit);
  return scan.count;
}

/**
 * scanRoutes in pieces: each step() visits up to `limit` more routes, so a million-route dump can be read a
 * few thousand routes per event-loop turn while the sessions go on.
 */
export class RouteScanner {
  /** Routes visited so far. */
  count = 0;
  private i = 0;
  private off = 0;
  private readonly c = new RouteCursor();

  constructor(private readonly datagrams: readonly Buffer[]) {}

  /** Visits up to `limit` routes; true once the dump has been read to its end. */
  step(limit: number, visit: (r: RouteCursor) => void): boolean {
    const c = this.c;
    let n = 0;
    for (; this.i < this.datagrams.length; this.i++, this.off = 0) {
      const buf = this.datagrams[this.i];
      while (this.off + NLMSG_HDRLEN <= buf.length) {
        if (n >= limit) return false;
        const off = this.off;
        const len = buf.readUInt32LE(off);
        if (len < NLMSG_HDRLEN || off + len > buf.length) break;
        this.off += align4(len);
        if (buf.readUInt16LE(off + 4) !== RTM.RTM_NEWROUTE || !read(c, buf, off, len)) continue;
        n++;
        this.count++;
        visit(c);
      }
    }
    return true;
  }
}

/** Points the cursor at the route message at `off`; false if it is too short to be one. */
function read(c: RouteCursor, buf: Buffer, off: number, len: number): boolean {
  const p = off + NLMSG_HDRLEN;
  const end = off + len;
  if (end - p < RTMSG_LEN) return false;
  c.buf = buf;
  c.start = p;
  c.end = end;
  c.family = buf[p + FAMILY];
  c.dstLen = buf[p + DST_LEN];
  c.table = buf[p + TABLE];
  c.protocol = buf[p + PROTOCOL];
  c.type = buf[p + TYPE];
  c.dst = -1;
  for (let a = p + RTMSG_LEN; a + RTA_HDRLEN <= end; ) {
    const alen = buf.readUInt16LE(a + RTA_LEN);
    if (alen < RTA_HDRLEN || a + alen > end) break;
    const at = buf.readUInt16LE(a + RTA_TYPE) & RTA_TYPE_MASK;
    if (at === RTA.RTA_DST) c.dst = a + RTA_HDRLEN;
    else if (at === RTA.RTA_TABLE && alen >= RTA_HDRLEN + 4) c.table = buf.readUInt32LE(a + RTA_HDRLEN);
    else if (at === RTA.RTA_CACHEINFO) buf.fill(0, a + RTA_HDRLEN, a + alen);
    a += (alen + 3) & ~3;
  }
  return true;
}
