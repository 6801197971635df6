/** Framing is independent of how TCP cuts the stream: byte by byte and random splits give the same messages. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MessageFramer, decodeMessage, toNotification } from '../../../../bgp/wire/index.js';
import { VECTORS } from './vectors.js';
import { CTX4, MARKER, hex } from './helpers.js';

const messages = VECTORS.map((v) => hex(v.hex));
const stream = Buffer.concat(messages);

function feed(chunks: Buffer[]): Buffer[] {
  const f = new MessageFramer();
  const out: Buffer[] = [];
  for (const c of chunks) out.push(...f.push(c));
  expect(f.error).toBeUndefined();
  expect(f.buffered).toBe(0);
  return out;
}

describe('MessageFramer', () => {
  it('byte by byte', () => {
    const chunks = [...stream].map((b) => Buffer.of(b));
    expect(feed(chunks).map((m) => m.toString('hex'))).toEqual(messages.map((m) => m.toString('hex')));
  });
  it('all at once', () => {
    expect(feed([stream]).map((m) => m.toString('hex'))).toEqual(messages.map((m) => m.toString('hex')));
  });
  it('random splits', () =>
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 40 }),
        (cuts) => {
          const at = [0, ...cuts.sort((a, b) => a - b), stream.length];
          const chunks = at.slice(1).map((end, i) => stream.subarray(at[i], end));
          const got = feed(chunks);
          expect(got.map((m) => m.toString('hex'))).toEqual(messages.map((m) => m.toString('hex')));
          for (const m of got) expect(decodeMessage(m, CTX4).ok).toBe(true);
        },
      ),
      { numRuns: 300 },
    ));
  it('stops at a header error', () => {
    const f = new MessageFramer();
    expect(f.push(Buffer.concat([hex(`${MARKER} 0013 04`), hex(`${'00'.repeat(16)} 0013 04`)]))).toHaveLength(
      1,
    );
    expect(f.error && toNotification(f.error)).toMatchObject({ code: 1, subcode: 1 });
    expect(f.push(hex(`${MARKER} 0013 04`))).toEqual([]);
  });
});
