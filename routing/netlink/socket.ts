/**
 * The NETLINK_ROUTE socket: the raw socket of the `netlink` npm package (a CommonJS addon, loaded with
 * createRequire), plus what rtnetlink needs on top — sequence numbers, acks matched per sequence, dumps
 * collected across multipart datagrams and redone when the kernel marks them NLM_F_DUMP_INTR, and
 * batched writes: many messages per sendmsg (up to ~64 KiB) with one ack per batch (see Batch). The caller
 * bounds how many messages are unanswered, so errors never overflow our receive buffer.
 */
import { createRequire } from 'node:module';
import type {
  RawNetlinkSocket as RawSocketT,
  RawNetlinkSocketOptions,
  ErrnoException,
} from 'netlink/dist/raw.js';
import { NlMsg, splitMessages, align4, NLMSG_HDRLEN } from './codec.js';
import { NLMSG_DONE, NLMSG_ERROR, NLM_F_DUMP_INTR, NETLINK_ROUTE } from './constants.js';
import { encodeDumpRequest } from './encode.js';

const require = createRequire(import.meta.url);
const raw = require('netlink/dist/raw.js') as {
  RawNetlinkSocket: new (protocol: number, opts?: RawNetlinkSocketOptions) => RawSocketT;
};

export const BATCH_BYTES = 64 * 1024;
const BUFFER_BYTES = 32 * 1024 * 1024;

/** Told of an exception thrown by our code inside a netlink socket callback. */
export type FaultHandler = (err: Error, where: string) => void;

const defaultFault: FaultHandler = (err, where) =>
  process.emitWarning(`netlink ${where}: ${err.stack ?? err.message}`);

/**
 * The addon calls our listeners from C++: an exception escaping one would abort the whole process
 * (std::terminate). Every listener goes through this, and an exception becomes a reported fault.
 */
function guarded<A extends unknown[]>(
  where: string,
  onFault: FaultHandler,
  fn: (...args: A) => void,
): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (err) {
      onFault(err instanceof Error ? err : new Error(String(err)), where);
    }
  };
}

/**
 * Route messages that may be unanswered at once on a socket with this receive buffer. Each may come back as
 * an error, and errors that overflow the buffer are lost with ENOBUFS — which the `netlink` addon does not
 * survive: it aborts the process when poll reports the socket's error (it builds the error with a null
 * syscall name). An error answer to a route message takes 832 bytes of the buffer (measured:
 * /proc/net/netlink Rmem after 500 refused writes, Linux 6.18); 1 KiB is counted. With net.core.rmem_max
 * at 4 MiB (doubled by the kernel) that is 8192 messages; with the stock 208 KiB, 416.
 */
export function unansweredLimit(recvBufferBytes: number): number {
  return Math.max(64, Math.min(32768, Math.floor(recvBufferBytes / 1024)));
}

export function openRawSocket(): RawSocketT {
  const s = new raw.RawNetlinkSocket(NETLINK_ROUTE, {
    recvBufferSize: BUFFER_BYTES,
    sendBufferSize: BUFFER_BYTES,
  });
  return s;
}

/**
 * Route writes sent together in one sendmsg. The messages carry consecutive sequence numbers `first`…`last`;
 * only the last asks for an ack (NLM_F_ACK). The kernel handles a batch in order and answers a failed
 * message with an error whether or not it asked for an ack, so the last message's answer means the whole
 * batch has been handled, and every error before it names the message that failed. One datagram per batch
 * comes back instead of one per route.
 */
export interface Batch {
  readonly buf: Buffer;
  readonly first: number;
  readonly last: number;
  /**
   * `failed`: sequence number → errno of each message the kernel refused. `lost` ≠ 0: the socket failed
   * (that errno) before the batch was answered, so what became of each message is unknown.
   */
  done(failed: ReadonlyMap<number, number> | undefined, lost: number): void;
}

interface SentBatch {
  batch: Batch;
  failed: Map<number, number> | undefined;
}

export class DumpInterrupted extends Error {
  constructor() {
    super('netlink dump interrupted (NLM_F_DUMP_INTR) too many times');
  }
}

