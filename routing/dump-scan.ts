/**
 * A route dump split into ours and the others: each of our routes as (prefix key, shared RouteShape) —
 * routes of the same content are decoded once — and the others of the main table and ours decoded (they
 * matter for next-hop resolution and are few). The bytes are read in place by netlink/route-scan.ts, in
 * pieces if asked (DumpScan.step), so a million routes need not be read in one event-loop turn.
 */
import type { RouteShape, ShapeTable } from './shape.js';
import { AF_INET, AF_INET6, encodeKey, type PrefixKey } from './prefix.js';
import { RouteMsg, decodeRoute } from './netlink/codec.js';
import { RT_TABLE_MAIN } from './netlink/constants.js';
import { RouteCursor, RouteScanner } from './netlink/route-scan.js';

export type OursFn = (key: PrefixKey, shape: RouteShape) => void;
export type OtherFn = (r: RouteMsg) => void;

/** Reads the whole dump now; returns how many routes it held. */
export function scanDump(
  datagrams: readonly Buffer[],
  owner: { protocol: number; table: number },
  shapes: ShapeTable,
  ours: OursFn,
  other: OtherFn,
): number {
  const scan = new DumpScan(datagrams, owner, shapes);
  scan.step(Infinity, ours, other);
  return scan.count;
}

export class DumpScan {
  private readonly scanner: RouteScanner;
  private readonly byContent = new Map<string, RouteShape>();
  /**
   * The content (prefix zeroed) and shape of the last route of ours: a dump lists routes of one content one
   * after another, so most are matched by a byte comparison, without a string per route.
   */
  private last: { content: Buffer; shape: RouteShape } | undefined;

  constructor(
    datagrams: readonly Buffer[],
    private readonly owner: { protocol: number; table: number },
    private readonly shapes: ShapeTable,
  ) {
    this.scanner = new RouteScanner(datagrams);
  }

  /** Routes read so far. */
  get count(): number {
    return this.scanner.count;
  }

  /** Reads up to `limit` more routes; true once the dump has been read to its end. */
  step(limit: number, ours: OursFn, other: OtherFn): boolean {
    const { protocol, table } = this.owner;
    return this.scanner.step(limit, (c: RouteCursor) => {
      if (c.protocol !== protocol || c.table !== table) {
        if (c.table === RT_TABLE_MAIN || c.table === table) other(decodeRoute(c.payload()));
        return;
      }
      if (c.family !== AF_INET && c.family !== AF_INET6) return;
      const key =
        c.family === AF_INET
          ? (c.dst >= 0 ? c.buf.readUInt32BE(c.dst) : 0) * 64 + c.dstLen
          : encodeKey(AF_INET6, c.dst >= 0 ? c.buf.subarray(c.dst, c.dst + 16) : Buffer.alloc(16), c.dstLen);
      if (this.last !== undefined && c.sameContent(this.last.content)) return ours(key, this.last.shape);
      const content = c.contentKey();
      let shape = this.byContent.get(content);
      if (shape === undefined)
        this.byContent.set(content, (shape = this.shapes.fromRoute(decodeRoute(c.payload()))));
      this.last = { content: c.content(), shape };
      ours(key, shape);
    });
  }
}
