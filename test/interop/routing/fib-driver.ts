/**
 * A Fib running inside a network namespace, for the routing interop tests. The namespaces come from the
 * toolkit (`Lab`: names unique to the run, torn down even when the run is interrupted).
 */
import { execFileSync, spawn, ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Netns } from '../../../toolkit/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');

/** Compile routing/ into dist/ unless dist/routing is newer than every source file. */
export function buildDistIfStale(): void {
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((d) =>
        d.isDirectory() ? newest(join(dir, d.name)) : statSync(join(dir, d.name)).mtimeMs,
      ),
    );
  const out = join(root, 'dist', 'routing', 'fib.js');
  if (existsSync(out) && statSync(out).mtimeMs >= newest(join(root, 'routing'))) return;
  execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(here, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
}

/** `ip -j route`: a gateway of another family than the route's (RFC 8950, RTA_VIA) is `via`, not `gateway`. */
export interface RouteJson {
  dst: string;
  gateway?: string;
  via?: { family: string; host: string };
  dev?: string;
  protocol?: string;
  metric?: number;
  type?: string;
  nexthops?: { gateway?: string; via?: { family: string; host: string }; dev: string }[];
}

type FibEvent = { type: string; [k: string]: unknown };

/** A Fib in a namespace, driven over stdin/stdout (driver.mjs). */
export class FibDriver {
  readonly events: FibEvent[] = [];
  private readonly child: ChildProcessWithoutNullStreams;
  private nextId = 1;
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private stderr = '';

  constructor(ns: Netns, opts: Record<string, unknown> = {}) {
    this.child = spawn('ip', [
      'netns',
      'exec',
      ns.name,
      process.execPath,
      join(here, 'driver.mjs'),
      JSON.stringify(opts),
    ]);
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => this.onLine(line));
    this.child.on('exit', () => {
      for (const c of this.calls.values()) c.reject(new Error(`driver exited: ${this.stderr}`));
      this.calls.clear();
    });
  }

  private onLine(line: string): void {
    const m = JSON.parse(line) as { id?: number; result?: unknown; error?: string; event?: FibEvent };
    if (m.event) {
      this.events.push(m.event);
      return;
    }
    const c = this.calls.get(m.id ?? -1);
    if (!c) return;
    this.calls.delete(m.id ?? -1);
    if (m.error) c.reject(new Error(m.error));
    else c.resolve(m.result);
  }

  call<T = unknown>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.stdin.write(JSON.stringify({ id, op, args }) + '\n');
    });
  }

  /** The driver's exit code once it has exited (null: killed by a signal). */
  exited(): Promise<number | null> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve(this.child.exitCode);
      this.child.once('exit', (code) => resolve(code));
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      // `ip netns exec` execs node, so the pid is node's.
      this.child.kill(signal);
    });
  }
}
