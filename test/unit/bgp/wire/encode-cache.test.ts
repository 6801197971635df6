/** Interning (AttributeCache), encoder rules (order, Extended Length, splitting) and byte-exact re-encoding. */
import { describe, expect, it } from 'vitest';
import { key, key4 } from '../../../support/prefix.js';
import {
  AttributeCache,
  asPathContains,
  decodeMessage,
  encodeUpdate,
  encodeUpdates,
  formatPathAttributes,
  type PathAttributes,
  type UpdateMessage,
} from '../../../../bgp/wire/index.js';
import { A, CTX4, CTX4_IBGP, MARKER, hex, updateHex } from './helpers.js';

function decodeUpdate(bytes: Buffer, ctx = CTX4, cache?: AttributeCache): UpdateMessage {
  const d = decodeMessage(bytes, ctx, cache);
  if (!d.ok || d.message.type !== 2)
    throw new Error(d.ok ? 'not an UPDATE' : `${d.error.code}: ${d.error.reason}`);
  return d.message;
}

const OK4 = `${A.origin} ${A.asPath} ${A.nextHop}`;

describe('AttributeCache', () => {
  it('gives every UPDATE with the same attribute octets the same frozen object', () => {
    const cache = new AttributeCache();
    const a = decodeUpdate(updateHex({ attrs: OK4, nlri: '18 0a0000' }), CTX4, cache);
    const b = decodeUpdate(updateHex({ attrs: OK4, nlri: '18 0a0100 18 0a0200' }), CTX4, cache);
    expect(b.attributes).toBe(a.attributes);
    expect(Object.isFrozen(a.attributes)).toBe(true);
    expect(Object.isFrozen(a.attributes!.asPath)).toBe(true);
    expect([cache.hits, cache.misses, cache.size]).toEqual([1, 1, 1]);
  });
  it('ignores MP_REACH_NLRI / MP_UNREACH_NLRI wherever they sit', () => {
    const cache = new AttributeCache();
    const a = decodeUpdate(updateHex({ attrs: `${A.mpReach6} ${A.origin} ${A.asPath}` }), CTX4, cache);
    const other = A.mpReach6.replace('fd00000100000000', 'fd00000200000000');
    const b = decodeUpdate(updateHex({ attrs: `${A.origin} ${other} ${A.asPath}` }), CTX4, cache);
    expect(b.attributes).toBe(a.attributes);
    expect(b.reach[0]!.prefixes).toEqual([key('fd00:2::/64')]);
  });
  it('keys by the context flags that change meaning', () => {
    const cache = new AttributeCache();
    const bytes = updateHex({ attrs: `${OK4} 40 05 04 00000064`, nlri: '18 0a0000' });
    const ebgp = decodeUpdate(bytes, CTX4, cache);
    const ibgp = decodeUpdate(bytes, CTX4_IBGP, cache);
    expect(ebgp.attributes?.localPref).toBeUndefined();
    expect(ibgp.attributes?.localPref).toBe(100);
  });
  it('replays a cached treat-as-withdraw outcome', () => {
    const cache = new AttributeCache();
    const bytes = updateHex({ attrs: `40 01 01 05 ${A.asPath} ${A.nextHop}`, nlri: '18 0a0000' });
    decodeUpdate(bytes, CTX4, cache);
    const again = decodeUpdate(bytes, CTX4, cache);
    expect(cache.hits).toBe(1);
    expect([again.reach, again.attributes, again.withdrawn.length, again.issues[0]?.action]).toEqual([
      [],
      null,
      1,
      'treat-as-withdraw',
    ]);
  });
  it('stays within maxEntries and keeps entries in use (two generations)', () => {
    const cache = new AttributeCache(8);
    const hot = updateHex({ attrs: OK4, nlri: '18 0a0000' });
    const first = decodeUpdate(hot, CTX4, cache).attributes;
    for (let med = 0; med < 100; med++) {
      decodeUpdate(
        updateHex({ attrs: `${OK4} 80 04 04 ${med.toString(16).padStart(8, '0')}`, nlri: '18 0a0000' }),
        CTX4,
        cache,
      );
      expect(decodeUpdate(hot, CTX4, cache).attributes).toBe(first);
      expect(cache.size).toBeLessThanOrEqual(8);
    }
  });
});

