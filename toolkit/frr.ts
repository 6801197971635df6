/**
 * FRR 8.4 in a network namespace, the one starter of the interop tests, the labs and the benchmarks.
 *
 * An instance lives in one directory: each daemon's startup config (`<daemon>.conf`), vty socket
 * (`<daemon>.vty`), pid file (`<daemon>.pid`) and log (`<daemon>.log` when logging to a file), and zebra's
 * zserv socket (`zserv.api`) — so several instances run at once and none reads the host's /etc/frr. zebra
 * runs in the namespace, so bgpd's routes land in that namespace's kernel table.
 *
 *   const frr = await startFrr({ ns: ns.name, dir, configs: { bgpd: 'router bgp 65001\n …' } });
 *   await vtysh(ns.name, dir, 'show bgp summary');
 *
 * The daemons run in the foreground (no `-d`) under `ip netns exec`, which execs them in place, so each child's
 * pid is the daemon's, and log to stdout, which is appended to `<dir>/<daemon>.log`. With `detached` they run
 * in their own session and outlive this process (a lab brought up by the CLI); otherwise they are this
 * process's children.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, inNs, run, runSync, signal, startLogged, tryRun } from './run.js';
import { until } from './until.js';

export const FRR_BIN = '/usr/lib/frr';

/**
 * FRR drops to this user. As root it would insist on membership of the vty group (frrvty), which root lacks
 * on Debian, so the instance directory is handed to `frr` instead.
 */
export const FRR_USER = 'frr';

export type FrrDaemon = 'zebra' | 'bfdd' | 'bgpd' | 'staticd';

export interface FrrOptions {
  /** The network namespace to run in. */
  readonly ns: string;
  /** The instance directory (created; handed to user frr). */
  readonly dir: string;
  /**
   * Daemons started after zebra, in this order (default: bgpd). bfdd before bgpd: bgpd's `neighbor X bfd`
   * reaches bfdd through zebra, so bfdd should be there when the config asks for sessions.
   */
  readonly daemons?: readonly Exclude<FrrDaemon, 'zebra'>[];
  /** Start zebra (default true). Without zebra bgpd runs with -Z and never touches the kernel. */
  readonly zebra?: boolean;
  /** Startup config text per daemon (`<dir>/<daemon>.conf`); an empty file where absent. */
  readonly configs?: Partial<Record<FrrDaemon, string>>;
  /** An integrated frr.conf applied with `vtysh -f` once every daemon answers, as the container image does. */
  readonly apply?: string;
  /** Extra arguments per daemon, e.g. `{ zebra: ['-s', '90000000'] }` (a larger netlink receive buffer). */
  readonly args?: Partial<Record<FrrDaemon, readonly string[]>>;
  /** Outlive this process (its own session). */
  readonly detached?: boolean;
  /** How long each daemon may take to answer (default 15 s). */
  readonly timeoutMs?: number;
}

export interface FrrInstance {
  readonly ns: string;
  readonly dir: string;
  /** The started daemons in start order (zebra first). */
  readonly processes: ReadonlyMap<FrrDaemon, ChildProcess>;
}

/** The command line of one daemon of the instance in `dir` (also what restarts one alone). */
export function frrArgs(dir: string, name: string, zserv = join(dir, 'zserv.api')): string[] {
  return [
    '-u',
    FRR_USER,
    '-g',
    FRR_USER,
    '-P',
    '0',
    '--vty_socket',
    dir,
    '-z',
    zserv,
    '-i',
    join(dir, `${name}.pid`),
    '-f',
    join(dir, `${name}.conf`),
    '--log',
    'stdout',
  ];
}

/** `vtysh --vty_socket DIR -c CMD …` for the instance in `dir`, to run in its namespace. */
export function vtyshArgv(dir: string, commands: readonly string[]): string[] {
  return ['vtysh', '--vty_socket', dir, ...commands.flatMap((c) => ['-c', c])];
}

/** Runs vtysh commands against the instance in `dir`; stdout, or a CommandError with vtysh's message. */
export function vtysh(ns: string, dir: string, ...commands: string[]): Promise<string> {
  return run(inNs(ns, vtyshArgv(dir, commands)));
}

