/**
 * The worker thread of writer.ts: sends the batches it is handed on its own NETLINK_ROUTE socket and posts
 * back each batch's answer.
 */
import { parentPort } from 'node:worker_threads';
import { RtnlSocket } from './socket.js';
import type { BatchAnswer, BatchRequest } from './writer.js';

const port = parentPort;
if (!port) throw new Error('writer-worker.js runs as a worker thread');
const sock = new RtnlSocket();
port.on('message', (r: BatchRequest) => {
  sock.send({
    buf: Buffer.from(r.buf, 0, r.length),
    first: r.first,
    last: r.last,
    done: (failed, lost) => {
      const answer: BatchAnswer = { first: r.first, failed: failed ? [...failed] : null, lost };
      port.postMessage(answer);
    },
  });
});
