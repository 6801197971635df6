/**
 * Commands as argv, never through a shell, inside a network namespace or not, and the signals that stop them.
 *
 *   await run(['ip', '-n', ns, 'route', 'show'])      // stdout; CommandError (with stderr) unless it exits 0
 *   await tryRun(['ping', '-c', '1', addr])           // { code, stdout, stderr }, whatever the exit code
 *   runSync(['ip', 'netns', 'add', name])             // the same, synchronously (exit handlers, setup)
 *   run(inNs(ns, ['vtysh', '-c', 'show bgp summary']))
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Kill the command after this long (default 30 s). */
  readonly timeoutMs?: number;
}

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: RunResult,
  ) {
    super(`${argv.join(' ')} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
}

const MAX_BUFFER = 256 * 1024 * 1024;

/** Runs argv and resolves with its output, whatever the exit code (a timeout is exit code 124). */
export function tryRun(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve) => {
    execFile(
      argv[0],
      argv.slice(1),
      { env: options.env ?? process.env, timeout: timeoutMs, maxBuffer: MAX_BUFFER },
      (err, stdout, stderr) => {
        let code = 0;
        let why = '';
        if (err) {
          const e = err as { code?: unknown; killed?: boolean };
          code = typeof e.code === 'number' ? e.code : e.killed ? 124 : 1;
          if (e.killed) why = `\n(killed after ${timeoutMs} ms)`;
          else if (typeof e.code === 'string') why = `\n(${err.message})`; // ENOENT: no such program
        }
        resolve({ code, stdout: String(stdout), stderr: String(stderr) + why });
      },
    );
  });
}

/** Runs argv; resolves with stdout, or throws CommandError (stderr in its message) unless it exits 0. */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<string> {
  const r = await tryRun(argv, options);
  if (r.code !== 0) throw new CommandError(argv, r);
  return r.stdout;
}

/** `run`, synchronously. */
export function runSync(argv: readonly string[], options: RunOptions = {}): string {
  try {
    return execFileSync(argv[0], argv.slice(1), {
      encoding: 'utf8',
      env: options.env ?? process.env,
      timeout: options.timeoutMs ?? 30_000,
      maxBuffer: MAX_BUFFER,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { status?: number | null; stdout?: string; stderr?: string; message: string };
    throw new CommandError(argv, {
      code: e.status ?? 1,
      stdout: e.stdout ?? '',
      stderr: e.stderr || e.message,
    });
  }
}

/** argv prefixed so that it runs in network namespace `ns`. */
export function inNs(ns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

export interface StartOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** In its own session, not waited for: it outlives this process (a lab brought up by the CLI). */
  readonly detached?: boolean;
}

/**
 * Starts a long-running process with stdout and stderr appended to `logFile`. With `ip netns exec` in front
 * (`inNs`) the pid is the program's own: ip execs it in place.
 */
export function startLogged(
  argv: readonly string[],
  logFile: string,
  options: StartOptions = {},
): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(argv[0], argv.slice(1), {
      detached: options.detached === true,
      stdio: ['ignore', fd, fd],
      env: options.env ?? process.env,
    });
    if (options.detached) child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${argv[0]}`);
    return child;
  } finally {
    closeSync(fd);
  }
}

/** Sends a signal; false when the process is already gone. Never throws. */
export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A `kB` field of /proc/<pid>/status: VmHWM is the peak resident set size, VmRSS the current one. Throws when
 * the process is gone (a dead daemon must not read as a small one).
 */
export function procStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}
