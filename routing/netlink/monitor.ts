/**
 * rtnetlink notifications (links, addresses, routes), read on a thread of their own.
 *
 * A notification socket overflows (ENOBUFS) when notifications arrive faster than they are read — another
 * program adding 50,000 routes while our main thread is busy with BGP does it. The `netlink` addon used
 * before aborted the process on that; here every errno is a value (channel.ts). A thread that does nothing
 * but read keeps the socket drained, drops the echoes of our own route writes without decoding them, and
 * hands the rest over in batches. An overflow that still happens is reported as an overrun (the FIB then
 * re-dumps); a socket that fails otherwise (closed under us, EBADF) is reported as a fault, opened again and
 * reported as an overrun too; a thread that dies is started again the same way.
 *
 * Without the compiled worker file (the TypeScript sources run directly) the socket is read on this thread,
 * polled without waiting every few milliseconds.
 */
import { MessageChannel, MessagePort, Worker } from 'node:worker_threads';
import { NlMsg, splitMessages } from './codec.js';
import { RtnlChannel } from './channel.js';
import { errnoName } from './constants.js';
import { compiledWorker, stopWorker } from './threads.js';
import { ENOBUFS } from './libc.js';

/** Told of a socket error or of an exception thrown by our code while handling a notification. */
export type FaultHandler = (err: Error, where: string) => void;

export interface MonitorOptions {
  groups: readonly number[];
  /** RTM_NEWROUTE notifications with these rtm_protocol and rtm_table bytes are dropped unread. */
  skip: { protocol: number; tableByte: number } | undefined;
  /** SO_RCVBUF of the monitor socket (channel.ts; default 32 MiB, forced). */
  recvBufferBytes?: number;
}

export interface MonitorWorkerData extends MonitorOptions {
  groups: number[];
  control: MessagePort;
}

export type MonitorOut =
  | { kind: 'ready'; recvBufferBytes: number }
  | { kind: 'data'; buf: ArrayBuffer; length: number }
  | { kind: 'overrun' }
  | { kind: 'fault'; message: string };

export type MonitorIn = { kind: 'join'; group: number } | { kind: 'leave'; group: number } | { kind: 'stop' };

const RESTART_MS = 100;
const LOCAL_POLL_MS = 5;

/** True when every message of the datagram is an echo of one of our own route writes. */
export function onlyOurEchoes(buf: Buffer, skip: MonitorOptions['skip']): boolean {
  if (!skip) return false;
  for (let off = 0; off + 16 <= buf.length; ) {
    const len = buf.readUInt32LE(off);
    if (len < 16 || off + len > buf.length) return false;
    const p = off + 16;
    if (buf.readUInt16LE(off + 4) !== 24 /* RTM_NEWROUTE */ || p + 6 > buf.length) return false;
    if (buf[p + 5] !== skip.protocol || buf[p + 4] !== skip.tableByte) return false;
    off += (len + 3) & ~3;
  }
  return true;
}

export class MonitorThread {
  private worker: Worker | undefined;
  private control: MessagePort | undefined;
  private local: RtnlChannel | undefined;
  private localTimer: NodeJS.Timeout | undefined;
  private readonly groups: Set<number>;
  private closed = false;
  private readonly workerFile = compiledWorker('monitor-worker');
  /** Resolves once the groups are joined (notifications from then on are seen); rejects if no socket opens. */
  readonly ready: Promise<void>;
  /** The socket's receive buffer as the kernel accounts it, once ready. */
  recvBufferBytes = 0;

  constructor(
    private readonly opts: MonitorOptions,
    private readonly onMessage: (m: NlMsg) => void,
    private readonly onOverrun: () => void,
    private readonly onFault: FaultHandler,
  ) {
    this.groups = new Set(opts.groups);
    if (this.workerFile === undefined) {
      this.ready = this.openLocal() ? Promise.resolve() : Promise.reject(new Error('monitor socket failed'));
      return;
    }
    this.ready = new Promise((resolve) => this.spawn(resolve));
  }

  join(group: number): void {
    this.groups.add(group);
    if (this.local) this.local.membership(group, true);
    else this.control?.postMessage({ kind: 'join', group } satisfies MonitorIn);
  }

  leave(group: number): void {
    this.groups.delete(group);
    if (this.local) this.local.membership(group, false);
    else this.control?.postMessage({ kind: 'leave', group } satisfies MonitorIn);
  }

  private openLocal(): boolean {
    const o = RtnlChannel.open({ groups: [...this.groups], recvBufferBytes: this.opts.recvBufferBytes });
    if (!o.channel) {
      this.onFault(new Error(`monitor socket: ${errnoName(o.errno)}`), 'monitor');
      return false;
    }
    this.local = o.channel;
    this.recvBufferBytes = o.channel.recvBufferBytes;
    this.localTimer = setInterval(() => this.pollLocal(), LOCAL_POLL_MS);
    this.localTimer.unref();
    return true;
  }

  private pollLocal(): void {
    const ch = this.local;
    if (!ch) return;
    const errno = ch.drain(0, (d) => {
      if (!onlyOurEchoes(d, this.opts.skip)) this.deliverDatagram(Buffer.from(d));
    });
    if (errno === 0) return;
    if (errno === ENOBUFS) return this.onOverrun();
    this.onFault(new Error(`monitor socket: ${errnoName(errno)}`), 'monitor');
    if (ch.stillOurs()) ch.close();
    else ch.abandon();
    clearInterval(this.localTimer);
    this.local = undefined;
    if (!this.closed && this.openLocal()) this.onOverrun();
  }

  private spawn(onReady: () => void): void {
    const { port1, port2 } = new MessageChannel();
    const data: MonitorWorkerData = {
      groups: [...this.groups],
      skip: this.opts.skip,
      recvBufferBytes: this.opts.recvBufferBytes,
      control: port2,
    };
    const w = new Worker(this.workerFile!, { workerData: data, transferList: [port2] });
    this.worker = w;
    this.control = port1;
    port1.unref();
    w.on('message', (m: MonitorOut) => {
      switch (m.kind) {
        case 'ready':
          this.recvBufferBytes = m.recvBufferBytes;
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
      this.control = undefined;
      this.onFault(err ?? new Error('monitor thread exited'), 'monitor thread');
      // Whatever happened meanwhile is caught up by the dump an overrun causes, once the new thread listens.
      setTimeout(() => {
        if (!this.closed) this.spawn(() => this.onOverrun());
      }, RESTART_MS).unref();
    };
    w.on('error', gone);
    w.on('exit', () => gone());
  }

  /** Frames of [u32 length][datagram]… from the thread. */
  private deliver(frames: Buffer): void {
    for (let off = 0; off + 4 <= frames.length; ) {
      const len = frames.readUInt32LE(off);
      this.deliverDatagram(frames.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
  }

  private deliverDatagram(datagram: Buffer): void {
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

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.localTimer);
    this.local?.close();
    this.control?.postMessage({ kind: 'stop' } satisfies MonitorIn);
    stopWorker(this.worker);
    this.worker = undefined;
  }
}
