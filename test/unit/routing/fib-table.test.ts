/**
 * The mirror's columns and index (fib-table.ts) against a Map: any sequence of adds and removes of IPv4 and
 * IPv6 keys — with many keys in few buckets, so probing and backward-shift deletion are exercised — finds
 * exactly the keys a Map holds, and reuses freed slots.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { FibTable } from '../../../routing/fib-table.js';
import { encodeKey, AF_INET, AF_INET6, PrefixKey } from '../../../routing/prefix.js';

describe('FibTable', () => {
  it('behaves as a Map of keys to slots, through growth, probing and deletion', () => {
    const key = fc.oneof(
      // Few distinct IPv4 keys (many collide in the index), and some of every length and address.
      fc
        .integer({ min: 0, max: 300 })
        .map((i) => encodeKey(AF_INET, Buffer.from([10, i >> 8, i & 255, 0]), 24)),
      fc
        .tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }))
        .map(([a, l]) => encodeKey(AF_INET, a, l)),
      fc
        .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }))
        .map(([a, l]) => encodeKey(AF_INET6, a, l)),
    );
    fc.assert(
      fc.property(fc.array(fc.record({ del: fc.boolean(), key }), { maxLength: 3000 }), (ops) => {
        const t = new FibTable();
        const m = new Map<PrefixKey, number>();
        for (const o of ops) {
          if (o.del) {
            const s = m.get(o.key);
            if (s !== undefined) {
              t.remove(s);
              m.delete(o.key);
            }
          } else if (!m.has(o.key)) m.set(o.key, t.add(o.key, 0));
          expect(t.get(o.key)).toBe(m.get(o.key) ?? -1);
        }
        expect(t.size).toBe(m.size);
        for (const [k, s] of m) {
          expect(t.get(k)).toBe(s);
          expect(t.key(s)).toBe(k);
        }
        const live: number[] = [];
        t.forEach((s) => live.push(s));
        expect(live.sort((a, b) => a - b)).toEqual([...m.values()].sort((a, b) => a - b));
      }),
      { numRuns: 100 },
    );
  });

  it('holds a million IPv4 keys and finds each', () => {
    const t = new FibTable();
    const n = 1_000_000;
    for (let i = 0; i < n; i++) t.add((0x0b000000 + i * 256) * 64 + 24, 0);
    for (let i = 0; i < n; i += 997)
      expect(t.key(t.get((0x0b000000 + i * 256) * 64 + 24))).toBe((0x0b000000 + i * 256) * 64 + 24);
    expect(t.get(0x0a000000 * 64 + 24)).toBe(-1);
    expect(t.size).toBe(n);
  });
});
