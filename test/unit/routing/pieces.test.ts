import { describe, expect, it } from 'vitest';
import { PieceSizer, pieceEnd } from '../../../routing/netlink/pieces.js';

/** Netlink messages of these lengths, back to back (4-byte aligned), each header carrying its length. */
function batch(lengths: number[]): Uint8Array {
  const total = lengths.reduce((n, l) => n + ((l + 3) & ~3), 0);
  const buf = Buffer.alloc(total);
  let off = 0;
  for (const l of lengths) {
    buf.writeUInt32LE(l, off);
    off += (l + 3) & ~3;
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, total);
}

/** The pieces `pieceEnd` cuts `data` into with `max` bytes each. */
function pieces(data: Uint8Array, max: number): number[] {
  const out: number[] = [];
  for (let off = 0; off < data.length; ) {
    const end = pieceEnd(data, off, data.length, max);
    out.push(end - off);
    off = end;
  }
  return out;
}

describe('a batch in pieces (pieces.ts)', () => {
  it('cuts at message boundaries, as many whole messages as fit, at least one', () => {
    const data = batch([52, 52, 52, 52, 52]);
    expect(pieces(data, 104)).toEqual([104, 104, 52]);
    expect(pieces(data, 150)).toEqual([104, 104, 52]);
    expect(pieces(data, 1 << 16)).toEqual([260]);
    // A message larger than a piece goes alone; padding counts (two 50-byte messages take 104).
    expect(pieces(batch([200, 50, 50]), 100)).toEqual([200, 52, 52]);
    expect(pieces(batch([200, 50, 50]), 104)).toEqual([200, 104]);
  });

  it('keeps a malformed tail with the piece before it rather than looping', () => {
    const data = batch([52, 52]);
    const bad = new Uint8Array(data.length + 8);
    bad.set(data);
    expect(pieces(bad, 52)).toEqual([52, 60]);
  });

  it('the sizer starts small, doubles while pieces are quick and scales to the target when one is slow', () => {
    const s = new PieceSizer({ targetMs: 5, minBytes: 512, maxBytes: 64 * 1024 });
    expect(s.next).toBe(8 * 1024);
    s.took(8 * 1024, 1);
    expect(s.next).toBe(16 * 1024);
    s.took(16 * 1024, 1);
    s.took(32 * 1024, 1);
    s.took(64 * 1024, 1);
    expect(s.next).toBe(64 * 1024); // never past a batch
    s.took(64 * 1024, 80); // 80 ms: 16 times the target
    expect(s.next).toBe(4 * 1024);
    s.took(4 * 1024, 4); // near the target: stays
    expect(s.next).toBe(4 * 1024);
    s.took(100, 1); // a short last piece of a batch says little: no growth
    expect(s.next).toBe(4 * 1024);
    s.took(4 * 1024, 10_000);
    expect(s.next).toBe(512); // never below a few messages
  });
});
