import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipv4Key, type PrefixKey } from '../../../../ip/prefix.js';
import { PrefixMap } from '../../../../bgp/rib/prefix-map.js';
import { key } from '../../../support/prefix.js';

describe('PrefixMap', () => {
  it('behaves like a Map<PrefixKey, V> for both families, all lengths, high addresses', () => {
    const keyArb: fc.Arbitrary<PrefixKey> = fc.oneof(
      fc.tuple(fc.nat(0xffffffff), fc.nat(32)).map(([a, len]) => ipv4Key(a, len)),
      fc.constantFrom(key('fd00::/8'), key('fd00:244::/64'), key('::/0')),
    );
    const opArb = fc.tuple(fc.constantFrom('set', 'delete'), keyArb, fc.nat(9));
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const real = new Map<PrefixKey, number>();
        const ours = new PrefixMap<number>();
        for (const [op, key, value] of ops) {
          if (op === 'set') {
            real.set(key, value);
            ours.set(key, value);
          } else expect(ours.delete(key)).toBe(real.delete(key));
          expect(ours.size).toBe(real.size);
          expect(ours.get(key)).toBe(real.get(key));
          expect(ours.has(key)).toBe(real.has(key));
        }
        const seen = new Map<PrefixKey, number>();
        ours.forEach((v, k) => seen.set(k, v));
        expect(seen).toEqual(real);
        expect(new Map(ours.entries())).toEqual(real);
        expect(new Set(ours.keys())).toEqual(new Set(real.keys()));
      }),
    );
  });

  it('keeps 255.255.255.255/32, 0.0.0.0/0 and 128.0.0.0/1 apart and round-trips their keys', () => {
    const m = new PrefixMap<string>();
    for (const t of ['255.255.255.255/32', '0.0.0.0/0', '128.0.0.0/1', '0.0.0.0/1']) m.set(key(t), t);
    expect([...m.entries()].map(([k, v]) => [k, v]).sort()).toEqual(
      ['255.255.255.255/32', '0.0.0.0/0', '128.0.0.0/1', '0.0.0.0/1'].map((t) => [key(t), t]).sort(),
    );
    m.clear();
    expect(m.size).toBe(0);
    expect(m.get(key('0.0.0.0/0'))).toBe(undefined);
  });
});
