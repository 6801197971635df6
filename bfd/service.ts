/**
 * BFD for a program's main thread: `set` / `remove` sessions, hear 'change' events, read the latest snapshot.
 * The sessions run in a process of their own (child.ts, Node with `--single-threaded`: why not a worker
 * thread is said there); `inProcess` runs the same engine on the calling thread instead (tests, or a program
 * with nothing else to do).
 *
 *   const bfd = new BfdService();
 *   bfd.on('change', (c) => { if (c.from === 'Up' && c.to === 'Down') … });
 *   bfd.set({ peer: '10.77.0.1', desiredMinTx: 100_000, requiredMinRx: 100_000, detectMult: 3 });
 *
 * Should the process die, it is started again after a second with every session it had (the peers see one
 * session go down and come back); 'problem' says so. 'problem' also carries socket errors (a port in use).
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fork, type ChildProcess } from 'node:child_process';
import { BfdEngine, type EngineOptions, type EngineSnapshot } from './engine.js';
import { sessionKey, type BfdPeerConfig, type StateChange } from './manager.js';
import type { FromWorker, ToWorker, WorkerSetup } from './protocol.js';

export interface BfdServiceOptions {
  /** Run on the calling thread (no BFD process). */
  readonly inProcess?: boolean;
  readonly listen?: EngineOptions['listen'];
  readonly ports?: EngineOptions['ports'];
  /** How often the BFD process refreshes the snapshot (ms, default 1000). */
  readonly snapshotMs?: number;
}

export interface BfdServiceEvents {
  change: (c: StateChange) => void;
  problem: (message: string) => void;
}

const RESTART_MS = 1000;
const EMPTY: EngineSnapshot = {
  sessions: [],
  discards: {},
  timerLateMaxMs: 0,
  timerLate50ms: 0,
  timerLate: {},
  timerLateRunqueueMs: 0,
};

export class BfdService extends EventEmitter {
  private readonly configs = new Map<string, BfdPeerConfig>();
  private child: ChildProcess | undefined;
  private engine: BfdEngine | undefined;
  private latest: EngineSnapshot = EMPTY;
  private closing = false;
  private restart: NodeJS.Timeout | undefined;

  constructor(private readonly opts: BfdServiceOptions = {}) {
    super();
  }

  override on<K extends keyof BfdServiceEvents>(event: K, listener: BfdServiceEvents[K]): this {
    return super.on(event, listener);
  }

  override emit<K extends keyof BfdServiceEvents>(
    event: K,
    ...args: Parameters<BfdServiceEvents[K]>
  ): boolean {
    return super.emit(event, ...args);
  }

  /** Add a session or change its timers; starts the BFD process on first use. */
  set(config: BfdPeerConfig): void {
    this.configs.set(sessionKey(config.peer, config.multihop === true), config);
    this.send({ type: 'set', config });
  }

  remove(peer: string, multihop = false): void {
    if (!this.configs.delete(sessionKey(peer, multihop))) return;
    this.send({ type: 'remove', peer, multihop });
  }

  /** Every session as of the BFD process's last report (at most `snapshotMs` old, fresh after each change). */
  snapshot(): EngineSnapshot {
    if (this.engine !== undefined) return this.engine.snapshot();
    return this.latest;
  }

  /** AdminDown to every peer, then the BFD process ends. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.restart !== undefined) clearTimeout(this.restart);
    if (this.engine !== undefined) {
      for (const c of this.configs.values()) this.engine.remove(c.peer, c.multihop === true);
      this.engine.close();
      this.engine = undefined;
      return;
    }
    const w = this.child;
    this.child = undefined;
    if (w === undefined) return;
    const done = new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        w.kill('SIGKILL');
        resolve();
      }, 1000);
      w.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
    if (w.connected) w.send({ type: 'close' } satisfies ToWorker);
    await done;
  }

  // ---- Internals ------------------------------------------------------------------------------------------

  private send(m: ToWorker): void {
    if (this.closing) return;
    if (this.opts.inProcess) {
      this.engine ??= new BfdEngine({
        onChange: (c) => this.emit('change', c),
        onError: (message) => this.emit('problem', message),
        ...(this.opts.listen !== undefined ? { listen: this.opts.listen } : {}),
        ...(this.opts.ports !== undefined ? { ports: this.opts.ports } : {}),
      });
      if (m.type === 'set') this.engine.set(m.config);
      else if (m.type === 'remove') this.engine.remove(m.peer, m.multihop);
      return;
    }
    if (this.child === undefined) {
      if (this.restart !== undefined) return; // the restart replays every config
      this.startChild();
      if (m.type === 'set') return; // startChild sent every config, this one included
    }
    if (this.child?.connected === true) this.child.send(m);
  }

  private startChild(): void {
    const url = new URL('./child.js', import.meta.url);
    if (!existsSync(fileURLToPath(url))) {
      this.emit('problem', `bfd: ${fileURLToPath(url)} is missing (run npm run build); BFD is not running`);
      return;
    }
    const setup: WorkerSetup = {
      snapshotMs: this.opts.snapshotMs ?? 1000,
      ...(this.opts.listen !== undefined ? { listen: this.opts.listen } : {}),
      ...(this.opts.ports !== undefined ? { ports: this.opts.ports } : {}),
    };
    const w = fork(fileURLToPath(url), [JSON.stringify(setup)], {
      execArgv: ['--single-threaded'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child = w;
    w.on('message', (m: FromWorker) => {
      if (m.type === 'change') this.emit('change', m.change);
      else if (m.type === 'snapshot') this.latest = m.snapshot;
      else if (m.type === 'error') this.emit('problem', m.message);
    });
    w.on('error', (err) => this.emit('problem', `bfd: BFD process failed: ${err.message}`));
    w.on('exit', (code, signal) => {
      if (this.child !== w) return;
      this.child = undefined;
      if (this.closing) return;
      this.emit(
        'problem',
        `bfd: BFD process exited (${signal ?? `code ${code}`}); restarting in ${RESTART_MS} ms`,
      );
      this.latest = EMPTY;
      this.restart = setTimeout(() => {
        this.restart = undefined;
        if (!this.closing && this.configs.size > 0) this.startChild();
      }, RESTART_MS);
      this.restart.unref();
    });
    for (const config of this.configs.values()) w.send({ type: 'set', config } satisfies ToWorker);
  }
}
