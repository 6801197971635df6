/**
 * A bounds-checked reader over a `Buffer` view. Nothing is copied: `bytes()` returns a subarray of the same
 * memory. Reading past the end never throws; it sets the sticky `overrun` flag and yields zeros / an empty view,
 * so a decoder reads its fields straight through and checks `overrun` once (the way a Go `binary.Reader` or
 * BIRD's length checks do), turning a short field into an error value.
 */
export class Reader {
  /** Set as soon as any read would have gone past `end`; stays set. */
  overrun = false;

  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  static of(buf: Buffer): Reader {
    return new Reader(buf, 0, buf.length);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** True when `n` more octets can be read. */
  has(n: number): boolean {
    return this.pos + n <= this.end;
  }

  private take(n: number): number {
    const at = this.pos;
    if (at + n > this.end) {
      this.overrun = true;
      this.pos = this.end;
      return -1;
    }
    this.pos = at + n;
    return at;
  }

  u8(): number {
    const at = this.take(1);
    return at < 0 ? 0 : this.buf[at]!;
  }

  u16(): number {
    const at = this.take(2);
    return at < 0 ? 0 : (this.buf[at]! << 8) | this.buf[at + 1]!;
  }

  u32(): number {
    const at = this.take(4);
    return at < 0 ? 0 : this.buf.readUInt32BE(at);
  }

  /** A view (no copy) of the next `n` octets. */
  bytes(n: number): Buffer {
    const at = this.take(n);
    return at < 0 ? this.buf.subarray(0, 0) : this.buf.subarray(at, at + n);
  }

  /** A reader over the next `n` octets, advancing this one past them. */
  sub(n: number): Reader {
    const at = this.take(n);
    if (at < 0) {
      const r = new Reader(this.buf, this.end, this.end);
      r.overrun = true;
      return r;
    }
    return new Reader(this.buf, at, at + n);
  }

  /** Dotted quad from the next 4 octets. */
  ipv4(): string {
    const at = this.take(4);
    if (at < 0) return '0.0.0.0';
    const b = this.buf;
    return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
  }
}
