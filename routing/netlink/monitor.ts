/**
 * rtnetlink notifications (links, addresses, routes), read on a thread of their own.
 *
 * A notification socket that overflows reports ENOBUFS, and the `netlink` addon cannot survive that: when
 * poll reports the socket's error it builds its exception with a null syscall name, which throws inside
 * C++ and aborts the process (reproduced: a 64 KiB socket, 5000 routes added by `ip -batch` while the
 * event loop was busy: exit 134). The main thread is busy for tens of milliseconds at a time with BGP and
 * route writes; a thread that does nothing but read keeps the socket drained. It also drops the echoes of
 * our own route writes without decoding them, and hands the rest over in batches. An ENOBUFS that still
 * happens is reported as an overrun (the FIB then re-dumps), and a thread that dies is started again.
 *
 * Without the compiled worker file (the TypeScript sources run directly, as in unit tests) the socket is
 * read on this thread (RtnlMonitor in socket.ts).
 */
import { Worker } from 'node:worker_threads';
import { NlMsg, splitMessages } from './codec.js';
import { FaultHandler, RtnlMonitor } from './socket.js';
import { compiledWorker, stopWorker } from './threads.js';

export interface MonitorWorkerData {
  groups: number[];
  /** RTM_NEWROUTE notifications with these rtm_protocol and rtm_table bytes are dropped in the thread. */
  skip: { protocol: number; tableByte: number } | undefined;
}

export type MonitorOut =
  | { kind: 'ready' }
  | { kind: 'data'; buf: ArrayBuffer; length: number }
  | { kind: 'overrun' }
  | { kind: 'fault'; message: string };

export interface MonitorIn {
  join: boolean;
  group: number;
}

const RESTART_MS = 100;

export class MonitorThread {
  private worker: Worker | undefined;
  private local: RtnlMonitor | undefined;
  private readonly groups: Set<number>;
  private closed = false;
  private readonly workerFile = compiledWorker('monitor-worker');
  /** Resolves once the groups are joined (notifications from then on are seen). */
  readonly ready: Promise<void>;

  constructor(
    groups: readonly number[],
    private readonly skip: MonitorWorkerData['skip'],
    private readonly onMessage: (m: NlMsg) => void,
    private readonly onOverrun: () => void,
    private readonly onFault: FaultHandler,
  ) {
    this.groups = new Set(groups);
    if (this.workerFile === undefined) {
      this.local = new RtnlMonitor(groups, onMessage, onOverrun, onFault);
      this.ready = Promise.resolve();
      return;
    }
    this.ready = new Promise((resolve) => this.spawn(resolve));
  }

  join(group: number): void {
    this.groups.add(group);
    if (this.local) this.local.join(group);
    else this.worker?.postMessage({ join: true, group } satisfies MonitorIn);
  }

  leave(group: number): void {
    this.groups.delete(group);
    if (this.local) this.local.leave(group);
    else this.worker?.postMessage({ join: false, group } satisfies MonitorIn);
  }

  private spawn(onReady: () => void): void {
    const data: MonitorWorkerData = { groups: [...this.groups], skip: this.skip };
    const w = new Worker(this.workerFile!, { workerData: data });
    this.worker = w;
    w.on('message', (m: MonitorOut) => {
      switch (m.kind) {
        case 'ready':
          return onReady();
        case 'overrun':
          return this.onOverrun();
        case 'fault':
          return this.onFault(new Error(m.message), 'monitor thread');
        case 'data':
          return this.deliver(Buffer.from(m.buf, 0, m.length));
      }
    });
    const gone = (err?: Error): void => {
      if (this.worker !== w || this.closed) return;
      this.worker = undefined;
      this.onFault(err ?? new Error('monitor thread exited'), 'monitor thread');
      // Whatever happened meanwhile is caught up by the dump an overrun causes, once the new thread listens.
      setTimeout(() => {
        if (!this.closed) this.spawn(() => this.onOverrun());
      }, RESTART_MS).unref();
    };
    w.on('error', gone);
    w.on('exit', () => gone());
  }

  private deliver(frames: Buffer): void {
    for (let off = 0; off + 4 <= frames.length; ) {
      const len = frames.readUInt32LE(off);
      const datagram = frames.subarray(off + 4, off + 4 + len);
      off += 4 + len;
      for (const m of splitMessages(datagram)) {
        try {
          this.onMessage(m);
        } catch (err) {
          // A message that cannot be handled: reported, and caught up by a dump.
          this.onFault(err instanceof Error ? err : new Error(String(err)), 'monitor');
          this.onOverrun();
        }
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.local?.close();
    stopWorker(this.worker);
    this.worker = undefined;
  }
}
