/**
 * The BFD process: an engine (engine.ts) in a Node process of its own, started by service.ts with
 * `--single-threaded` — so that neither the daemon's busy main thread (a million routes, a kernel flush) nor
 * anything the daemon's V8 does delays a BFD packet or a detection timer. It reports every state change at
 * once and a snapshot of every session on a fixed period (the control socket reads the latest).
 *
 * Why a process, not a worker thread (measured during a 200k-route load on 2 cores): the worker's own loop
 * was never the problem, but its garbage collections were — pauses of 30-140 ms in a heap of a few MB, the
 * thread neither running nor runnable meanwhile: V8 stops every thread of an isolate at a safepoint, and the
 * background threads it shares with the daemon's isolate (concurrent compilation and marking, at normal
 * priority) were themselves waiting for a CPU. With `--single-threaded` this V8 has no background work at all,
 * and nothing of it is shared with the daemon's.
 *
 * The process ends when the daemon says `close` (AdminDown to every peer first) or when its IPC channel goes
 * (the daemon died: the peers then see our packets stop, as they should).
 */
import { BfdEngine } from './engine.js';
import type { FromWorker, ToWorker, WorkerSetup } from './protocol.js';

if (process.send === undefined) throw new Error('bfd/child.ts runs as a child process with an IPC channel');
const setup = JSON.parse(process.argv[2] ?? '{}') as WorkerSetup;
const post = (m: FromWorker) => {
  if (process.connected) process.send?.(m);
};

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

// A Ctrl-C or a service manager's SIGTERM to the whole process group reaches us too: the daemon's own stop
// closes us (AdminDown first), and should it die instead, the channel goes.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => undefined);

process.on('disconnect', () => {
  clearInterval(tick);
  engine.close();
});

process.on('message', (m: ToWorker) => {
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
      process.disconnect();
      break;
    default: {
      const never: never = m;
      throw new Error(`unknown message ${JSON.stringify(never)}`);
    }
  }
});
