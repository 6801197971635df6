/**
 * The FIB's fast paths against the slow, table-driven ones: a route written by ShapeTable.write (byte stores
 * from a pre-encoded shape) must be byte for byte what encodeRouteMsg writes for the same route. Then the
 * Fib itself on the noop backend.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { ShapeTable } from '../../../routing/shape.js';
import { encodeRouteMsg } from '../../../routing/netlink/encode.js';
import { RTM, RTN, RT_SCOPE } from '../../../routing/netlink/constants.js';
import { RouteNexthop, decodeRoute, decodeNexthop, NLMSG_HDRLEN } from '../../../routing/netlink/codec.js';
import { writeNexthopMsg } from '../../../routing/netlink/encode.js';
import { decodeKey, encodeKey, AF_INET, AF_INET6, PrefixKey } from '../../../routing/prefix.js';
import { Fib, FibEvent } from '../../../routing/fib.js';
import { NoopBackend } from '../../../routing/noop-backend.js';

/** An IPv4 route's gateway is IPv4 or IPv6 (RFC 8950: RTA_VIA); an IPv6 route's is IPv6. */
const nexthop = (family: number): fc.Arbitrary<RouteNexthop> =>
  fc.record({
    gateway: (family === AF_INET ? fc.constantFrom(4, 16) : fc.constant(16))
      .chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
      .map((b) => Buffer.from(b)),
    oif: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    flags: fc.constant(0),
    hops: fc.constant(0),
  });

const routeCase = fc.oneof(fc.constant(AF_INET), fc.constant(AF_INET6)).chain((family) =>
  fc.record({
    family: fc.constant(family),
    addr: fc.uint8Array({ minLength: family === AF_INET ? 4 : 16, maxLength: family === AF_INET ? 4 : 16 }),
    len: fc.integer({ min: 0, max: family === AF_INET ? 32 : 128 }),
    table: fc.oneof(fc.constant(254), fc.integer({ min: 1, max: 2 ** 32 - 1 })),
    protocol: fc.integer({ min: 5, max: 255 }),
    type: fc.constantFrom(RTN.RTN_UNICAST, RTN.RTN_BLACKHOLE, RTN.RTN_UNREACHABLE),
    priority: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    nexthops: fc.array(nexthop(family), { minLength: 0, maxLength: 3 }),
    seq: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    flags: fc.integer({ min: 0, max: 0xffff }),
    nhid: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 32 - 1 })),
  }),
);

describe('ShapeTable.write', () => {
  it('writes RTM_NEWROUTE byte for byte as the table-driven encoder does', () => {
    fc.assert(
      fc.property(routeCase, (c) => {
        const key: PrefixKey = encodeKey(c.family as 2 | 10, c.addr, c.len);
        const shapes = new ShapeTable(c.table, c.protocol);
        const shape = shapes.get(c.family, c.type, c.priority, c.nexthops, c.nhid);
        const buf = Buffer.alloc(shape.maxLen + 8, 0xaa);
        const end = shapes.write(buf, 4, RTM.RTM_NEWROUTE, c.flags, c.seq, key, shape);
        const p = decodeKey(key);
        const expected = encodeRouteMsg(RTM.RTM_NEWROUTE, c.flags, c.seq, {
          family: c.family,
          dstLen: p.len,
          dst: p.addr,
          tos: 0,
          table: c.table,
          protocol: c.protocol,
          scope: RT_SCOPE.RT_SCOPE_UNIVERSE,
          type: c.type,
          flags: 0,
          priority: c.priority,
          nexthops: c.nexthops,
          ...(c.nhid ? { nhid: c.nhid } : {}),
        });
        expect(buf.subarray(4, end).toString('hex')).toBe(expected.toString('hex'));
        // A route naming a nexthop object decodes with its id.
        if (c.nhid) expect(decodeRoute(buf.subarray(4 + NLMSG_HDRLEN, end)).nhid).toBe(c.nhid);
        expect(end - 4).toBeLessThanOrEqual(shape.maxLen);
      }),
      { numRuns: 300 },
    );
  });

  it('writes RTM_DELROUTE with table and metric, no next hops, scope nowhere', () => {
    const shapes = new ShapeTable(254, 202);
    const shape = shapes.get(AF_INET, RTN.RTN_UNICAST, 20, [
      { gateway: Buffer.from([10, 0, 0, 2]), oif: 3, flags: 0, hops: 0 },
    ]);
    const buf = Buffer.alloc(shape.maxLen);
    const end = shapes.write(
      buf,
      0,
      RTM.RTM_DELROUTE,
      1,
      9,
      encodeKey(AF_INET, Buffer.from([10, 244, 2, 0]), 24),
      shape,
    );
    const expected = encodeRouteMsg(RTM.RTM_DELROUTE, 1, 9, {
      family: AF_INET,
      dstLen: 24,
      dst: Buffer.from([10, 244, 2, 0]),
      tos: 0,
      table: 254,
      protocol: 202,
      scope: RT_SCOPE.RT_SCOPE_NOWHERE,
      type: RTN.RTN_UNICAST,
      flags: 0,
      priority: 20,
      nexthops: [],
    });
    expect(buf.subarray(0, end).toString('hex')).toBe(expected.toString('hex'));
  });

  it('interns shapes: the same content is the same object, next-hop order does not matter', () => {
    const t = new ShapeTable(254, 202);
    const a = { gateway: Buffer.from([10, 0, 0, 2]), oif: 3, flags: 0, hops: 0 };
    const b = { gateway: Buffer.from([10, 0, 1, 2]), oif: 4, flags: 0, hops: 0 };
    expect(t.get(AF_INET, RTN.RTN_UNICAST, 20, [a, b])).toBe(t.get(AF_INET, RTN.RTN_UNICAST, 20, [b, a]));
    expect(t.get(AF_INET, RTN.RTN_UNICAST, 20, [a])).not.toBe(t.get(AF_INET, RTN.RTN_UNICAST, 30, [a]));
  });
});