interface DumpState {
  /** Decoded dumps collect messages; raw dumps collect whole datagrams. */
  raw: boolean;
  msgs: NlMsg[];
  datagrams: Buffer[];
  intr: boolean;
  resolve: (r: { msgs: NlMsg[]; datagrams: Buffer[]; intr: boolean }) => void;
  reject: (e: Error) => void;
}

/** The largest sequence number handed out before starting again at 1 (a batch never wraps). */
const SEQ_MAX = 0x7fffffff;

export class RtnlSocket {
  private readonly sock: RawSocketT;
  private seq = 1 + Math.floor(Math.random() * 0x3fffffff);
  private readonly sent: SentBatch[] = [];
  private readonly dumps = new Map<number, DumpState>();
  private closed = false;

  constructor(private readonly onFault: FaultHandler = defaultFault) {
    this.sock = openRawSocket();
    this.sock.on(
      'message',
      guarded('receive', onFault, (buf: Buffer) => this.receive(buf)),
    );
    this.sock.on(
      'error',
      guarded('error', onFault, (e: ErrnoException) => this.onError(e)),
    );
  }

  /** The socket's receive buffer in bytes, as the kernel accounts it (SO_RCVBUF, capped by net.core.rmem_max). */
  get recvBufferBytes(): number {
    return this.sock.getRecvBufferSize();
  }

  /** `n` consecutive sequence numbers; returns the first. */
  reserveSeq(n: number): number {
    if (this.seq + n > SEQ_MAX) this.seq = 1;
    const first = this.seq;
    this.seq += n;
    return first;
  }

  /** Batches sent and not answered yet. */
  get pending(): number {
    return this.sent.length;
  }

  send(batch: Batch): void {
    if (this.closed) throw new Error('netlink socket is closed');
    const s: SentBatch = { batch, failed: undefined };
    this.sent.push(s);
    this.sock.send(
      batch.buf,
      undefined,
      guarded('send', this.onFault, (err?: ErrnoException) => {
        if (!err) return;
        const i = this.sent.indexOf(s);
        if (i >= 0) this.sent.splice(i, 1);
        batch.done(undefined, err.errno || 105);
      }),
    );
  }

  private receive(buf: Buffer): void {
    let pushed = false;
    for (let off = 0; off + NLMSG_HDRLEN <= buf.length; ) {
      const len = buf.readUInt32LE(off);
      if (len < NLMSG_HDRLEN || off + len > buf.length) break;
      const type = buf.readUInt16LE(off + 4);
      const flags = buf.readUInt16LE(off + 6);
      const seq = buf.readUInt32LE(off + 8);
      const dump = this.dumps.get(seq);
      if (dump) {
        if (flags & NLM_F_DUMP_INTR) dump.intr = true;
        if (type === NLMSG_DONE || type === NLMSG_ERROR) {
          this.dumps.delete(seq);
          const errno =
            type === NLMSG_ERROR && len >= NLMSG_HDRLEN + 4 ? -buf.readInt32LE(off + NLMSG_HDRLEN) : 0;
          if (errno) dump.reject(new Error(`netlink dump failed: errno ${errno}`));
          else dump.resolve({ msgs: dump.msgs, datagrams: dump.datagrams, intr: dump.intr });
        } else if (dump.raw) {
          if (!pushed) dump.datagrams.push(buf);
          pushed = true;
        } else {
          dump.msgs.push({
            type,
            flags,
            seq,
            pid: buf.readUInt32LE(off + 12),
            payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
          });
        }
      } else if (type === NLMSG_ERROR && len >= NLMSG_HDRLEN + 4) {
        this.answer(seq, -buf.readInt32LE(off + NLMSG_HDRLEN));
      }
      off += align4(len);
    }
  }

