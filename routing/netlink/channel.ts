/**
 * A NETLINK_ROUTE socket driven synchronously (libc.ts), with what rtnetlink needs on top: batched writes
 * answered per sequence number, dumps collected across datagrams and redone when the kernel marks them
 * NLM_F_DUMP_INTR, and notifications drained as they come. Every failure is returned as an errno; nothing
 * here throws once the socket is open.
 *
 * rtnetlink handles a request inside our send(): by the time send() returns, the kernel has done the work
 * and queued its answers on our socket. A batch is therefore sent and answered in one call, and a dump is
 * read to its end in one call. Both block (briefly, on a poll) only if the answers are late, which is why
 * they run on a worker thread (writer.ts, monitor.ts).
 */
import {
  AF_NETLINK,
  EAGAIN,
  EBADF,
  EINTR,
  ENOBUFS,
  Libc,
  MSG_DONTWAIT,
  MSG_TRUNC,
  NETLINK_ADD_MEMBERSHIP,
  NETLINK_CAP_ACK,
  NETLINK_DROP_MEMBERSHIP,
  POLLERR,
  POLLIN,
  POLLNVAL,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_NETLINK,
  SOL_SOCKET,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  libc,
} from './libc.js';
import { NLMSG_DONE, NLMSG_ERROR, NLM_F_DUMP_INTR, NETLINK_ROUTE } from './constants.js';
import { encodeDumpRequest } from './encode.js';

export const BATCH_BYTES = 64 * 1024;
/** Asked for by default: the kernel doubles it. Forced past net.core.rmem_max where we may (CAP_NET_ADMIN). */
export const DEFAULT_BUFFER_BYTES = 32 * 1024 * 1024;
/** A datagram from the kernel is at most 32 KiB (a dump's); notifications and answers are far smaller. */
const RECV_BYTES = 64 * 1024;
/**
 * How long an answer the kernel owes us may take before the batch (or dump) is given up as lost. rtnetlink
 * queues its answers inside our send() (and the next part of a dump inside our recv()), so they are there at
 * once; waiting longer than a scheduling hiccup means someone else read them.
 */
const ANSWER_WAIT_MS = 1000;
const ETIMEDOUT = 110;
const EIO = 5;
/** Dump requests use sequence numbers with the top bit set; batches (the FIB's) never do. */
const DUMP_SEQ_BASE = 0x80000000;

export interface ChannelOptions {
  /**
   * SO_RCVBUF to ask for. Default: 32 MiB, forced past net.core.rmem_max when the process may
   * (SO_RCVBUFFORCE). Given explicitly, it is set with plain SO_RCVBUF, so it is capped as any program's.
   */
  recvBufferBytes?: number;
  /** Multicast groups to join (RTNLGRP_*). */
  groups?: readonly number[];
}

/** What became of a batch: the refused messages (sequence number, errno), or `lost` ≠ 0 if we cannot tell. */
export interface BatchResult {
  failed: [number, number][] | null;
  lost: number;
}

export type DumpResult = { chunks: Buffer[]; errno: 0 } | { chunks: null; errno: number };

export type OpenResult = { channel: RtnlChannel; errno: 0 } | { channel: null; errno: number };

/**
 * Route messages that may be unanswered at once on a socket with this receive buffer: each may come back as
 * an error, and errors that overflow the buffer are lost (ENOBUFS), which costs the whole batch a retry. An
 * error answer takes about 832 bytes of the buffer (measured: /proc/net/netlink Rmem after 500 refused
 * writes, Linux 6.18); 1 KiB is counted.
 */
export function unansweredLimit(recvBufferBytes: number): number {
  return Math.max(64, Math.min(32768, Math.floor(recvBufferBytes / 1024)));
}

export class RtnlChannel {
  private readonly buf = Buffer.alloc(RECV_BYTES);
  private dumpSeq = 0;
  private closed = false;

  private constructor(
    private readonly c: Libc,
    readonly fd: number,
    /** SO_RCVBUF as the kernel accounts it (twice what was asked, capped). */
    readonly recvBufferBytes: number,
    /** The port id the kernel gave the socket (notifications our writes cause carry it). */
    readonly portId: number,
  ) {}

  /**
   * Whether `fd` is still this socket. A socket closed under us (a bug elsewhere in the process) frees its
   * number, and the next socket opened — maybe another thread's — gets it: then it is not ours to use or to
   * close. Checked after a failure that could mean that (EBADF, an answer that never came).
   */
  stillOurs(): boolean {
    const r = this.c.netlinkPortId(this.fd);
    return r.n >= 0 && r.n === this.portId;
  }

  /** Give the socket up without closing its number (it is no longer ours: see stillOurs). */
  abandon(): void {
    this.closed = true;
  }