describe('encoding rules', () => {
  const base: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65001] }] };
  const reach = {
    afi: 1 as const,
    safi: 1,
    prefixes: [key4('10.0.0.0/24')],
    nextHop: '192.0.2.1',
  };
  it('uses Extended Length only past 255 octets', () => {
    const flagsOf = (n: number) => {
      const [m] = encodeUpdates(
        { ...base, communities: Array.from({ length: n }, (_, i) => i) },
        reach,
        CTX4,
      );
      const at = m!.indexOf(Buffer.of(0x08), 23 + 4 + 9 + 7) - 1; // COMMUNITIES follows ORIGIN, AS_PATH, NEXT_HOP
      return m![at];
    };
    expect(flagsOf(63)).toBe(0xc0); // 252 octets
    expect(flagsOf(64)).toBe(0xd0); // 256 octets
  });
  it('orders attributes by type code, unknown ones included', () => {
    const attrs: PathAttributes = {
      ...base,
      largeCommunities: [[1, 2, 3]],
      unknown: [{ flags: 0xc0, type: 20, value: Uint8Array.of(1) }],
      med: 5,
    };
    const [m] = encodeUpdates(attrs, reach, CTX4);
    const types: number[] = [];
    for (let pos = 23; pos < 23 + m!.readUInt16BE(21); ) {
      types.push(m![pos + 1]!);
      pos += m![pos]! & 0x10 ? 4 + m!.readUInt16BE(pos + 2) : 3 + m![pos + 2]!;
    }
    expect(types).toEqual([1, 2, 3, 4, 20, 32]);
  });
  it('splits AS_PATH segments longer than 255 ASes', () => {
    const asns = Array.from({ length: 300 }, (_, i) => 64512 + i);
    const [m] = encodeUpdates({ origin: 0, asPath: [{ type: 2, asns }] }, reach, CTX4);
    const d = decodeUpdate(m!);
    expect(d.attributes?.asPath.map((s) => s.asns.length)).toEqual([255, 45]);
  });
  it('refuses attributes that leave no room for a prefix', () => {
    const huge: PathAttributes = { ...base, communities: Array.from({ length: 1100 }, (_, i) => i) };
    expect(() => encodeUpdates(huge, reach, CTX4)).toThrow(RangeError);
  });
  it('re-encodes a received UPDATE byte-exact: non-ascending order, needless Extended Length (FRR-style MP_REACH)', () => {
    const bytes = hex(`${MARKER} 0047 02 0000 0030
      90 0e 001e 0002 01 10 20010db8000000000000000000000001 00 40 fd00000100000000 # MP_REACH_NLRI first, Extended Length
      40 01 01 00
      50 02 0006 02 01 0000fde9   # AS_PATH with Extended Length
      `);
    const d = decodeUpdate(bytes);
    expect(encodeUpdate(d, CTX4).toString('hex')).toBe(bytes.toString('hex'));
  });
  it('asPathContains and formatPathAttributes', () => {
    const a: PathAttributes = {
      origin: 1,
      asPath: [
        { type: 2, asns: [65001] },
        { type: 1, asns: [65002, 65003] },
      ],
      communities: [65001 * 65536 + 7],
    };
    expect(asPathContains(a.asPath, 65003)).toBe(true);
    expect(asPathContains(a.asPath, 65004)).toBe(false);
    expect(formatPathAttributes(a)).toBe('origin egp, as-path 65001 {65002,65003}, communities 65001:7');
  });
});

describe('IPv4 unicast in MP attributes', () => {
  it('decodes MP_REACH_NLRI / MP_UNREACH_NLRI for IPv4 unicast and re-encodes them in MP form', () => {
    const bytes = updateHex({
      attrs: `${A.origin} ${A.asPath}
        80 0e 0d 0001 01 04 c0000201 00 18 0a0000   # MP_REACH_NLRI IPv4 unicast, next hop 192.0.2.1
        80 0f 07 0001 01 18 0a0100                  # MP_UNREACH_NLRI IPv4 unicast`,
    });
    const d = decodeUpdate(bytes);
    expect(d.reach).toEqual([{ afi: 1, safi: 1, prefixes: [key('10.0.0.0/24')], nextHop: '192.0.2.1' }]);
    expect(d.withdrawn).toEqual([{ afi: 1, safi: 1, prefixes: [key('10.1.0.0/24')] }]);
    expect(encodeUpdate(d, CTX4).toString('hex')).toBe(bytes.toString('hex'));
  });
});