  /** An ack (errno 0) or error for sequence number `seq`. */
  private answer(seq: number, errno: number): void {
    for (let i = 0; i < this.sent.length; i++) {
      const s = this.sent[i];
      if (seq < s.batch.first || seq > s.batch.last) continue;
      if (errno !== 0) (s.failed ??= new Map()).set(seq, errno);
      if (seq === s.batch.last) {
        this.sent.splice(i, 1);
        s.batch.done(s.failed, 0);
      }
      return;
    }
  }

  private onError(e: ErrnoException): void {
    // ENOBUFS on a request socket: answers were dropped. Nothing in flight can be trusted to be answered.
    const lost = this.sent.splice(0);
    for (const s of lost) s.batch.done(s.failed, e.errno || 105);
    for (const [seq, d] of this.dumps) {
      this.dumps.delete(seq);
      d.reject(new Error(`netlink: ${e.code}`));
    }
  }

  /** Dump (RTM_GETROUTE / RTM_GETADDR / RTM_GETLINK) as messages, redone while the kernel marks it interrupted. */
  async dump(msgType: number, family: number, attempts = 10): Promise<NlMsg[]> {
    for (let i = 0; i < attempts; i++) {
      const r = await this.dumpOnce(msgType, family, false);
      if (!r.intr) return r.msgs;
    }
    throw new DumpInterrupted();
  }

  /**
   * The same, as the datagrams the kernel sent (read them with forEachMessage): a million routes are
   * scanned in place rather than turned into a million objects.
   */
  async dumpRaw(msgType: number, family: number, attempts = 10): Promise<Buffer[]> {
    for (let i = 0; i < attempts; i++) {
      const r = await this.dumpOnce(msgType, family, true);
      if (!r.intr) return r.datagrams;
    }
    throw new DumpInterrupted();
  }

  private dumpOnce(
    msgType: number,
    family: number,
    raw: boolean,
  ): Promise<{ msgs: NlMsg[]; datagrams: Buffer[]; intr: boolean }> {
    return new Promise((resolve, reject) => {
      const seq = this.reserveSeq(1);
      this.dumps.set(seq, { raw, msgs: [], datagrams: [], intr: false, resolve, reject });
      this.sock.send(
        encodeDumpRequest(msgType, family, seq),
        undefined,
        guarded('dump', this.onFault, (err?: ErrnoException) => {
          if (err && this.dumps.delete(seq)) reject(new Error(`netlink dump send: ${err.code}`));
        }),
      );
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
  }
}

/**
 * Calls `fn(type, buf, off, len)` for every message in `datagrams` (off/len: the whole message, header
 * included). NLMSG_DONE and NLMSG_ERROR are skipped.
 */
export function forEachMessage(
  datagrams: readonly Buffer[],
  fn: (type: number, buf: Buffer, off: number, len: number) => void,
): void {
  for (const buf of datagrams) {
    for (let off = 0; off + NLMSG_HDRLEN <= buf.length; ) {
      const len = buf.readUInt32LE(off);
      if (len < NLMSG_HDRLEN || off + len > buf.length) break;
      const type = buf.readUInt16LE(off + 4);
      if (type !== NLMSG_DONE && type !== NLMSG_ERROR) fn(type, buf, off, len);
      off += align4(len);
    }
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

  constructor(
    groups: readonly number[],
    onMessage: (m: NlMsg) => void,
    onOverrun: () => void,
    onFault: FaultHandler = defaultFault,
  ) {
    this.sock = openRawSocket();
    for (const g of groups) this.sock.addMembership(g);
    // A message that cannot be handled is a fault, and then an overrun: what it said is caught up by a dump.
    const handle = (m: NlMsg): void => {
      try {
        onMessage(m);
      } catch (err) {
        onFault(err instanceof Error ? err : new Error(String(err)), 'monitor');
        onOverrun();
      }
    };
    this.sock.on(
      'message',
      guarded('monitor', onFault, (buf: Buffer) => {
        for (const m of splitMessages(buf)) handle(m);
      }),
    );
    this.sock.on(
      'error',
      guarded('monitor error', onFault, (e: ErrnoException) => {
        if (e.code === 'ENOBUFS' || e.errno === 105) onOverrun();
      }),
    );
  }

  close(): void {
    this.sock.close();
  }
}
