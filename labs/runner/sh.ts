/** Running commands: plain argv (never a shell), inside a network namespace or not. */
import { execFile, spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: RunResult,
  ) {
    super(`${argv.join(' ')} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
}

/** Runs argv and resolves with its output, whatever the exit code. */
export function run(
  argv: readonly string[],
  env?: NodeJS.ProcessEnv,
  timeoutMs = 30_000,
): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    execFile(
      argv[0],
      argv.slice(1),
      { env: env ?? process.env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolvePromise({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** Runs argv and throws CommandError unless it exits 0. */
export async function must(argv: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await run(argv, env);
  if (r.code !== 0) throw new CommandError(argv, r);
  return r.stdout;
}

/** argv prefixed so it runs in namespace `ns`. */
export function inNs(ns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

/** Starts a long-running process detached, output appended to `logFile`; returns its pid. */
export function startDetached(argv: readonly string[], logFile: string, env?: NodeJS.ProcessEnv): number {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(argv[0], argv.slice(1), {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: env ?? process.env,
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${argv[0]}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** True while a process with this pid exists (and is not a zombie). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return true;
}