/** A daemon's log file: its stdout and stderr. */
export const frrLog = (dir: string, name: FrrDaemon): string => join(dir, `${name}.log`);

/** The last 2000 characters of a daemon's log, for error messages. */
function logTail(dir: string, name: FrrDaemon): string {
  try {
    return readFileSync(frrLog(dir, name), 'utf8').slice(-2000);
  } catch {
    return '';
  }
}

/**
 * Starts one daemon of the instance (its config file must exist) and waits until it answers: zebra's zserv
 * socket, another daemon's vty socket. Also what restarts one daemon alone next to the others.
 */
export async function startFrrDaemon(
  options: Pick<FrrOptions, 'ns' | 'dir' | 'detached' | 'timeoutMs'>,
  name: FrrDaemon,
  extra: readonly string[] = [],
): Promise<ChildProcess> {
  const { ns, dir } = options;
  const ready = join(dir, name === 'zebra' ? 'zserv.api' : `${name}.vty`);
  for (const f of [join(dir, `${name}.pid`), ready]) rmSync(f, { force: true });
  const argv = inNs(ns, [join(FRR_BIN, name), ...frrArgs(dir, name), ...extra]);
  const proc = startLogged(argv, frrLog(dir, name), { detached: options.detached });
  try {
    await until(() => existsSync(ready), {
      timeout: options.timeoutMs ?? 15_000,
      interval: 25,
      what: `FRR ${name} in ${ns} (${ready})`,
      failIf: () => (exited(proc) ? `${name} exited: ${logTail(dir, name)}` : undefined),
    });
  } catch (err) {
    if (proc.pid !== undefined) signal(proc.pid, 'SIGKILL');
    throw err;
  }
  return proc;
}

const exited = (p: ChildProcess): boolean => p.exitCode !== null || p.signalCode !== null;

/**
 * Starts zebra and the daemons, each once the one before answers, waits until vtysh reaches them all
 * (`show daemons`), then applies `apply` if given. On failure the daemons already started are killed and the
 * error names the daemon and quotes its log.
 */
export async function startFrr(options: FrrOptions): Promise<FrrInstance> {
  const { ns, dir } = options;
  const timeout = options.timeoutMs ?? 15_000;
  const names: FrrDaemon[] = [
    ...(options.zebra === false ? [] : ['zebra' as const]),
    ...(options.daemons ?? ['bgpd']),
  ];
  mkdirSync(dir, { recursive: true });
  rmSync(join(dir, 'zserv.api'), { force: true });
  for (const name of names) writeFileSync(join(dir, `${name}.conf`), options.configs?.[name] ?? '');
  runSync(['chown', '-R', `${FRR_USER}:${FRR_USER}`, dir]);
  const processes = new Map<FrrDaemon, ChildProcess>();
  try {
    for (const name of names) {
      const extra = [
        ...(options.args?.[name] ?? []),
        ...(name === 'bgpd' && options.zebra === false ? ['-Z'] : []),
      ];
      processes.set(name, await startFrrDaemon(options, name, extra));
    }
    await until(
      async () => {
        const r = await tryRun(inNs(ns, vtyshArgv(dir, ['show daemons'])));
        const up = new Set(r.stdout.trim().split(/\s+/));
        return r.code === 0 && names.every((n) => up.has(n));
      },
      { timeout, what: `vtysh to reach ${names.join(', ')} in ${ns}` },
    );
    if (options.apply !== undefined) await run(inNs(ns, ['vtysh', '--vty_socket', dir, '-f', options.apply]));
  } catch (err) {
    for (const proc of processes.values()) if (proc.pid !== undefined) signal(proc.pid, 'SIGKILL');
    throw err;
  }
  return { ns, dir, processes };
}

/** Pids of the instance's daemons that are running, from their pid files (works from any process). */
export function frrPids(dir: string): Partial<Record<FrrDaemon, number>> {
  const out: Partial<Record<FrrDaemon, number>> = {};
  for (const d of ['zebra', 'bfdd', 'bgpd', 'staticd'] as const) {
    const file = join(dir, `${d}.pid`);
    if (!existsSync(file)) continue;
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (pid > 0 && alive(pid)) out[d] = pid;
  }
  return out;
}
