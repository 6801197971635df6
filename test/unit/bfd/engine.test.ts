/**
 * The BFD IO shell on loopback (no privileges needed) against a peer on a thread of its own: what happens to
 * the peer's packets while our thread is kept off the CPU. The peer (a worker thread with node:dgram, TTL
 * 255) answers the RFC 5880 three-way handshake and then sends Up every 20 ms whatever we do, so its packets
 * queue in our socket while this thread is blocked.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { BfdEngine } from '../../../bfd/engine.js';
import type { StateChange } from '../../../bfd/manager.js';
import { libcAvailable } from '../../../sys/libc.js';

const available = libcAvailable();
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** A minimal BFD peer at 127.0.0.2:`port`: Down → Init on our Down, Up on our Init or Up; then Up, always. */
const PEER = `
const dgram = require('node:dgram');
const { parentPort, workerData } = require('node:worker_threads');
const { port, to } = workerData;
const s = dgram.createSocket('udp4');
let state = 1; // Down
let yours = 0;
const mine = 0x5eed;
s.on('message', (b) => {
  const theirs = b[1] >> 6;
  yours = b.readUInt32BE(4);
  if (state === 1 && theirs === 1) state = 2; // Init
  else if (state !== 3 && (theirs === 2 || theirs === 3)) state = 3; // Up
});
s.bind({ address: '127.0.0.2', port }, () => {
  s.setTTL(255);
  setInterval(() => {
    const p = Buffer.alloc(24);
    p[0] = 1 << 5; // version 1, diag 0
    p[1] = state << 6;
    p[2] = 3; // detect mult
    p[3] = 24;
    p.writeUInt32BE(mine, 4);
    p.writeUInt32BE(yours, 8);
    p.writeUInt32BE(20000, 12); // desired min TX 20 ms
    p.writeUInt32BE(20000, 16); // required min RX 20 ms
    s.send(p, to, '127.0.0.1');
  }, 20);
  parentPort.postMessage('ready');
});
`;

async function until<T>(f: () => T | undefined | false, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(!available)('BfdEngine on loopback', () => {
  it('reads the packets that queued while its thread was blocked before judging the detection time', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const peer = new Worker(PEER, { eval: true, workerData: { port, to: port } });
    cleanups.push(() => peer.terminate());
    await new Promise((r) => peer.once('message', r));
    const changes: StateChange[] = [];
    const engine = new BfdEngine({
      onChange: (c) => changes.push(c),
      listen: { ipv4: '127.0.0.1' },
      ports: { singleHop: port, multihop: port + 1 },
    });
    cleanups.push(() => engine.close());
    engine.set({
      peer: '127.0.0.2',
      local: '127.0.0.1',
      // 100 ms × 3 here (the peer sends every 20 ms whatever we ask): on a loaded CI machine the peer's own thread
      // can be off the CPU for more than a 60 ms detection time, a real silence this test is not about.
      desiredMinTx: 100_000,
      requiredMinRx: 100_000,
      detectMult: 3,
    });
    await until(() => engine.snapshot().sessions[0]?.state === 'Up', 5000);
    expect(engine.snapshot().sessions[0]).toMatchObject({ detectionTime: 300_000 });

    // Five detection times with this thread off the CPU (as a starved thread is); the peer goes on sending.
    const blockedUntil = performance.now() + 1500;
    while (performance.now() < blockedUntil);
    await new Promise((r) => setTimeout(r, 100));

    const s = engine.snapshot();
    expect(s.timerLateMaxMs).toBeGreaterThan(1000); // the timer did fire that late…
    expect(s.timerLate.over200).toBeGreaterThanOrEqual(1);
    expect(changes.filter((c) => c.to === 'Down')).toEqual([]); // …and the peer, whose packets were waiting, stays Up
    expect(s.sessions[0]).toMatchObject({ state: 'Up', downCount: 0 });

    // Whereas a peer that really falls silent is still called down.
    await peer.terminate();
    await until(() => engine.snapshot().sessions[0]?.state === 'Down', 2000);
    expect(changes.at(-1)).toMatchObject({ from: 'Up', to: 'Down', diag: 1 });
  });
});
