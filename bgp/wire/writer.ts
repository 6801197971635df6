/**
 * A growable writer. Lengths are back-patched: reserve the length field (`mark16()`), write the body, then
 * `patch16(mark)` fills in how many octets followed it — nobody computes a length twice.
 */
import { parseIpv4, parseIpv6 } from '../../ip/address.js';

export class Writer {
  private buf: Buffer;
  pos = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Dotted quad → 4 octets (an unparsable text writes 0.0.0.0; callers validate their inputs). */
  ipv4(text: string): this {
    return this.u32(parseIpv4(text) ?? 0);
  }

  /** IPv6 text → 16 octets. */
  ipv6(text: string): this {
    return this.bytes(parseIpv6(text) ?? new Uint8Array(16));
  }

  /** Reserve a 1-octet length; returns its position. */
  mark8(): number {
    this.u8(0);
    return this.pos - 1;
  }

  /** Reserve a 2-octet length; returns its position. */
  mark16(): number {
    this.u16(0);
    return this.pos - 2;
  }

  /** Fill the 1-octet length at `mark` with the number of octets written after it. */
  patch8(mark: number): number {
    const len = this.pos - mark - 1;
    this.buf[mark] = len;
    return len;
  }

  /** Fill the 2-octet length at `mark` with the number of octets written after it (minus `adjust`). */
  patch16(mark: number, adjust = 0): number {
    const len = this.pos - mark - 2 + adjust;
    this.buf[mark] = (len >>> 8) & 0xff;
    this.buf[mark + 1] = len & 0xff;
    return len;
  }

  /** Write `v` as a 2-octet value at an absolute position. */
  set16(at: number, v: number): void {
    this.buf[at] = (v >>> 8) & 0xff;
    this.buf[at + 1] = v & 0xff;
  }

  /** A copy of what was written (the writer may be reused or dropped). */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  /** A view of what was written, valid until the next write. */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
