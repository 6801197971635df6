/**
 * The BFD worker thread: an engine (engine.ts) on an event loop of its own, so that a main thread busy with a
 * million routes or a kernel flush never delays a BFD packet or a detection timer. It reports every state
 * change at once and a snapshot of every session on a fixed period (the control socket reads the latest).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BfdEngine } from './engine.js';
import type { FromWorker, ToWorker, WorkerSetup } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('bfd/worker.ts runs as a worker thread');
const setup = workerData as WorkerSetup;
const post = (m: FromWorker) => port.postMessage(m);

const engine = new BfdEngine({
  onChange: (change) => {
    post({ type: 'change', change });
    post({ type: 'snapshot', snapshot: engine.snapshot() });
  },
  onError: (message) => post({ type: 'error', message }),
  priority: { realtime: 10, nice: -10 },
  ...(setup.listen !== undefined ? { listen: setup.listen } : {}),
  ...(setup.ports !== undefined ? { ports: setup.ports } : {}),
});

const tick = setInterval(() => post({ type: 'snapshot', snapshot: engine.snapshot() }), setup.snapshotMs);

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'set':
      engine.set(m.config);
      break;
    case 'remove':
      engine.remove(m.peer, m.multihop);
      break;
    case 'close':
      for (const s of engine.snapshot().sessions) engine.remove(s.peer, s.multihop);
      clearInterval(tick);
      // The AdminDown packets are out (sent synchronously); nothing else is owed to the peers.
      engine.close();
      post({ type: 'closed' });
      port.close();
      break;
    default: {
      const never: never = m;
      throw new Error(`unknown message ${JSON.stringify(never)}`);
    }
  }
});
