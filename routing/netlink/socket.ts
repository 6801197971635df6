/**
 * The NETLINK_ROUTE socket: the raw socket of the `netlink` npm package (a CommonJS addon, loaded with
 * createRequire), plus what rtnetlink needs on top — sequence numbers, acks matched per sequence, dumps
 * collected across multipart datagrams and redone when the kernel marks them NLM_F_DUMP_INTR, and
 * batched writes: many messages per sendmsg (up to ~64 KiB), a bounded number unacknowledged so the
 * kernel's acks never overflow our receive buffer.
 */
import { createRequire } from 'node:module';
import type { RawNetlinkSocket as RawSocketT, RawNetlinkSocketOptions, ErrnoException } from 'netlink/dist/raw.js';
import { NlMsg, splitMessages, decodeError } from './codec.js';
import { NLMSG_DONE, NLMSG_ERROR, NLM_F_DUMP_INTR, NETLINK_ROUTE } from './constants.js';
import { encodeDumpRequest } from './encode.js';

const require = createRequire(import.meta.url);
const raw = require('netlink/dist/raw.js') as { RawNetlinkSocket: new (protocol: number, opts?: RawNetlinkSocketOptions) => RawSocketT };

export const BATCH_BYTES = 64 * 1024;
const BUFFER_BYTES = 32 * 1024 * 1024;

export function openRawSocket(): RawSocketT {
  const s = new raw.RawNetlinkSocket(NETLINK_ROUTE, { recvBufferSize: BUFFER_BYTES, sendBufferSize: BUFFER_BYTES });
  return s;
}

/** A write waiting to be sent: it encodes itself at `off` and returns the end; `done(errno)` with 0 = ack. */
export interface WriteOp {
  maxLen: number;
  encode(buf: Buffer, off: number, seq: number): number;
  done(errno: number): void;
}

export class DumpInterrupted extends Error {
  constructor() {
    super('netlink dump interrupted (NLM_F_DUMP_INTR) too many times');
  }
}

interface DumpState {
  msgs: NlMsg[];
  intr: boolean;
  resolve: (r: { msgs: NlMsg[]; intr: boolean }) => void;
  reject: (e: Error) => void;
}

export class RtnlSocket {
  private readonly sock: RawSocketT;
  private seq = Math.floor(Math.random() * 0x3fffffff);
  private readonly acks = new Map<number, (errno: number) => void>();
  private readonly dumps = new Map<number, DumpState>();
  private readonly queue: WriteOp[] = [];
  private queueHead = 0;
  private inFlight = 0;
  private closed = false;

  /** `window`: messages sent but not yet acknowledged, at most. */
  constructor(private readonly window = 4096) {
    this.sock = openRawSocket();
    this.sock.on('message', (buf) => this.receive(buf));
    this.sock.on('error', (e: ErrnoException) => this.onError(e));
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  /** Queue writes; they go out in batches in the order queued. */
  write(ops: readonly WriteOp[]): void {
    for (const op of ops) this.queue.push(op);
    this.pump();
  }

  get pendingWrites(): number {
    return this.queue.length - this.queueHead + this.inFlight;
  }

  /**
   * Send what fits in the window. Once the window is full, wait until half of it is acknowledged, so every
   * sendmsg carries a full batch instead of one message per freed slot.
   */
  private pump(): void {
    const queued = this.queue.length - this.queueHead;
    if (queued === 0 || (this.inFlight > this.window / 2 && this.window - this.inFlight < queued)) return;
    while (!this.closed && this.queueHead < this.queue.length && this.inFlight < this.window) {
      const buf = Buffer.allocUnsafe(BATCH_BYTES);
      let off = 0;
      const sent: { seq: number; op: WriteOp }[] = [];
      while (this.queueHead < this.queue.length && this.inFlight < this.window) {
        const op = this.queue[this.queueHead];
        if (off + op.maxLen > BATCH_BYTES && off > 0) break;
        const seq = this.nextSeq();
        off = op.encode(buf, off, seq);
        this.acks.set(seq, (errno) => { this.inFlight--; op.done(errno); });
        sent.push({ seq, op });
        this.inFlight++;
        this.queueHead++;
      }
      this.sock.send(buf.subarray(0, off), undefined, (err) => {
        if (!err) return;
        for (const s of sent) this.acks.get(s.seq)?.(err.errno || 105);
        for (const s of sent) this.acks.delete(s.seq);
      });
    }
    if (this.queueHead > 4096 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  private receive(buf: Buffer): void {
    for (const m of splitMessages(buf)) {
      const dump = this.dumps.get(m.seq);
      if (dump) {
        if (m.flags & NLM_F_DUMP_INTR) dump.intr = true;
        if (m.type === NLMSG_DONE || m.type === NLMSG_ERROR) {
          this.dumps.delete(m.seq);
          const { errno } = decodeError(m);
          if (m.type === NLMSG_ERROR && errno) dump.reject(new Error(`netlink dump failed: errno ${errno}`));
          else dump.resolve({ msgs: dump.msgs, intr: dump.intr });
        } else {
          dump.msgs.push(m);
        }
        continue;
      }
      if (m.type !== NLMSG_ERROR) continue;
      const { errno, seq } = decodeError(m);
      const cb = this.acks.get(seq);
      if (!cb) continue;
      this.acks.delete(seq);
      cb(errno);
    }
    this.pump();
  }

  private onError(e: ErrnoException): void {
    // ENOBUFS on a request socket means acks were lost: fail what is in flight so it is retried.
    const lost = [...this.acks.entries()];
    this.acks.clear();
    for (const [, cb] of lost) cb(e.errno || 105);
    for (const [seq, d] of this.dumps) { this.dumps.delete(seq); d.reject(new Error(`netlink: ${e.code}`)); }
    this.pump();
  }

  /** Dump (RTM_GETROUTE / RTM_GETADDR / RTM_GETLINK), redone while the kernel marks it interrupted. */
  async dump(msgType: number, family: number, attempts = 10): Promise<NlMsg[]> {
    for (let i = 0; i < attempts; i++) {
      const r = await this.dumpOnce(msgType, family);
      if (!r.intr) return r.msgs;
    }
    throw new DumpInterrupted();
  }

  private dumpOnce(msgType: number, family: number): Promise<{ msgs: NlMsg[]; intr: boolean }> {
    return new Promise((resolve, reject) => {
      const seq = this.nextSeq();
      this.dumps.set(seq, { msgs: [], intr: false, resolve, reject });
      this.sock.send(encodeDumpRequest(msgType, family, seq), undefined, (err) => {
        if (err && this.dumps.delete(seq)) reject(new Error(`netlink dump send: ${err.code}`));
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
  }
}

/** A socket joined to rtnetlink multicast groups: every message is handed to `onMessage`. */
export class RtnlMonitor {
  private readonly sock: RawSocketT;

  join(group: number): void {
    this.sock.addMembership(group);
  }

  leave(group: number): void {
    this.sock.dropMembership(group);
  }

  constructor(groups: readonly number[], onMessage: (m: NlMsg) => void, onOverrun: () => void) {
    this.sock = openRawSocket();
    for (const g of groups) this.sock.addMembership(g);
    this.sock.on('message', (buf) => { for (const m of splitMessages(buf)) onMessage(m); });
    this.sock.on('error', (e: ErrnoException) => { if (e.code === 'ENOBUFS' || e.errno === 105) onOverrun(); });
  }

  close(): void {
    this.sock.close();
  }
}
