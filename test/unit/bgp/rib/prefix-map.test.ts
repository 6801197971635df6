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

  it('a cursor visits every entry once across slices of its budget, while each visited entry is deleted', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.nat(0xffff), fc.constantFrom(16, 24, 32)), {
          maxLength: 80,
          selector: ([a, len]) => `${a}/${len}`,
        }),
        fc.integer({ min: 1, max: 7 }),
        (entries, budget) => {
          const m = new PrefixMap<number>();
          const keys = entries.map(([a, len]) => ipv4Key(a * 65536, len));
          keys.forEach((k, i) => m.set(k, i));
          m.set(key('fd00::/8'), -1);
          const c = m.cursor();
          const seen: PrefixKey[] = [];
          let slices = 0;
          for (;;) {
            let n = 0;
            const done = c.next(budget, (_, k) => {
              n++;
              seen.push(k);
              // Deleting the entry being visited (as a withdrawal does) must not skip the next one.
              m.delete(k);
            });
            expect(n).toBeLessThanOrEqual(budget);
            slices++;
            if (done) break;
          }
          expect(new Set(seen)).toEqual(new Set([...keys, key('fd00::/8')]));
          expect(seen).toHaveLength(keys.length + 1);
          expect(slices).toBeGreaterThanOrEqual(Math.ceil((keys.length + 1) / budget));
          expect(m.size).toBe(0);
        },
      ),
    );
  });

  it('a cursor: entries deleted before it gets there are skipped; after clear() it is over', () => {
    const m = new PrefixMap<string>();
    for (const t of ['10.0.0.0/8', '10.1.0.0/16', '10.2.0.0/16', '10.3.0.0/16']) m.set(key(t), t);
    const c = m.cursor();
    const seen: string[] = [];
    expect(c.next(2, (v) => seen.push(v))).toBe(false);
    m.delete(key('10.3.0.0/16'));
    expect(c.next(10, (v) => seen.push(v))).toBe(true);
    expect(seen.sort()).toEqual(['10.0.0.0/8', '10.1.0.0/16', '10.2.0.0/16']);
    expect(c.next(10, (v) => seen.push(v))).toBe(true);
    const d = m.cursor();
    expect(d.next(1, () => undefined)).toBe(false);
    m.clear();
    m.set(key('10.9.0.0/16'), 'later');
    expect(d.next(10, (v) => seen.push(v))).toBe(true);
    expect(seen).toHaveLength(3);
  });
});