describe('nexthop object messages', () => {
  it('an IPv4 route through an IPv6 gateway (RFC 8950) names an IPv6 nexthop object', () => {
    const table = new ShapeTable(254, 202);
    const gw = Buffer.from('fd000079000100000000000000000001', 'hex');
    const shape = table.get(AF_INET, RTN.RTN_UNICAST, 20, [{ gateway: gw, oif: 3, flags: 0, hops: 0 }], 9);
    const buf = Buffer.alloc(64);
    const end = table.writeNexthop(buf, 0, RTM.RTM_NEWNEXTHOP, 0x601, 1, shape);
    expect(decodeNexthop(buf.subarray(NLMSG_HDRLEN, end))).toEqual({
      id: 9,
      family: AF_INET6,
      protocol: 202,
      oif: 3,
      gateway: gw,
      blackhole: false,
      group: false,
    });
  });

  it('encodes `ip nexthop add id 7 via 10.0.0.2 dev #3 proto 202` and decodes it back; a deletion carries the id only', () => {
    const buf = Buffer.alloc(64);
    const end = writeNexthopMsg(buf, 0, RTM.RTM_NEWNEXTHOP, 0x601, 5, {
      id: 7,
      family: AF_INET,
      protocol: 202,
      oif: 3,
      gateway: Buffer.from([10, 0, 0, 2]),
    });
    expect(buf.subarray(0, end).toString('hex')).toBe(
      [
        '30000000',
        '6800',
        '0106',
        '05000000',
        '00000000', // nlmsghdr: len 48, RTM_NEWNEXTHOP, REQUEST|EXCL|CREATE, seq 5
        '02',
        '00',
        'ca',
        '00',
        '00000000', // nhmsg: AF_INET, scope 0, protocol 202
        '0800',
        '0100',
        '07000000', // NHA_ID 7
        '0800',
        '0500',
        '03000000', // NHA_OIF 3
        '0800',
        '0600',
        '0a000002', // NHA_GATEWAY 10.0.0.2
      ].join(''),
    );
    expect(decodeNexthop(buf.subarray(NLMSG_HDRLEN, end))).toEqual({
      id: 7,
      family: AF_INET,
      protocol: 202,
      oif: 3,
      gateway: Buffer.from([10, 0, 0, 2]),
      blackhole: false,
      group: false,
    });
    const del = writeNexthopMsg(buf, 0, RTM.RTM_DELNEXTHOP, 1, 6, {
      id: 7,
      family: AF_INET,
      protocol: 202,
      oif: 3,
    });
    // The kernel refuses a deletion whose header has a protocol: it must be zero.
    expect(buf.subarray(0, del).toString('hex')).toBe(
      [
        '20000000',
        '6900',
        '0100',
        '06000000',
        '00000000',
        '02000000',
        '00000000',
        '0800',
        '0100',
        '07000000',
      ].join(''),
    );
  });
});

describe('Fib on the noop backend', () => {
  const v4 = (a: string, len: number): PrefixKey =>
    encodeKey(AF_INET, Buffer.from(a.split('.').map(Number)), len);

  it('installs, changes and removes routes, and counts them by status', async () => {
    const events: FibEvent[] = [];
    const fib = new Fib({ backend: new NoopBackend(), onEvent: (e) => events.push(e) });
    await fib.start();
    const nh = ['10.0.0.2'];
    const keys = Array.from({ length: 20_000 }, (_, i) => v4(`11.${i >> 8}.${i & 255}.0`, 24));
    fib.setMany(
      keys,
      keys.map(() => nh),
    );
    await fib.flushed();
    expect(fib.stats()).toEqual({
      wanted: 20_000,
      installed: 20_000,
      pending: 0,
      failed: 0,
      unresolvable: 0,
      stale: 0,
    });
    fib.set(keys[0], ['10.0.0.3', '10.0.0.2', '10.0.0.3']);
    fib.set(keys[1], null);
    fib.set(keys[2], ['not-an-address']);
    await fib.flushed();
    const view = new Map(fib.entries().map((e) => [e.prefix, e]));
    expect(view.get('11.0.0.0/24')).toMatchObject({
      nexthops: ['10.0.0.2', '10.0.0.3'],
      status: 'installed',
    });
    expect(view.has('11.0.1.0/24')).toBe(false);
    expect(view.get('11.0.2.0/24')).toMatchObject({
      status: 'unresolvable',
      error: 'not an IP address: not-an-address',
    });
    expect(events.filter((e) => e.type === 'route-unresolvable')).toHaveLength(1);
    fib.setMany(
      keys,
      keys.map(() => null),
    );
    await fib.flushed();
    expect(fib.entries()).toEqual([]);
    await fib.close({ removeRoutes: true });
  });

  it('keeps blackholes as a set: a prefix left out of a later call is removed', async () => {
    const fib = new Fib({ backend: new NoopBackend() });
    await fib.start();
    fib.setBlackholes([v4('10.244.1.0', 24), v4('10.244.9.0', 24)], 'blackhole', 4000);
    await fib.flushed();
    fib.setBlackholes([v4('10.244.1.0', 24)], 'blackhole', 4000);
    await fib.flushed();
    expect(fib.entries().map((e) => [e.prefix, e.kind, e.kernel?.metric])).toEqual([
      ['10.244.1.0/24', 'blackhole', 4000],
    ]);
    await fib.close({ removeRoutes: false });
  });
});
