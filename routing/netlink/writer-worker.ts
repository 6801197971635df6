/**
 * The worker thread of writer.ts: queues the batches it is handed, sends them on its own NETLINK_ROUTE socket
 * while no more messages are unanswered than the socket's receive buffer can hold errors for (see
 * unansweredLimit), and posts back each batch's answer. The main thread can hand over batches faster than the
 * kernel takes them; the queue here keeps the kernel busy while the main thread is busy with BGP.
 */
import { parentPort } from 'node:worker_threads';
import { RtnlSocket, unansweredLimit } from './socket.js';
import type { BatchAnswer, BatchRequest } from './writer.js';

const port = parentPort;
if (!port) throw new Error('writer-worker.js runs as a worker thread');
const sock = new RtnlSocket();
const limit = unansweredLimit(sock.recvBufferBytes);
const queue: BatchRequest[] = [];
let head = 0;
let unanswered = 0;

function pump(): void {
  while (head < queue.length) {
    const r = queue[head];
    const n = r.last - r.first + 1;
    if (unanswered > 0 && unanswered + n > limit) return;
    head++;
    unanswered += n;
    sock.send({
      buf: Buffer.from(r.buf, 0, r.length),
      first: r.first,
      last: r.last,
      done: (failed, lost) => {
        unanswered -= n;
        const answer: BatchAnswer = { first: r.first, failed: failed ? [...failed] : null, lost };
        port!.postMessage(answer);
        pump();
      },
    });
  }
  queue.length = 0;
  head = 0;
}

port.on('message', (r: BatchRequest) => {
  queue.push(r);
  pump();
});
