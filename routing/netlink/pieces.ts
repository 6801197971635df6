/**
 * A batch of route writes sent in pieces short enough in the kernel (channel.ts `sendBatch`).
 *
 * rtnetlink does a send()'s whole work inside the call, under the RTNL lock, and a kernel built without
 * preemption (CONFIG_PREEMPT_NONE, as the 2-core test machines' is) does not give the CPU up meanwhile: a
 * real-time thread woken on that CPU (the BFD process, ours or a peer's) waits until the call returns. One
 * 64 KiB batch of ~900 route deletions from a million-route table took up to 450 ms in one send() (strace -T,
 * 1M routes withdrawn; the IPv4 trie's update_suffix/resize at the top of the kernel's profile), and a BFD
 * session at 100 ms x 3 cannot wait that long. So the batch goes in pieces of whole messages, sized from how
 * long the previous pieces took per byte so that each stays near `targetMs`; the answers are read after the
 * last piece as before (nothing but the last message asks for one).
 *
 * Pure: the caller measures the time.
 */

/** Offset just past the last whole netlink message that starts at `from` and ends by `from + max`; at least one. */
export function pieceEnd(data: Uint8Array, from: number, length: number, max: number): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let end = from;
  for (;;) {
    if (end + 16 > length) return length; // a tail too short for a header goes with the piece
    const len = view.getUint32(end, true);
    if (len < 16) return length; // malformed: the kernel says so for the whole rest
    const next = Math.min(length, end + ((len + 3) & ~3));
    if (end > from && next - from > max) return end;
    end = next;
    if (end >= length) return length;
  }
}

export interface PieceOptions {
  /** Wanted time in the kernel per send() (ms). */
  readonly targetMs: number;
  /** Bounds of a piece (bytes): never more than a batch, never less than a few messages. */
  readonly minBytes: number;
  readonly maxBytes: number;
}

export const PIECE_DEFAULTS: PieceOptions = { targetMs: 5, minBytes: 512, maxBytes: 64 * 1024 };

/**
 * The size of the next piece. Starts small; a piece that took under half the target doubles the next one,
 * one that took longer scales it down to the target at the rate just seen.
 */
export class PieceSizer {
  private bytes: number;

  constructor(private readonly o: PieceOptions = PIECE_DEFAULTS) {
    this.bytes = Math.max(o.minBytes, Math.min(o.maxBytes, 8 * 1024));
  }

  /** The bytes the next piece may hold. */
  get next(): number {
    return this.bytes;
  }

  /** A piece of `bytes` took `ms` in send(). */
  took(bytes: number, ms: number): void {
    const { targetMs, minBytes, maxBytes } = this.o;
    let want: number;
    if (ms > targetMs) want = Math.floor((bytes * targetMs) / ms);
    else if (ms < targetMs / 2 && bytes >= this.bytes / 2) want = this.bytes * 2;
    else return;
    this.bytes = Math.max(minBytes, Math.min(maxBytes, want));
  }
}
