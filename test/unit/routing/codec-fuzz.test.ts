/**
 * The rtnetlink decoders on arbitrary bytes. The kernel sends well-formed messages, but a decoder that
 * throws on a short attribute would turn one odd notification into a fault: with a whole fixed header,
 * every decoder returns, whatever the attributes say; splitMessages never loops or reads past the end.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  decodeRoute,
  decodeAddr,
  decodeLink,
  decodeNexthop,
  splitMessages,
} from '../../../routing/netlink/codec.js';

/** Attributes with arbitrary types (the ones the decoders read included) and lengths, some of them too short. */
const attrs = fc
  .array(
    fc.record({
      type: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 0xffff })),
      value: fc.uint8Array({ maxLength: 24 }),
      lie: fc.integer({ min: -8, max: 8 }),
    }),
    { maxLength: 8 },
  )
  .map((list) => {
    const parts = list.map(({ type, value, lie }) => {
      const b = Buffer.alloc(4 + ((value.length + 3) & ~3));
      b.writeUInt16LE(Math.max(0, Math.min(0xffff, 4 + value.length + lie)), 0);
      b.writeUInt16LE(type, 2);
      b.set(value, 4);
      return b;
    });
    return Buffer.concat(parts);
  });

const withHeader = (size: number): fc.Arbitrary<Buffer> =>
  fc
    .tuple(fc.uint8Array({ minLength: size, maxLength: size }), attrs)
    .map(([h, a]) => Buffer.concat([Buffer.from(h), a]));

describe('rtnetlink decoders on arbitrary input', () => {
  it('decode any route, address, link or nexthop payload with a whole fixed header without throwing', () => {
    fc.assert(
      fc.property(withHeader(12), withHeader(8), withHeader(16), withHeader(8), (route, addr, link, nh) => {
        expect(() => decodeRoute(route)).not.toThrow();
        expect(() => decodeAddr(addr)).not.toThrow();
        expect(() => decodeLink(link)).not.toThrow();
        expect(() => decodeNexthop(nh)).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });

  it('split any datagram into messages that lie inside it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const buf = Buffer.from(bytes);
        for (const m of splitMessages(buf)) {
          expect(m.payload.buffer).toBe(buf.buffer);
          expect(m.payload.byteOffset + m.payload.length).toBeLessThanOrEqual(buf.byteOffset + buf.length);
        }
      }),
      { numRuns: 500 },
    );
  });
});
