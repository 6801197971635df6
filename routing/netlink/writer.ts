/**
 * Route writes and dumps on a thread of their own. The kernel does its work for a route message inside our
 * send() call, on the calling thread, and its work for a dump inside our recv() calls: a million routes are
 * seconds of it. On a worker thread that work runs on another core while the main thread goes on decoding
 * BGP and preparing the next batches.
 *
 * The main thread encodes each batch into its own ArrayBuffer and transfers it (no copy); the worker sends it
 * on its NETLINK_ROUTE socket (channel.ts), reads the answers and posts back which sequence numbers failed
 * with which errno, or that the batch was lost (and with which errno). A dump comes back as a few large
 * buffers of datagrams, transferred too. If the worker dies, what it held is reported lost (and so retried by
 * the Fib), and the next request starts a new one. Without the compiled worker file (the TypeScript sources
 * run directly) the same channel is driven on this thread.
 */
import { Worker } from 'node:worker_threads';
import { RtnlChannel, unansweredLimit } from './channel.js';
import { compiledWorker, stopWorker } from './threads.js';
import { errnoName } from './constants.js';

/**
 * Route writes sent together in one send(). The messages carry consecutive sequence numbers `first`…`last`;
 * only the last asks for an ack (NLM_F_ACK). The kernel handles a batch in order and answers a failed
 * message with an error whether or not it asked for an ack, so the last message's answer means the whole
 * batch has been handled, and every error before it names the message that failed.
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

export interface WriterWorkerData {
  recvBufferBytes: number | undefined;
}

export type WriterIn =
  | { kind: 'batch'; first: number; last: number; buf: ArrayBuffer; length: number }
  | { kind: 'dump'; id: number; type: number; family: number };

export type WriterOut =
  | { kind: 'ready'; recvBufferBytes: number; errno: number }
  /** `buf`: the batch's memory, handed back for the next batch. */
  | { kind: 'answer'; first: number; failed: [number, number][] | null; lost: number; buf: ArrayBuffer }
  | { kind: 'dump'; id: number; chunks: ArrayBuffer[]; lengths: number[]; errno: number };

const EIO = 5;
/**
 * Batch buffers kept for reuse. Each batch's memory travels to the worker and back with its answer; without
 * reuse, a million routes left ~50 MB of spent 64 KiB buffers for the two threads' garbage collectors, which
 * run rarely when little else is allocated (peak RSS counted them).
 */
const POOL = 64;
/**
 * A batch of at most this many messages, handed over while the thread holds nothing of ours, is written on
 * the calling thread instead: the kernel's work for it is a fraction of a millisecond, while waking the
 * thread took 9–50 ms on a busy machine (the first route of a table waited that long). Nothing is then in
 * flight on the thread's socket, and the call returns only once the kernel has answered, so the order of
 * writes is kept across the two sockets.
 */
export const INLINE_MESSAGES = 256;
/**
 * …but only when nothing of ours has been written for this long: in a stream of changes (a table arriving,
 * a session's routes withdrawn in slices) the thread is awake, and a batch written here would put the
 * kernel's work on the thread that decodes BGP (1.1 s of a 1M load and drop was, before this).
 */
export const INLINE_AFTER_IDLE_MS = 10;
/** Until the worker says how large its socket's buffer is: what the stock net.core.rmem_max gives. */
const ASSUMED_BUFFER = 2 * 212992;

export class RtnlWriter {
  private worker: Worker | undefined;
  private local: RtnlChannel | undefined;
  private readonly pending = new Map<number, Batch>();
  private readonly dumps = new Map<number, (r: { chunks: Buffer[] | null; errno: number }) => void>();
  private dumpId = 0;
  private closed = false;
  private readonly pool: ArrayBuffer[] = [];
  private readonly workerFile: URL | undefined;
  /** performance.now() when the last write was answered (or written here). */
  private lastWrite = -Infinity;
  /** Messages one batch may hold: their error answers must fit the socket's receive buffer. */
  maxBatchMessages = unansweredLimit(ASSUMED_BUFFER);

  /** `workerFile`: the thread's script (default: the compiled writer-worker.js; tests pass their own). */
  constructor(private readonly opts: { recvBufferBytes?: number; workerFile?: URL } = {}) {
    this.workerFile = opts.workerFile ?? compiledWorker('writer-worker');
    // Started now, so the first burst of routes does not wait for a thread to start (nor for a socket).
    if (this.workerFile) this.spawn();
    this.channel();
  }

  get threaded(): boolean {
    return this.workerFile !== undefined;
  }

  /** Memory for a batch of up to `bytes` (a whole ArrayBuffer of its own, reused once answered). */
  batchBuffer(bytes: number): Buffer {
    const b = this.pool.pop();
    return Buffer.from(b && b.byteLength === bytes ? b : new ArrayBuffer(bytes));
  }

  private recycle(b: ArrayBuffer): void {
    if (this.pool.length < POOL && b.byteLength > 0) this.pool.push(b);
  }