  static open(opts: ChannelOptions = {}): OpenResult {
    const c = libc();
    const s = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (s.n < 0) return { channel: null, errno: s.errno };
    const fd = s.n;
    const fail = (errno: number): OpenResult => {
      c.close(fd);
      return { channel: null, errno };
    };
    const want = opts.recvBufferBytes;
    if (want === undefined) {
      if (c.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, DEFAULT_BUFFER_BYTES).n < 0)
        c.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, DEFAULT_BUFFER_BYTES);
      if (c.setsockoptInt(fd, SOL_SOCKET, SO_SNDBUFFORCE, DEFAULT_BUFFER_BYTES).n < 0)
        c.setsockoptInt(fd, SOL_SOCKET, SO_SNDBUF, DEFAULT_BUFFER_BYTES);
    } else {
      const r = c.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, want);
      if (r.n < 0) return fail(r.errno);
      c.setsockoptInt(fd, SOL_SOCKET, SO_SNDBUF, DEFAULT_BUFFER_BYTES);
    }
    // Error answers then carry the refused message's header only: smaller answers, more of them fit.
    c.setsockoptInt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
    const sa = Buffer.alloc(12); // sockaddr_nl: family, pad, pid 0 (the kernel picks), groups 0
    sa.writeUInt16LE(AF_NETLINK, 0);
    const b = c.bind(fd, sa);
    if (b.n < 0) return fail(b.errno);
    for (const g of opts.groups ?? []) {
      const r = c.setsockoptInt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, g);
      if (r.n < 0) return fail(r.errno);
    }
    const rcv = c.getsockoptInt(fd, SOL_SOCKET, SO_RCVBUF);
    const port = c.netlinkPortId(fd);
    if (port.n < 0) return fail(port.errno);
    return { channel: new RtnlChannel(c, fd, rcv.n > 0 ? rcv.n : 0, port.n), errno: 0 };
  }

  /** Join (or leave) a multicast group; returns the errno (0: done). */
  membership(group: number, join: boolean): number {
    const name = join ? NETLINK_ADD_MEMBERSHIP : NETLINK_DROP_MEMBERSHIP;
    return this.c.setsockoptInt(this.fd, SOL_NETLINK, name, group).errno;
  }

  /**
   * Send a batch of messages with sequence numbers `first`…`last` (only the last asks for an ack) and read
   * its answers: the kernel answers a refused message with an error whether or not it asked for an ack, so
   * the last message's answer closes the batch and every error before it names a message that failed.
   */
  sendBatch(data: Uint8Array, length: number, first: number, last: number): BatchResult {
    const sent = this.sendAll(data, length);
    if (sent !== 0) return { failed: null, lost: sent };
    let failed: [number, number][] | null = null;
    for (;;) {
      const r = this.recvOne(ANSWER_WAIT_MS);
      if (r.errno !== 0) {
        // ENOBUFS: answers were dropped, so which messages failed is unknown. Read what is left (answers
        // that belong to this batch), then give the batch up: the FIB retries its routes.
        if (r.errno === ENOBUFS) this.discardQueued();
        return { failed: null, lost: r.errno };
      }
      const buf = this.buf;
      for (let off = 0; off + 16 <= r.n; ) {
        const len = buf.readUInt32LE(off);
        if (len < 16 || off + len > r.n) break;
        if (buf.readUInt16LE(off + 4) === NLMSG_ERROR && len >= 20) {
          const seq = buf.readUInt32LE(off + 8);
          const errno = -buf.readInt32LE(off + 16);
          if (seq >= first && seq <= last) {
            if (errno !== 0) (failed ??= []).push([seq, errno]);
            if (seq === last) return { failed, lost: 0 };
          }
        }
        off += (len + 3) & ~3;
      }
    }
  }

  /**
   * Dump (RTM_GETLINK / GETADDR / GETROUTE / GETNEXTHOP) as the datagrams the kernel sent, packed back to
   * back into a few large buffers (read them with forEachMessage), redone while the kernel marks it
   * interrupted (NLM_F_DUMP_INTR: the table changed under it).
   */
  dump(msgType: number, family: number, attempts = 10): DumpResult {
    let errno = 0;
    for (let i = 0; i < attempts; i++) {
      const seq = DUMP_SEQ_BASE + (this.dumpSeq++ & 0x7fffffff);
      const req = encodeDumpRequest(msgType, family, seq);
      const sent = this.sendAll(req, req.length);
      if (sent !== 0) return { chunks: null, errno: sent };
      const r = this.readDump(seq);
      if (r.errno === 0 && !r.intr) return { chunks: r.chunks, errno: 0 };
      errno = r.errno;
      // ENOBUFS or an interrupted dump: read again from the start (the rest of this one is discarded).
      if (errno !== 0 && errno !== ENOBUFS) return { chunks: null, errno };
      this.discardQueued();
    }
    return { chunks: null, errno: errno || EIO };
  }

  private readDump(seq: number): { chunks: Buffer[]; intr: boolean; errno: number } {
    const chunks: Buffer[] = [];
    let chunk = Buffer.allocUnsafeSlow(4 * 1024 * 1024);
    let used = 0;
    let intr = false;
    for (;;) {
      const r = this.recvOne(ANSWER_WAIT_MS);
      if (r.errno !== 0) return { chunks, intr, errno: r.errno };
      const buf = this.buf;
      let ours = false;
      let done = false;
      let errno = 0;
      for (let off = 0; off + 16 <= r.n; ) {
        const len = buf.readUInt32LE(off);
        if (len < 16 || off + len > r.n) break;
        if (buf.readUInt32LE(off + 8) === seq) {
          ours = true;
          const type = buf.readUInt16LE(off + 4);
          if (buf.readUInt16LE(off + 6) & NLM_F_DUMP_INTR) intr = true;
          if (type === NLMSG_DONE) done = true;
          else if (type === NLMSG_ERROR) {
            done = true;
            if (len >= 20) errno = -buf.readInt32LE(off + 16);
          }
        }
        off += (len + 3) & ~3;
      }
      if (!ours) continue; // a stray answer (of a batch given up earlier)
      const n = (r.n + 3) & ~3;
      if (used + n > chunk.length) {
        chunks.push(chunk.subarray(0, used));
        chunk = Buffer.allocUnsafeSlow(Math.max(4 * 1024 * 1024, n));
        used = 0;
      }
      buf.copy(chunk, used, 0, r.n);
      chunk.fill(0, used + r.n, used + n);
      used += n;
      if (done) {
        if (used > 0) chunks.push(chunk.subarray(0, used));
        return { chunks, intr, errno };
      }
    }
  }

  /**
   * Read every datagram waiting now (none: wait up to `waitMs` for one), handing each to `onDatagram` (a view
   * of a buffer reused by the next read). Returns 0, or the errno that stopped the reading: ENOBUFS (the
   * socket overflowed and notifications were lost; reading may go on) or a fatal one (EBADF: the socket is
   * gone).
   */
  drain(waitMs: number, onDatagram: (buf: Buffer) => void, maxDatagrams = 4096): number {
    const p = this.c.poll(this.fd, POLLIN, waitMs);
    if (p.n < 0) return p.errno === EINTR ? 0 : p.errno;
    if (p.n & POLLNVAL) return EBADF;
    if (p.n === 0) return 0;
    for (let i = 0; i < maxDatagrams; i++) {
      const r = this.c.recv(this.fd, this.buf, RECV_BYTES, MSG_DONTWAIT | MSG_TRUNC);
      if (r.n < 0) {
        if (r.errno === EAGAIN) return 0;
        if (r.errno === EINTR) continue;
        return r.errno;
      }
      if (r.n === 0) return 0;
      onDatagram(this.buf.subarray(0, Math.min(r.n, RECV_BYTES)));
    }
    return 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.c.close(this.fd);
  }

  /** 0, or the errno of the send. */
  private sendAll(data: Uint8Array, length: number): number {
    for (;;) {
      const r = this.c.send(this.fd, data, length, 0);
      if (r.n >= 0) return r.n === length ? 0 : EIO;
      if (r.errno !== EINTR) return r.errno;
    }
  }

  /** One datagram into this.buf, waiting up to `waitMs` for it: `{ n }`, or the errno. */
  private recvOne(waitMs: number): { n: number; errno: number } {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const r = this.c.recv(this.fd, this.buf, RECV_BYTES, MSG_DONTWAIT | MSG_TRUNC);
      if (r.n > RECV_BYTES) return { n: 0, errno: EIO }; // truncated: cannot happen with kernel datagrams
      if (r.n > 0) return r;
      if (r.n === 0) return { n: 0, errno: EIO };
      if (r.errno === EINTR) continue;
      if (r.errno !== EAGAIN) return r;
      const left = deadline - Date.now();
      if (left <= 0) return { n: 0, errno: ETIMEDOUT };
      const p = this.c.poll(this.fd, POLLIN, Math.min(left, 1000));
      if (p.n < 0 && p.errno !== EINTR) return p;
      if (p.n > 0 && p.n & POLLNVAL) return { n: 0, errno: EBADF };
      if (p.n > 0 && p.n & POLLERR && !(p.n & POLLIN)) continue; // the recv reports the error
    }
  }

  /** Read and drop whatever is queued (answers nobody waits for any more). */
  private discardQueued(): void {
    for (let i = 0; i < 1 << 16; i++) {
      const r = this.c.recv(this.fd, this.buf, RECV_BYTES, MSG_DONTWAIT);
      if (r.n < 0 && r.errno !== ENOBUFS && r.errno !== EINTR) return;
    }
  }
}
