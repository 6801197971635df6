/** fast-check arbitraries for valid BGP messages (what decode(encode(x)) must give back unchanged). */
import fc from 'fast-check';
import { ipv4Key, ipv6Key, type PrefixKey } from '../../../../ip/prefix.js';
import { formatIpv4, formatIpv6 } from '../../../../ip/address.js';
import type {
  AsPathSegment,
  Capability,
  NlriBlock,
  NotificationMessage,
  OpenMessage,
  PathAttributes,
  ReachBlock,
  RouteRefreshMessage,
  UpdateMessage,
} from '../../../../bgp/wire/index.js';

export const ipv4Text = fc.integer({ min: 0, max: 0xffffffff }).map(formatIpv4);
/** A unicast IPv4 address: what NEXT_HOP accepts (not 0/8-zero, 127/8, 224/3). */
export const unicastIpv4 = fc
  .integer({ min: 0x01000000, max: 0xdfffffff })
  .filter((a) => a >>> 24 !== 127)
  .map(formatIpv4);
export const ipv6Text = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIpv6(b));

export const prefix4: fc.Arbitrary<PrefixKey> = fc
  .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
  .map(([a, l]) => ipv4Key(a, l));
export const prefix6: fc.Arbitrary<PrefixKey> = fc
  .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }))
  .map(([b, l]) => ipv6Key(b, l));

const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

// ---- OPEN ------------------------------------------------------------------------------------------------

const TYPED_CODES = new Set([1, 2, 5, 64, 65, 70]);

export const capability: fc.Arbitrary<Capability> = fc.oneof(
  fc.record({ code: fc.constant(1 as const), afi: u16, safi: u8 }),
  fc.constant({ code: 2 as const }),
  fc.constant({ code: 70 as const }),
  fc.record({ code: fc.constant(65 as const), asn: u32 }),
  fc.record({
    code: fc.constant(5 as const),
    entries: fc.array(fc.record({ afi: u16, safi: u16, nextHopAfi: u16 }), { maxLength: 5 }),
  }),
  fc.record({
    code: fc.constant(64 as const),
    restarting: fc.boolean(),
    notification: fc.boolean(),
    restartTime: fc.integer({ min: 0, max: 4095 }),
    families: fc.array(fc.record({ afi: u16, safi: u8, forwarding: fc.boolean() }), { maxLength: 5 }),
  }),
  fc.record({
    code: u8.filter((c) => !TYPED_CODES.has(c)),
    unknown: fc.constant(true as const),
    value: fc.uint8Array({ maxLength: 20 }),
  }),
);

export const open: fc.Arbitrary<OpenMessage> = fc
  .record({
    version: u8,
    myAs: u16,
    holdTime: u16,
    bgpId: ipv4Text,
    capabilities: fc.array(capability, { maxLength: 12 }),
    grouped: fc.boolean(),
    extended: fc.boolean(),
  })
  .map(({ grouped, extended, ...o }) => {
    const msg: OpenMessage = { type: 1, ...o };
    const withGrouping =
      grouped && o.capabilities.length > 1 ? { ...msg, capabilityGrouping: [o.capabilities.length] } : msg;
    return extended ? { ...withGrouping, extendedOptionalParameters: true } : withGrouping;
  });

// ---- NOTIFICATION / ROUTE-REFRESH ------------------------------------------------------------------------

export const notification: fc.Arbitrary<NotificationMessage> = fc.record({
  type: fc.constant(3 as const),
  code: u8,
  subcode: u8,
  data: fc.uint8Array({ maxLength: 100 }),
});

export const routeRefresh: fc.Arbitrary<RouteRefreshMessage> = fc.record({
  type: fc.constant(5 as const),
  afi: u16,
  safi: u8,
  subtype: u8,
});

// ---- UPDATE ----------------------------------------------------------------------------------------------

function segment(asn: fc.Arbitrary<number>, types: readonly (1 | 2 | 3 | 4)[]): fc.Arbitrary<AsPathSegment> {
  return fc.record({ type: fc.constantFrom(...types), asns: fc.array(asn, { minLength: 1, maxLength: 8 }) });
}

