/**
 * A stream framer over `messageLength`: feed it TCP chunks as they come, get whole messages back (each a
 * Buffer of exactly one message, header included) or the Message Header Error that ends the session.
 * Chunks are only copied when a message straddles them.
 */
import type { BgpError } from './errors.js';
import { messageLength } from './header.js';

export class MessageFramer {
  private pending: Buffer = Buffer.alloc(0);
  /** Set once a header error was found; the stream is then unusable. */
  error: BgpError | undefined;

  /** Append `chunk`; returns the messages completed by it (possibly none). */
  push(chunk: Buffer): Buffer[] {
    if (this.error !== undefined) return [];
    const buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    let offset = 0;
    while (true) {
      const len = messageLength(buf, offset);
      if (typeof len !== 'number') {
        this.error = len;
        break;
      }
      if (len < 0 || offset + len > buf.length) break;
      out.push(buf.subarray(offset, offset + len));
      offset += len;
    }
    // Keep the tail; copy it so the caller's chunk can be reused and a big buffer is not pinned.
    this.pending = offset === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(offset));
    return out;
  }

  /** Octets received but not yet part of a whole message. */
  get buffered(): number {
    return this.pending.length;
  }
}