  send(batch: Batch): void {
    if (this.closed) return batch.done(undefined, EIO);
    const now = performance.now();
    const inline =
      this.pending.size === 0 &&
      this.dumps.size === 0 &&
      batch.last - batch.first < INLINE_MESSAGES &&
      now - this.lastWrite >= INLINE_AFTER_IDLE_MS;
    if (!this.workerFile || inline) {
      this.lastWrite = now;
      const ch = this.channel();
      if (typeof ch === 'number') return batch.done(undefined, ch);
      const r = ch.sendBatch(batch.buf, batch.buf.length, batch.first, batch.last);
      this.afterLocal(r.lost);
      if (batch.buf.byteOffset === 0 && batch.buf.buffer instanceof ArrayBuffer)
        this.recycle(batch.buf.buffer);
      // Answered on a later turn, as from the thread: callers never see their own call re-entered.
      setImmediate(() => batch.done(r.failed ? new Map(r.failed) : undefined, r.lost));
      return;
    }
    const w = this.worker ?? this.spawn();
    this.pending.set(batch.first, batch);
    const b = batch.buf;
    // Transfer the batch's memory when it is a whole ArrayBuffer of its own; copy otherwise.
    const own = b.byteOffset === 0 && b.buffer instanceof ArrayBuffer;
    const buf = own ? (b.buffer as ArrayBuffer) : new Uint8Array(b).buffer;
    const msg: WriterIn = { kind: 'batch', first: batch.first, last: batch.last, buf, length: b.length };
    w.postMessage(msg, [buf]);
  }

  /** A dump as buffers of whole datagrams (read with forEachMessage); rejects with the errno's name. */
  dump(type: number, family: number): Promise<Buffer[]> {
    if (this.closed) return Promise.reject(new Error('netlink writer is closed'));
    if (!this.workerFile) {
      const ch = this.channel();
      if (typeof ch === 'number') return Promise.reject(new Error(`netlink socket: ${errnoName(ch)}`));
      const r = ch.dump(type, family);
      this.afterLocal(r.errno);
      return r.chunks
        ? Promise.resolve(r.chunks)
        : Promise.reject(new Error(`netlink dump: ${errnoName(r.errno)}`));
    }
    const w = this.worker ?? this.spawn();
    const id = ++this.dumpId;
    return new Promise((resolve, reject) => {
      this.dumps.set(id, (r) =>
        r.chunks ? resolve(r.chunks) : reject(new Error(`netlink dump: ${errnoName(r.errno)}`)),
      );
      w.postMessage({ kind: 'dump', id, type, family } satisfies WriterIn);
    });
  }

  private channel(): RtnlChannel | number {
    if (this.local) return this.local;
    const o = RtnlChannel.open({ recvBufferBytes: this.opts.recvBufferBytes });
    if (!o.channel) return o.errno;
    this.maxBatchMessages = unansweredLimit(o.channel.recvBufferBytes);
    return (this.local = o.channel);
  }

  /** A socket that failed beyond ENOBUFS (a missing answer included) is replaced on the next request. */
  private afterLocal(errno: number): void {
    const ch = this.local;
    if (errno === 0 || errno === 105 || !ch) return;
    if (ch.stillOurs()) ch.close();
    else ch.abandon();
    this.local = undefined;
  }

  private spawn(): Worker {
    const data: WriterWorkerData = { recvBufferBytes: this.opts.recvBufferBytes };
    const w = new Worker(this.workerFile!, { workerData: data });
    this.worker = w;
    w.on('message', (m: WriterOut) => {
      switch (m.kind) {
        case 'ready':
          if (m.recvBufferBytes > 0) this.maxBatchMessages = unansweredLimit(m.recvBufferBytes);
          return;
        case 'answer': {
          this.recycle(m.buf);
          const batch = this.pending.get(m.first);
          if (!batch) return;
          this.pending.delete(m.first);
          this.lastWrite = performance.now();
          return batch.done(m.failed ? new Map(m.failed) : undefined, m.lost);
        }
        case 'dump': {
          const done = this.dumps.get(m.id);
          if (!done) return;
          this.dumps.delete(m.id);
          return done({
            chunks: m.errno ? null : m.chunks.map((c, i) => Buffer.from(c, 0, m.lengths[i])),
            errno: m.errno,
          });
        }
      }
    });
    const gone = (): void => {
      if (this.worker !== w) return;
      this.worker = undefined;
      const lost = [...this.pending.values()];
      const dumps = [...this.dumps.values()];
      this.pending.clear();
      this.dumps.clear();
      for (const b of lost) b.done(undefined, EIO);
      for (const d of dumps) d({ chunks: null, errno: EIO });
    };
    w.on('error', gone);
    w.on('exit', gone);
    return w;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.local?.close();
    const lost = [...this.pending.values()];
    this.pending.clear();
    for (const b of lost) b.done(undefined, EIO);
    for (const d of this.dumps.values()) d({ chunks: null, errno: EIO });
    this.dumps.clear();
    stopWorker(this.worker);
    this.worker = undefined;
  }
}
