/**
 * The thread of monitor.ts: reads rtnetlink notifications as fast as they come, drops the echoes of our own
 * route writes (RTM_NEWROUTE with our protocol and table: skipped from two bytes, not decoded) and posts the
 * rest to the main thread, many datagrams per message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ErrnoException } from 'netlink/dist/raw.js';
import { NLMSG_HDRLEN } from './codec.js';
import { RTM } from './constants.js';
import { openRawSocket } from './socket.js';
import type { MonitorIn, MonitorOut, MonitorWorkerData } from './monitor.js';

const port = parentPort;
if (!port) throw new Error('monitor-worker.js runs as a worker thread');
const { groups, skip } = workerData as MonitorWorkerData;
const post = (m: MonitorOut, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

/** True when every message of the datagram is an echo of one of our own route writes. */
function onlyOurEchoes(buf: Buffer): boolean {
  if (!skip) return false;
  for (let off = 0; off + NLMSG_HDRLEN <= buf.length; ) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) return false;
    const p = off + NLMSG_HDRLEN;
    if (buf.readUInt16LE(off + 4) !== RTM.RTM_NEWROUTE || p + 6 > buf.length) return false;
    if (buf[p + 5] !== skip.protocol || buf[p + 4] !== skip.tableByte) return false;
    off += (len + 3) & ~3;
  }
  return true;
}

let pending: Buffer[] = [];
let pendingBytes = 0;
let scheduled = false;

function flush(): void {
  scheduled = false;
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

const sock = openRawSocket();
sock.on('message', (buf: Buffer) => {
  try {
    if (onlyOurEchoes(buf)) return;
    pending.push(buf);
    pendingBytes += buf.length;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  } catch (err) {
    post({ kind: 'fault', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
sock.on('error', (e: ErrnoException) => {
  post(
    e.code === 'ENOBUFS' || e.errno === 105
      ? { kind: 'overrun' }
      : { kind: 'fault', message: `monitor socket: ${e.message}` },
  );
});
for (const g of groups) sock.addMembership(g);
port.on('message', (m: MonitorIn) => {
  if (m.join) sock.addMembership(m.group);
  else sock.dropMembership(m.group);
});
post({ kind: 'ready' });
