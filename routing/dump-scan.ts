/**
 * A route dump split into ours and the others: each of our routes as (prefix key, shared RouteShape) —
 * routes of the same content are decoded once — and the others of the main table and ours decoded (they
 * matter for next-hop resolution and are few). The bytes are read in place by netlink/route-scan.ts.
 */
import type { RouteShape, ShapeTable } from './shape.js';
import { AF_INET, AF_INET6, encodeKey, type PrefixKey } from './prefix.js';
import { RouteMsg, decodeRoute } from './netlink/codec.js';
import { RT_TABLE_MAIN } from './netlink/constants.js';
import { RouteCursor, scanRoutes } from './netlink/route-scan.js';

/** Returns how many routes the dump held. */
export function scanDump(
  datagrams: readonly Buffer[],
  owner: { protocol: number; table: number },
  shapes: ShapeTable,
  ours: (key: PrefixKey, shape: RouteShape) => void,
  other: (r: RouteMsg) => void,
): number {
  const byContent = new Map<string, RouteShape>();
  const { protocol, table } = owner;
  return scanRoutes(datagrams, (c: RouteCursor) => {
    if (c.protocol !== protocol || c.table !== table) {
      if (c.table === RT_TABLE_MAIN || c.table === table) other(decodeRoute(c.payload()));
      return;
    }
    if (c.family !== AF_INET && c.family !== AF_INET6) return;
    const key =
      c.family === AF_INET
        ? (c.dst >= 0 ? c.buf.readUInt32BE(c.dst) : 0) * 64 + c.dstLen
        : encodeKey(AF_INET6, c.dst >= 0 ? c.buf.subarray(c.dst, c.dst + 16) : Buffer.alloc(16), c.dstLen);
    const content = c.contentKey();
    let shape = byContent.get(content);
    if (shape === undefined) byContent.set(content, (shape = shapes.fromRoute(decodeRoute(c.payload()))));
    ours(key, shape);
  });
}
