/**
 * The route writer (netlink/writer.ts) with a writer thread that never answers: a small batch handed over
 * while the thread holds nothing, and after a pause in the writes, is written on the calling thread and
 * answered anyway; a big one, one in a stream of batches, or any batch while the thread holds one, waits for
 * the thread. The batches are RTM_GETROUTE queries for 127.0.0.1 —
 * answered by the kernel without privileges and changing nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { INLINE_AFTER_IDLE_MS, INLINE_MESSAGES, RtnlWriter } from '../../../routing/netlink/writer.js';
import { NLM_F_ACK, NLM_F_REQUEST, RTM } from '../../../routing/netlink/constants.js';

const silentWorker = new URL('./fixtures/silent-writer-worker.mjs', import.meta.url);
const MSG = 16 + 12 + 8; // nlmsghdr, rtmsg, RTA_DST

/** `count` RTM_GETROUTE 127.0.0.1/32 with sequence numbers first…, the last asking for an ack. */
function queries(first: number, count: number): Buffer {
  const buf = Buffer.alloc(MSG * count);
  for (let i = 0; i < count; i++) {
    const off = i * MSG;
    buf.writeUInt32LE(MSG, off);
    buf.writeUInt16LE(RTM.RTM_GETROUTE, off + 4);
    buf.writeUInt16LE(NLM_F_REQUEST | (i === count - 1 ? NLM_F_ACK : 0), off + 6);
    buf.writeUInt32LE(first + i, off + 8);
    buf[off + 16] = 2; // AF_INET
    buf[off + 17] = 32; // rtm_dst_len
    buf.writeUInt16LE(8, off + 28);
    buf.writeUInt16LE(1, off + 30); // RTA_DST
    buf.set([127, 0, 0, 1], off + 32);
  }
  return buf;
}

/** Send a batch; resolves with its answer, or 'unanswered' after `ms`. */
function send(w: RtnlWriter, first: number, count: number, ms = 300): Promise<number | 'unanswered'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('unanswered'), ms);
    w.send({
      buf: queries(first, count),
      first,
      last: first + count - 1,
      done: (_failed, lost) => {
        clearTimeout(timer);
        resolve(lost);
      },
    });
  });
}

let writer: RtnlWriter | undefined;
afterEach(() => writer?.close());

describe('RtnlWriter', () => {
  it('writes a small batch on the calling thread while its thread holds nothing', async () => {
    writer = new RtnlWriter({ workerFile: silentWorker });
    expect(writer.threaded).toBe(true);
    expect(await send(writer, 100, 1)).toBe(0);
    await sleep(INLINE_AFTER_IDLE_MS + 5);
    expect(await send(writer, 200, INLINE_MESSAGES)).toBe(0);
  });

  it('hands a small batch to its thread within INLINE_AFTER_IDLE_MS of the last write (a stream of them)', async () => {
    writer = new RtnlWriter({ workerFile: silentWorker });
    const first = send(writer, 100, 1);
    const second = send(writer, 200, 1);
    expect(await first).toBe(0);
    expect(await second).toBe('unanswered');
  });

  it('hands a big batch to its thread, and every batch after it while the thread holds it', async () => {
    writer = new RtnlWriter({ workerFile: silentWorker });
    const big = send(writer, 100, INLINE_MESSAGES + 1);
    // Written here, this one would overtake the big batch on another socket: it waits behind it.
    expect(await send(writer, 1000, 1)).toBe('unanswered');
    expect(await big).toBe('unanswered');
  });
});
