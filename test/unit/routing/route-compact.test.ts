/**
 * A route dump compacted as it is read (netlink/route-compact.ts) says what the raw datagrams say: the same
 * (prefix, shape) for each of our routes, the same other programs' routes, the same count — whether the
 * datagrams come one by one or the dump starts over after an interruption. No kernel needed: the datagrams
 * are encoded here as the kernel sends them.
 */
import { describe, expect, it } from 'vitest';
import { RouteCompactor } from '../../../routing/netlink/route-compact.js';
import { DumpScan, scanDump } from '../../../routing/dump-scan.js';
import { ShapeTable } from '../../../routing/shape.js';
import { encodeRouteMsg } from '../../../routing/netlink/encode.js';
import type { RouteMsg } from '../../../routing/netlink/codec.js';
import { NLM_F_MULTI, RTM, RTN } from '../../../routing/netlink/constants.js';
import { formatPrefix } from '../../../ip/prefix.js';
import type { PrefixKey } from '../../../routing/prefix.js';

const OWNER = { protocol: 202, table: 254 };

function route(dst: number[], dstLen: number, over: Partial<RouteMsg> = {}): RouteMsg {
  return {
    family: dst.length === 4 ? 2 : 10,
    dstLen,
    dst: Buffer.from(dst),
    tos: 0,
    table: 254,
    protocol: 202,
    scope: 0,
    type: RTN.RTN_UNICAST,
    flags: 0,
    priority: 20,
    nexthops: [{ gateway: Buffer.from([10, 0, 0, 2]), oif: 2, flags: 0, hops: 0 }],
    ...over,
  };
}

const v6 = [0xfd, 0, 0, 0x79, 0, 1, ...new Array<number>(10).fill(0)];
const routes: RouteMsg[] = [
  route([10, 244, 1, 0], 24),
  route([10, 244, 2, 0], 24),
  route([10, 244, 3, 0], 24, {
    nexthops: [{ gateway: Buffer.from([10, 0, 0, 3]), oif: 2, flags: 0, hops: 0 }],
  }),
  route([10, 244, 4, 0], 24),
  route([10, 244, 5, 0], 24, { nhid: 77, nexthops: [] }),
  route(v6, 64, {
    nexthops: [
      { gateway: Buffer.from('fe800000000000000000000000000001', 'hex'), oif: 2, flags: 0, hops: 0 },
    ],
  }),
  // Another program's, in the main table: handed over as itself. One in another table: of no interest.
  route([192, 168, 0, 0], 16, { protocol: 4 }),
  route([172, 16, 0, 0], 12, { protocol: 4, table: 100 }),
];

/** The routes as the kernel would send them: a few per datagram. */
function datagrams(rs: RouteMsg[], perDatagram: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < rs.length; i += perDatagram)
    out.push(
      Buffer.concat(
        rs.slice(i, i + perDatagram).map((r) => encodeRouteMsg(RTM.RTM_NEWROUTE, NLM_F_MULTI, 0, r)),
      ),
    );
  return out;
}

/** What a scan hands over: our routes as "prefix shape-id", others as "prefix proto N". */
function read(dump: Buffer[] | ReturnType<RouteCompactor['result']>, shapes: ShapeTable, limit = Infinity) {
  const ours: string[] = [];
  const others: string[] = [];
  const scan = new DumpScan(dump, OWNER, shapes);
  let steps = 0;
  while (
    !scan.step(
      limit,
      (key: PrefixKey, shape) => ours.push(`${formatPrefix(key)} ${shape.id}`),
      (r) => others.push(`${r.dst?.join('.')}/${r.dstLen} proto ${r.protocol}`),
    )
  )
    steps++;
  return { ours: ours.sort(), others, count: scan.count, steps };
}

describe('RouteCompactor', () => {
  it('gives the same routes, shapes and count as the raw datagrams', () => {
    const shapes = new ShapeTable(254, 202);
    const raw = datagrams(routes, 3);
    // The compactor zeroes counters in its datagram views; the raw scan reads copies.
    const c = new RouteCompactor(OWNER);
    for (const d of raw) c.datagram(Buffer.from(d));
    const compact = c.result();
    expect(compact.n4).toBe(5);
    expect(compact.keys6).toHaveLength(1);
    // Four contents among six routes of ours: three routes share one.
    expect(compact.contents).toHaveLength(4);
    const a = read(
      raw.map((d) => Buffer.from(d)),
      shapes,
    );
    const b = read(compact, shapes);
    expect(b.ours).toEqual(a.ours);
    expect(b.others).toEqual(a.others);
    expect(b.others).toEqual(['192.168.0.0/16 proto 4']);
    expect(b.count).toBe(a.count);
    expect(b.count).toBe(routes.length);
    expect(a.ours).toContain(
      '10.244.5.0/24 ' + shapes.fromRoute(route([0, 0, 0, 0], 24, { nhid: 77, nexthops: [] })).id,
    );
  });

  it('reads the compact form in pieces, the others once', () => {
    const shapes = new ShapeTable(254, 202);
    const c = new RouteCompactor(OWNER);
    for (const d of datagrams(routes, 2)) c.datagram(d);
    const whole = read(c.result(), shapes);
    const pieces = read(c.result(), shapes, 2);
    expect(pieces.ours).toEqual(whole.ours);
    expect(pieces.others).toEqual(whole.others);
    expect(pieces.steps).toBe(2);
  });

  it('forgets what it saw when the dump starts over', () => {
    const c = new RouteCompactor(OWNER);
    for (const d of datagrams(routes, 4)) c.datagram(d);
    c.reset();
    for (const d of datagrams(routes.slice(0, 2), 4)) c.datagram(d);
    const r = c.result();
    expect(r.count).toBe(2);
    expect(r.n4).toBe(2);
    expect(r.contents).toHaveLength(1);
    expect(r.others).toEqual([]);
    expect(
      scanDump(
        r,
        OWNER,
        new ShapeTable(254, 202),
        () => {},
        () => {},
      ),
    ).toBe(2);
  });
});
