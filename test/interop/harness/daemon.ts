/**
 * A process started inside a namespace, with its log captured to a file in its own directory, and the
 * stop / kill / pause / resume verbs tests need (pause = SIGSTOP: the peer sees silence, then a hold-timer expiry).
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { procStatusKb, signal, until, type Netns } from '../../../toolkit/index.js';

export class Daemon {
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  readonly logFile: string;

  constructor(
    readonly name: string,
    readonly ns: Netns,
    readonly dir: string,
    readonly proc: ChildProcess,
  ) {
    this.logFile = join(dir, `${name}.log`);
    const out = createWriteStream(this.logFile, { flags: 'a' });
    // Two sources into one file: neither may end it while the other still writes; 'close' ends it.
    proc.stdout?.pipe(out, { end: false });
    proc.stderr?.pipe(out, { end: false });
    proc.once('close', () => out.end());
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code, sig) => {
        this.exitCode = code ?? (sig ? -1 : null);
        resolve(this.exitCode);
      }),
    );
  }

  /**
   * The daemon's own pid. `proc` is `ip netns exec …`, which execs the daemon in place, so it is the same pid.
   */
  get pid(): number {
    if (this.proc.pid === undefined) throw new Error(`${this.name}: not started`);
    return this.proc.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** SIGTERM, wait up to `graceMs`, then SIGKILL. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    signal(this.pid, 'SIGCONT');
    signal(this.pid, 'SIGTERM');
    await until(() => !this.running, { timeout: graceMs, interval: 20, what: `${this.name} exit` }).catch(
      () => this.kill(),
    );
    await this.exited;
  }

  kill(): void {
    if (this.running) signal(this.pid, 'SIGKILL');
  }

  pause(): void {
    signal(this.pid, 'SIGSTOP');
  }

  resume(): void {
    signal(this.pid, 'SIGCONT');
  }

  /** Peak resident set size (kB), from VmHWM in /proc/<pid>/status. */
  peakRssKb(): number {
    return procStatusKb(this.pid, 'VmHWM');
  }
}
