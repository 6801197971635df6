/**
 * The thread of monitor.ts: reads rtnetlink notifications as fast as they come (a blocking poll, then every
 * datagram queued), drops the echoes of our own route writes (RTM_NEWROUTE with our protocol and table:
 * skipped from two bytes, not decoded) and posts the rest to the main thread, many datagrams per message.
 * Group changes and the stop request arrive on a port read between polls (receiveMessageOnPort), so the
 * loop never waits on this thread's event loop.
 */
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { RtnlChannel } from './channel.js';
import { errnoName } from './constants.js';
import { ENOBUFS } from './libc.js';
import { onlyOurEchoes, type MonitorIn, type MonitorOut, type MonitorWorkerData } from './monitor.js';
import { parentPort } from 'node:worker_threads';

const port = parentPort;
if (!port) throw new Error('monitor-worker.js runs as a worker thread');
const { groups, skip, recvBufferBytes, control } = workerData as MonitorWorkerData;
const post = (m: MonitorOut, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
const joined = new Set(groups);
const POLL_MS = 100;
const POST_BYTES = 256 * 1024;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

let pending: Buffer[] = [];
let pendingBytes = 0;

function flush(): void {
  if (pending.length === 0) return;
  // Framed as [u32 length][datagram]…, in memory of its own so it can be transferred.
  const out = Buffer.allocUnsafeSlow(pendingBytes + 4 * pending.length);
  let off = 0;
  for (const d of pending) {
    out.writeUInt32LE(d.length, off);
    d.copy(out, off + 4);
    off += 4 + d.length;
  }
  pending = [];
  pendingBytes = 0;
  post({ kind: 'data', buf: out.buffer as ArrayBuffer, length: off }, [out.buffer as ArrayBuffer]);
}

function onDatagram(d: Buffer): void {
  if (onlyOurEchoes(d, skip)) return;
  pending.push(Buffer.from(d)); // d is the channel's receive buffer, reused by the next read
  pendingBytes += d.length;
  if (pendingBytes >= POST_BYTES) flush();
}

function open(): RtnlChannel | undefined {
  const o = RtnlChannel.open({ groups: [...joined], recvBufferBytes });
  if (!o.channel) post({ kind: 'fault', message: `monitor socket: ${errnoName(o.errno)}` });
  return o.channel ?? undefined;
}

let ch = open();
let first = true;
let stop = false;
let checks = 0;
while (!stop) {
  for (let m = receiveMessageOnPort(control); m; m = receiveMessageOnPort(control)) {
    const c = m.message as MonitorIn;
    if (c.kind === 'stop') stop = true;
    else if (c.kind === 'join') {
      joined.add(c.group);
      ch?.membership(c.group, true);
    } else {
      joined.delete(c.group);
      ch?.membership(c.group, false);
    }
  }
  if (stop) break;
  if (!ch) {
    Atomics.wait(sleeper, 0, 0, 1000);
    ch = open();
    if (ch) post({ kind: 'overrun' }); // what happened without a socket is caught up by a dump
    continue;
  }
  if (first) {
    first = false;
    post({ kind: 'ready', recvBufferBytes: ch.recvBufferBytes });
  }
  const errno = ch.drain(POLL_MS, onDatagram);
  flush();
  if (errno === ENOBUFS) post({ kind: 'overrun' });
  else if (errno !== 0) {
    post({ kind: 'fault', message: `monitor socket: ${errnoName(errno)}; opening a new one` });
    if (ch.stillOurs()) ch.close();
    else ch.abandon();
    ch = undefined;
  } else if (++checks % 50 === 0 && !ch.stillOurs()) {
    // Closed under us and its number taken by another socket: poll never says so. Every ~5 s at worst.
    post({ kind: 'fault', message: 'monitor socket: replaced under us; opening a new one' });
    ch.abandon();
    ch = undefined;
  }
}
ch?.close();
control.close();
