/**
 * The rtnetlink codec: route messages encoded and decoded both ways, multipath, and a dump captured from a
 * real kernel (fixtures/route-dump-ipv4.json, made by fixtures/capture.mjs — its header says how).
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { encodeRouteMsg, encodeDumpRequest } from '../../../routing/netlink/encode.js';
import {
  splitMessages,
  decodeRoute,
  decodeError,
  RouteMsg,
  readStruct,
  nlmsghdr,
  rtmsg,
} from '../../../routing/netlink/codec.js';
import {
  RTM,
  RTN,
  NLM_F_REQUEST,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_REPLACE,
  NLM_F_DUMP,
  NLMSG_DONE,
} from '../../../routing/netlink/constants.js';
import { decodeKey, encodeKey } from '../../../routing/prefix.js';
import { formatIpv6, parseIpv6 } from '../../../ip/address.js';
import { formatPrefix as formatKey, parsePrefixMasked as parsePrefixText } from '../../../ip/prefix.js';

const ip4 = (s: string): Buffer => Buffer.from(s.split('.').map(Number));
const route = (over: Partial<RouteMsg>): RouteMsg => ({
  family: 2,
  dstLen: 24,
  dst: ip4('10.244.2.0'),
  tos: 0,
  table: 254,
  protocol: 202,
  scope: 0,
  type: RTN.RTN_UNICAST,
  flags: 0,
  priority: 20,
  nexthops: [{ gateway: ip4('10.0.0.2'), oif: 3, flags: 0, hops: 0 }],
  ...over,
});

describe('route messages', () => {
  it('encodes `ip route replace 10.244.2.0/24 via 10.0.0.2 dev #3 proto 202 metric 20` byte for byte', () => {
    const b = encodeRouteMsg(
      RTM.RTM_NEWROUTE,
      NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
      7,
      route({}),
    );
    expect(b.toString('hex')).toBe(
      [
        '44000000',
        '1800',
        '0505',
        '07000000',
        '00000000', // nlmsghdr: len 68, RTM_NEWROUTE, REQUEST|ACK|REPLACE|CREATE, seq 7, pid 0
        '02',
        '18',
        '00',
        '00',
        'fe',
        'ca',
        '00',
        '01',
        '00000000', // rtmsg: AF_INET /24, table 254, proto 202, universe, unicast
        '0800',
        '0100',
        '0af40200', // RTA_DST 10.244.2.0
        '0800',
        '0f00',
        'fe000000', // RTA_TABLE 254
        '0800',
        '0600',
        '14000000', // RTA_PRIORITY 20
        '0800',
        '0500',
        '0a000002', // RTA_GATEWAY 10.0.0.2
        '0800',
        '0400',
        '03000000', // RTA_OIF 3
      ].join(''),
    );
  });

  it('round-trips single-path, multipath, blackhole and IPv6 routes', () => {
    const cases: RouteMsg[] = [
      route({}),
      route({
        nexthops: [
          { gateway: ip4('10.0.0.2'), oif: 3, flags: 0, hops: 0 },
          { gateway: ip4('10.0.0.3'), oif: 4, flags: 0, hops: 0 },
        ],
      }),
      route({ type: RTN.RTN_BLACKHOLE, priority: 4000, nexthops: [] }),
      route({
        family: 10,
        dstLen: 64,
        dst: parseIpv6('fd00:244:1::'),
        table: 1000,
        nexthops: [{ gateway: parseIpv6('fe80::2'), oif: 5, flags: 0, hops: 0 }],
      }),
    ];
    for (const r of cases) {
      const [m] = splitMessages(encodeRouteMsg(RTM.RTM_NEWROUTE, NLM_F_REQUEST, 1, r));
      expect(m.type).toBe(RTM.RTM_NEWROUTE);
      expect(decodeRoute(m.payload)).toEqual(r);
    }
  });

  it('writes an IPv6 gateway of an IPv4 route as RTA_VIA (`ip route add 10.244.2.0/24 via inet6 fd00:79:1::1`)', () => {
    const gw = parseIpv6('fd00:79:1::1');
    const b = encodeRouteMsg(
      RTM.RTM_NEWROUTE,
      NLM_F_REQUEST,
      7,
      route({ nexthops: [{ gateway: gw, oif: 3, flags: 0, hops: 0 }] }),
    );
    // nlmsghdr, rtmsg, RTA_DST, RTA_TABLE, RTA_PRIORITY as above; then RTA_VIA and RTA_OIF.
    expect(b.subarray(16 + 12 + 24).toString('hex')).toBe(
      [
        '1600',
        '1200',
        '0a00', // RTA_VIA (len 22): rtvia_family AF_INET6
        'fd000079000100000000000000000001', // rtvia_addr fd00:79:1::1
        '0000', // padding to 4
        '0800',
        '0400',
        '03000000', // RTA_OIF 3
      ].join(''),
    );
    expect(b.readUInt32LE(0)).toBe(b.length);
    const [m] = splitMessages(b);
    expect(decodeRoute(m.payload).nexthops).toEqual([{ gateway: gw, oif: 3, flags: 0, hops: 0 }]);
  });

  it('reads RTA_VIA inside RTA_MULTIPATH, beside an IPv4 RTA_GATEWAY, and skips a via of an unknown family', () => {
    const v6 = parseIpv6('fd00:79:2::1');
    const r = route({
      nexthops: [
        { gateway: v6, oif: 3, flags: 0, hops: 0 },
        { gateway: ip4('10.0.0.3'), oif: 4, flags: 0, hops: 0 },
      ],
    });
    const b = encodeRouteMsg(RTM.RTM_NEWROUTE, NLM_F_REQUEST, 1, r);
    const [m] = splitMessages(b);
    expect(decodeRoute(m.payload)).toEqual(r);
    // The first rtnexthop's RTA_VIA: rewrite its family to AF_MPLS (28): no gateway is made up for it.
    const at = b.indexOf(Buffer.from('16001200', 'hex'));
    expect(at).toBeGreaterThan(0);
    b.writeUInt16LE(28, at + 4);
    expect(decodeRoute(splitMessages(b)[0].payload).nexthops[0]).toEqual({ oif: 3, flags: 0, hops: 0 });
  });

  it('encodes a dump request as NLM_F_REQUEST|NLM_F_DUMP with the family', () => {
    const b = encodeDumpRequest(RTM.RTM_GETROUTE, 2, 9);
    expect(readStruct(nlmsghdr, b, 0)).toEqual({
      nlmsg_len: 28,
      nlmsg_type: 26,
      nlmsg_flags: NLM_F_REQUEST | NLM_F_DUMP,
      nlmsg_seq: 9,
      nlmsg_pid: 0,
    });
    expect(readStruct(rtmsg, b, 16).rtm_family).toBe(2);
  });

  it('reads an NLMSG_ERROR as errno and sequence (0 = ack)', () => {
    const b = Buffer.alloc(36);
    b.writeUInt32LE(36, 0);
    b.writeUInt16LE(2, 4);
    b.writeUInt32LE(42, 8);
    b.writeInt32LE(-101, 16);
    expect(decodeError(splitMessages(b)[0])).toEqual({ errno: 101, seq: 42 });
  });
});

describe('a dump captured from the kernel', () => {
  const fixture = JSON.parse(
    readFileSync(new URL('fixtures/route-dump-ipv4.json', import.meta.url), 'utf8'),
  ) as { datagrams: string[] };
  const msgs = fixture.datagrams.flatMap((h) => splitMessages(Buffer.from(h, 'hex')));
  const routes = msgs.filter((m) => m.type === RTM.RTM_NEWROUTE).map((m) => decodeRoute(m.payload));

  it('ends with NLMSG_DONE and holds our three routes, decoded', () => {
    expect(msgs.at(-1)?.type).toBe(NLMSG_DONE);
    const ours = routes.filter((r) => r.protocol === 202 && r.table === 254);
    const byDst = new Map(ours.map((r) => [formatKey(encodeKey(2, r.dst ?? Buffer.alloc(4), r.dstLen)), r]));
    expect(byDst.get('10.244.1.0/24')).toMatchObject({
      type: RTN.RTN_BLACKHOLE,
      priority: 4000,
      nexthops: [],
    });
    expect(byDst.get('10.244.2.0/24')?.nexthops.map((n) => n.gateway?.join('.'))).toEqual(['10.0.0.2']);
    expect(byDst.get('10.244.3.0/24')?.nexthops.map((n) => n.gateway?.join('.'))).toEqual([
      '10.0.0.2',
      '10.0.0.3',
    ]);
  });

  it('decodes, re-encodes and decodes again a kernel route to the same value', () => {
    const single = msgs.find(
      (m) => m.type === RTM.RTM_NEWROUTE && decodeRoute(m.payload).dst?.join('.') === '10.244.2.0',
    );
    const r = decodeRoute(single!.payload);
    const again = decodeRoute(splitMessages(encodeRouteMsg(RTM.RTM_NEWROUTE, 0, 1, r))[0].payload);
    expect(again).toEqual(r);
  });
});

describe('prefix keys (the encoding of ip/prefix.ts)', () => {
  it('IPv4 keys are address*64+length; IPv6 keys are RFC 5952 text', () => {
    expect(parsePrefixText('10.244.2.0/24')).toBe(0x0af40200 * 64 + 24);
    expect(formatKey(0x0af40200 * 64 + 24)).toBe('10.244.2.0/24');
    expect(parsePrefixText('FD00:0244:0:0::/64')).toBe('fd00:244::/64');
    expect(decodeKey('fd00:244::/64')).toMatchObject({ family: 10, len: 64 });
    expect(formatIpv6(parseIpv6('2001:db8:0:0:1:0:0:1')!)).toBe('2001:db8::1:0:0:1');
    expect(formatIpv6(parseIpv6('::ffff:10.0.0.1')!)).toBe('::ffff:a00:1');
  });
});
