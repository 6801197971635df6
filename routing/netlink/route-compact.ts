/**
 * A route dump made small as it is read: our routes as (prefix key, content number) pairs in typed arrays, each
 * distinct content once (the route's bytes with its prefix zeroed, see route-scan.ts), and the other programs'
 * routes of the tables that matter as their bytes. A million routes of ours are ~12 bytes each here instead of
 * the ~80–100 bytes of their datagrams, and the datagrams are never held: the writer thread compacts each one
 * as it arrives (RtnlChannel.dump's sink), so a resync no longer holds the whole table's dump in memory.
 */
import { AF_INET, AF_INET6, encodeKey } from '../prefix.js';
import { RT_TABLE_MAIN } from './constants.js';
import { RouteScanner, type RouteCursor } from './route-scan.js';

/** The compacted dump (structured-clonable; keys4/content4's buffers may be transferred). */
export interface CompactRoutes {
  kind: 'compact';
  /** Routes the dump held (ours and others'). */
  count: number;
  /** IPv4 routes of ours: key (address * 64 + length) and content number, `n4` of them. */
  keys4: Float64Array;
  content4: Uint32Array;
  n4: number;
  /** IPv6 routes of ours: key (encodeKey's string) and content number. */
  keys6: string[];
  content6: number[];
  /** Each distinct content of ours: rtmsg and attributes, RTA_DST and RTA_CACHEINFO zeroed. */
  contents: Uint8Array[];
  /** The other programs' routes of the main table and ours: rtmsg and attributes. */
  others: Uint8Array[];
}

export interface DumpSink {
  /** One datagram of the dump (a view of a buffer reused by the next read). */
  datagram(buf: Buffer): void;
  /** The dump starts over (it was interrupted): forget what was seen. */
  reset(): void;
}

/** Compacts the datagrams of one RTM_GETROUTE dump (the sink of RtnlChannel.dump). */
export class RouteCompactor implements DumpSink {
  private r!: CompactRoutes;
  private byContent = new Map<string, number>();
  private last: Buffer | undefined;
  private lastId = 0;

  constructor(private readonly owner: { protocol: number; table: number }) {
    this.reset();
  }

  reset(): void {
    this.r = {
      kind: 'compact',
      count: 0,
      keys4: new Float64Array(1024),
      content4: new Uint32Array(1024),
      n4: 0,
      keys6: [],
      content6: [],
      contents: [],
      others: [],
    };
    this.byContent = new Map();
    this.last = undefined;
  }

  datagram(buf: Buffer): void {
    const scan = new RouteScanner([buf]);
    scan.step(Infinity, (c) => this.route(c));
    this.r.count += scan.count;
  }

  /** What was compacted (keys4 and content4 hold n4 entries; they are not copied to cut them). */
  result(): CompactRoutes {
    return this.r;
  }

  private route(c: RouteCursor): void {
    const { protocol, table } = this.owner;
    const r = this.r;
    if (c.protocol !== protocol || c.table !== table) {
      if (c.table === RT_TABLE_MAIN || c.table === table) r.others.push(Buffer.from(c.payload()));
      return;
    }
    if (c.family !== AF_INET && c.family !== AF_INET6) return;
    const v4 = c.family === AF_INET ? (c.dst >= 0 ? c.buf.readUInt32BE(c.dst) : 0) * 64 + c.dstLen : 0;
    const v6 =
      c.family === AF_INET6
        ? (encodeKey(
            AF_INET6,
            c.dst >= 0 ? c.buf.subarray(c.dst, c.dst + 16) : Buffer.alloc(16),
            c.dstLen,
          ) as string)
        : '';
    let id: number;
    if (this.last !== undefined && c.sameContent(this.last)) id = this.lastId;
    else {
      const key = c.contentKey();
      const known = this.byContent.get(key);
      if (known === undefined) {
        id = r.contents.length;
        r.contents.push(Buffer.from(c.payload()));
        this.byContent.set(key, id);
      } else id = known;
      this.last = c.content();
      this.lastId = id;
    }
    if (c.family === AF_INET6) {
      r.keys6.push(v6);
      r.content6.push(id);
      return;
    }
    if (r.n4 === r.keys4.length) {
      const k = new Float64Array(r.n4 * 2);
      k.set(r.keys4);
      const n = new Uint32Array(r.n4 * 2);
      n.set(r.content4);
      r.keys4 = k;
      r.content4 = n;
    }
    r.keys4[r.n4] = v4;
    r.content4[r.n4] = id;
    r.n4++;
  }
}