/** Attributes that survive a round trip on a 4-octet session (`ibgp` keeps LOCAL_PREF). */
export function pathAttributes(nextHop: string | undefined, twoOctet = false): fc.Arbitrary<PathAttributes> {
  const asPath = twoOctet
    ? fc
        .tuple(
          fc.array(segment(fc.integer({ min: 0, max: 0xffff }), [3, 4]), { maxLength: 1 }),
          fc.array(segment(u32, [1, 2]), { maxLength: 3 }),
        )
        .map(([confed, rest]) => [...confed, ...rest])
    : fc.array(segment(u32, [1, 2, 3, 4]), { maxLength: 4 });
  const aggregatorAsn = twoOctet ? fc.integer({ min: 0x10000, max: 0xffffffff }) : u32;
  const unknownTypes = fc.uniqueArray(
    fc.integer({ min: 19, max: 255 }).filter((t) => t !== 32),
    { maxLength: 3 },
  );
  return fc
    .record(
      {
        origin: fc.constantFrom(0 as const, 1 as const, 2 as const),
        asPath,
        med: u32,
        localPref: u32,
        atomicAggregate: fc.constant(true),
        aggregator: fc.record({ asn: aggregatorAsn, address: ipv4Text }),
        communities: fc.array(u32, { minLength: 1, maxLength: 8 }),
        extendedCommunities: fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), {
          minLength: 1,
          maxLength: 4,
        }),
        largeCommunities: fc.array(fc.tuple(u32, u32, u32), { minLength: 1, maxLength: 4 }),
        originatorId: ipv4Text,
        clusterList: fc.array(ipv4Text, { minLength: 1, maxLength: 4 }),
        unknownTypes,
        unknownValues: fc.array(fc.uint8Array({ maxLength: 12 }), { minLength: 3, maxLength: 3 }),
        partial: fc.boolean(),
      },
      { requiredKeys: ['origin', 'asPath', 'unknownTypes', 'unknownValues', 'partial'] },
    )
    .map(({ unknownTypes: types, unknownValues, partial, ...a }) => {
      const unknown = types
        .sort((x, y) => x - y)
        .map((type, i) => ({ flags: partial ? 0xe0 : 0xc0, type, value: unknownValues[i]! }));
      const out: PathAttributes = {
        ...a,
        ...(nextHop === undefined ? {} : { nextHop }),
        ...(unknown.length > 0 ? { unknown } : {}),
      };
      return out;
    });
}

const block4 = fc.array(prefix4, { minLength: 1, maxLength: 30 });
const block6 = fc.array(prefix6, { minLength: 1, maxLength: 20 });

/** A valid UPDATE (not End-of-RIB) that fits in 4096 octets. */
export function update(twoOctet = false): fc.Arbitrary<UpdateMessage> {
  return fc
    .record({
      w4: fc.option(block4, { nil: undefined }),
      w6: fc.option(block6, { nil: undefined }),
      r4: fc.option(block4, { nil: undefined }),
      r6: fc.option(block6, { nil: undefined }),
      nh4: unicastIpv4,
      nh6: ipv6Text,
      ll: fc.option(ipv6Text, { nil: undefined }),
      seed: fc.nat(),
    })
    .filter((u) => u.w4 !== undefined || u.w6 !== undefined || u.r4 !== undefined || u.r6 !== undefined)
    .chain((u) => {
      const withdrawn: NlriBlock[] = [];
      if (u.w4) withdrawn.push({ afi: 1, safi: 1, prefixes: u.w4 });
      if (u.w6) withdrawn.push({ afi: 2, safi: 1, prefixes: u.w6 });
      const reach: ReachBlock[] = [];
      if (u.r4) reach.push({ afi: 1, safi: 1, prefixes: u.r4, nextHop: u.nh4 });
      if (u.r6)
        reach.push({
          afi: 2,
          safi: 1,
          prefixes: u.r6,
          nextHop: u.nh6,
          ...(u.ll === undefined ? {} : { linkLocalNextHop: u.ll }),
        });
      if (reach.length === 0)
        return fc.constant<UpdateMessage>({ type: 2, withdrawn, reach, attributes: null, issues: [] });
      return pathAttributes(u.r4 ? u.nh4 : undefined, twoOctet).map(
        (attributes): UpdateMessage => ({ type: 2, withdrawn, reach, attributes, issues: [] }),
      );
    });
}
