/**
 * The worker thread of writer.ts: one NETLINK_ROUTE socket (channel.ts), driven synchronously. Each batch
 * is sent and its answers read before the next request is looked at, so no more messages are ever
 * unanswered than one batch holds; a dump is read to its end. Every errno becomes an answer: a batch lost
 * with that errno, a dump failed with it. A socket that failed beyond ENOBUFS is replaced by the next
 * request.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RtnlChannel } from './channel.js';
import type { WriterIn, WriterOut, WriterWorkerData } from './writer.js';

const port = parentPort;
if (!port) throw new Error('writer-worker.js runs as a worker thread');
const { recvBufferBytes } = workerData as WriterWorkerData;
const post = (m: WriterOut, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
const ENOBUFS = 105;

let channel: RtnlChannel | undefined;
let openErrno = 0;

function open(): RtnlChannel | undefined {
  if (channel) return channel;
  const o = RtnlChannel.open({ recvBufferBytes });
  openErrno = o.errno;
  return (channel = o.channel ?? undefined);
}

/**
 * After a failure: a socket that failed beyond ENOBUFS is replaced — closed if its number is still ours,
 * abandoned if not. An answer that never came (ETIMEDOUT) counts: rtnetlink answers inside our send(), so
 * a missing one means another thread reads this socket (its number was reused after a close under us).
 */
function settle(errno: number): void {
  if (errno === 0 || errno === ENOBUFS || !channel) return;
  if (channel.stillOurs()) channel.close();
  else channel.abandon();
  channel = undefined;
}

const first = open();
post({ kind: 'ready', recvBufferBytes: first?.recvBufferBytes ?? 0, errno: openErrno });

port.on('message', (m: WriterIn) => {
  const ch = open();
  if (m.kind === 'batch') {
    const answer = (failed: [number, number][] | null, lost: number): void =>
      post({ kind: 'answer', first: m.first, failed, lost, buf: m.buf }, [m.buf]);
    if (!ch) return answer(null, openErrno);
    const r = ch.sendBatch(new Uint8Array(m.buf, 0, m.length), m.length, m.first, m.last);
    settle(r.lost);
    return answer(r.failed, r.lost);
  }
  if (!ch) return post({ kind: 'dump', id: m.id, chunks: [], lengths: [], errno: openErrno });
  const r = ch.dump(m.type, m.family);
  settle(r.errno);
  if (!r.chunks) return post({ kind: 'dump', id: m.id, chunks: [], lengths: [], errno: r.errno });
  const chunks = r.chunks.map((c) => c.buffer as ArrayBuffer);
  post({ kind: 'dump', id: m.id, chunks, lengths: r.chunks.map((c) => c.length), errno: 0 }, chunks);
});
