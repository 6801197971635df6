/**
 * Route writes on a thread of their own. The kernel does its work for a route message inside our sendmsg()
 * call, on the calling thread: a million routes are seconds of it. Sent from a worker thread, that work runs
 * on another core while the main thread goes on decoding BGP and preparing the next batches.
 *
 * The main thread encodes each batch into its own ArrayBuffer and transfers it (no copy); the worker sends it
 * on its NETLINK_ROUTE socket (socket.ts) and posts back the answer: which sequence numbers failed with which
 * errno, or that the socket lost the batch. If the worker dies, what it held is reported lost (and so retried
 * by the Fib), and the next batch starts a new one. Without the compiled worker file (the TypeScript sources
 * run directly, as in unit tests) the writes are sent from this thread instead.
 */
import { Worker } from 'node:worker_threads';
import { Batch, RtnlSocket } from './socket.js';
import { compiledWorker, stopWorker } from './threads.js';

/** What the worker posts back for a batch. */
export interface BatchAnswer {
  first: number;
  failed: [number, number][] | null;
  lost: number;
}

/** What the main thread posts to the worker for a batch. */
export interface BatchRequest {
  first: number;
  last: number;
  buf: ArrayBuffer;
  length: number;
}

const EIO = 5;
const SEQ_MAX = 0x7fffffff;

export class RtnlWriter {
  private worker: Worker | undefined;
  private local: RtnlSocket | undefined;
  private readonly pending = new Map<number, Batch>();
  private seq = 1 + Math.floor(Math.random() * 0x3fffffff);
  private closed = false;
  private readonly workerFile = compiledWorker('writer-worker');
  readonly threaded = this.workerFile !== undefined;

  constructor() {
    // Started now, so the first burst of routes does not wait for a thread to start.
    if (this.threaded) this.spawn();
  }

  reserveSeq(n: number): number {
    if (this.seq + n > SEQ_MAX) this.seq = 1;
    const first = this.seq;
    this.seq += n;
    return first;
  }

  send(batch: Batch): void {
    if (this.closed) throw new Error('netlink writer is closed');
    if (!this.threaded) {
      (this.local ??= new RtnlSocket()).send(batch);
      return;
    }
    const w = this.worker ?? this.spawn();
    this.pending.set(batch.first, batch);
    const b = batch.buf;
    // Transfer the batch's memory when it is a whole ArrayBuffer of its own; copy otherwise.
    const own = b.byteOffset === 0 && b.buffer instanceof ArrayBuffer;
    const buf = own ? (b.buffer as ArrayBuffer) : new Uint8Array(b).buffer;
    const msg: BatchRequest = { first: batch.first, last: batch.last, buf, length: b.length };
    w.postMessage(msg, [buf]);
  }

  private spawn(): Worker {
    const w = new Worker(this.workerFile!);
    this.worker = w;
    w.on('message', (a: BatchAnswer) => {
      const batch = this.pending.get(a.first);
      if (!batch) return;
      this.pending.delete(a.first);
      batch.done(a.failed ? new Map(a.failed) : undefined, a.lost);
    });
    const gone = (): void => {
      if (this.worker !== w) return;
      this.worker = undefined;
      const lost = [...this.pending.values()];
      this.pending.clear();
      for (const b of lost) b.done(undefined, EIO);
    };
    w.on('error', gone);
    w.on('exit', gone);
    return w;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.local?.close();
    this.pending.clear();
    stopWorker(this.worker);
    this.worker = undefined;
  }
}
