/**
 * Network namespaces, veth pairs and the processes in them, for the interop tests, the benchmarks and the lab
 * runner. Two rules hold for every user:
 *
 * - Names are unique to the run. A `Lab` prefixes everything it creates with `nb<pid in base 36>` (a live
 *   process's pid is unique on the machine), so several test files, benchmark runs and helpers share one host.
 * - Teardown always happens: every process whose network namespace is one of ours is killed (`ip netns pids`:
 *   whatever started it), then the namespace is deleted — at `teardown()`, and also on exit, SIGINT and SIGTERM
 *   through one safety net (`onExit`), so an interrupted run leaves nothing behind.
 *
 *   const lab = new Lab();                        // prefix nb2k9x
 *   const a = lab.namespace('frr');               // ip netns add nb2k9xn1-frr; lo up
 *   const b = lab.namespace('bird');
 *   lab.link(a, b, { a: ['10.77.0.1/24', 'fd00:77::1/64'], b: ['10.77.0.2/24', 'fd00:77::2/64'] });
 *   a.spawn('/usr/lib/frr/bgpd', [...]);          // ip netns exec nb2k9xn1-frr …
 *   await lab.teardown();                         // afterAll / finally
 *
 * The free functions (`createNamespace`, `destroyNamespaces`, …) work on names alone, for a process that tears
 * down what another one created (`nodebgp lab down` reads the names from the lab's state file).
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runSync, signal, sleep } from './run.js';

// ---- the exit safety net ---------------------------------------------------------------------------------

const exitHooks = new Set<() => void>();
let exitHooksInstalled = false;

function runExitHooks(): void {
  for (const fn of [...exitHooks]) {
    exitHooks.delete(fn);
    try {
      fn();
    } catch {
      // best effort: the others still run
    }
  }
}

/**
 * Runs `fn` (synchronous: the process is going) on exit, SIGINT or SIGTERM, unless the returned function was
 * called first. After a signal the process exits 130 (SIGINT) or 143 (SIGTERM).
 */
export function onExit(fn: () => void): () => void {
  if (!exitHooksInstalled) {
    exitHooksInstalled = true;
    process.on('exit', runExitHooks);
    for (const sig of ['SIGINT', 'SIGTERM'] as const)
      process.once(sig, () => {
        runExitHooks();
        process.exit(sig === 'SIGINT' ? 130 : 143);
      });
  }
  exitHooks.add(fn);
  return () => exitHooks.delete(fn);
}

// ---- namespaces by name ----------------------------------------------------------------------------------

/** The names of every network namespace on the host (`ip netns list`). */
export function listNamespaces(): Set<string> {
  const out = runSync(['ip', 'netns', 'list']);
  return new Set(
    out
      .split('\n')
      .map((l) => l.split(' ')[0])
      .filter((n) => n !== ''),
  );
}

/** Creates a namespace with loopback up. */
export function createNamespace(name: string): void {
  runSync(['ip', 'netns', 'add', name]);
  runSync(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
}

/** Pids of every process whose network namespace is `name`, never this process's own. */
export function namespacePids(name: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split(/\s+/)
      .filter((s) => /^\d+$/.test(s))
      .map(Number)
      .filter((p) => p !== process.pid);
  } catch {
    return [];
  }
}

const pidsIn = (names: readonly string[]): number[] => names.flatMap(namespacePids);

/** SIGKILLs every process in the namespaces until none is left (or ~2 s passed). Synchronous. */
export function killNamespacesSync(names: readonly string[]): void {
  for (let round = 0; round < 40; round += 1) {
    const pids = pidsIn(names);
    if (pids.length === 0) return;
    for (const pid of pids) signal(pid, 'SIGKILL');
    execFileSync('sleep', ['0.05']);
  }
}

/**
 * Stops every process in the namespaces: SIGCONT (a paused daemon cannot act on SIGTERM) and SIGTERM, up to
 * `graceMs` for them to exit (daemons withdraw, write profiles), then SIGKILL for what is left.
 */
export async function killNamespaces(names: readonly string[], graceMs = 3000): Promise<void> {
  const pids = pidsIn(names);
  if (pids.length === 0) return;
  for (const pid of pids) {
    signal(pid, 'SIGCONT');
    signal(pid, 'SIGTERM');
  }
  const end = Date.now() + graceMs;
  while (Date.now() < end && pidsIn(names).length > 0) await sleep(50);
  killNamespacesSync(names);
}

/** Deletes the namespaces that exist (their veths go with them); returns the ones deleted. Never throws. */
export function deleteNamespaces(names: readonly string[]): string[] {
  const existing = listNamespaces();
  const deleted: string[] = [];
  for (const name of names) {
    if (!existing.has(name)) continue;
    try {
      runSync(['ip', 'netns', 'delete', name]);
      deleted.push(name);
    } catch {
      // already gone
    }
  }
  return deleted;
}

/** Kills everything in the namespaces, then deletes them; returns the ones that existed. */
export async function destroyNamespaces(names: readonly string[], graceMs?: number): Promise<string[]> {
  await killNamespaces(names, graceMs);
  return deleteNamespaces(names);
}

/** `destroyNamespaces` without the grace period, synchronously (exit handlers). */
export function destroyNamespacesSync(names: readonly string[]): string[] {
  killNamespacesSync(names);
  return deleteNamespaces(names);
}

// ---- veth pairs ------------------------------------------------------------------------------------------

export interface VethEnd {
  /** The namespace this end lives in. */
  readonly ns: string;
  /** The interface name in that namespace (at most 15 characters). */
  readonly name: string;
  /** `10.77.0.1/24`, `fd00:77::1/64` (IPv6 added `nodad`, so it is usable at once). */
  readonly addresses?: readonly string[];
  /** A fixed MAC gives a predictable IPv6 link-local address (EUI-64): 02:00:00:00:00:02 → fe80::ff:fe00:2. */
  readonly mac?: string;
  /** A bridge in the same namespace to enslave this end to. */
  readonly master?: string;
}

/**
 * A veth pair created straight into its two namespaces (`ip link add A netns X type veth peer name B netns Y`):
 * neither end ever exists in the host's namespace, so the names need only be unique inside their namespaces.
 * Both ends are brought up, with their addresses.
 */
export function addVeth(a: VethEnd, b: VethEnd): void {
  for (const end of [a, b])
    if (end.name.length > 15) throw new Error(`interface name ${end.name} is longer than 15 characters`);
  runSync([
    'ip',
    'link',
    'add',
    a.name,
    'netns',
    a.ns,
    'type',
    'veth',
    'peer',
    'name',
    b.name,
    'netns',
    b.ns,
  ]);
  for (const end of [a, b]) {
    const ip = (...args: string[]): string => runSync(['ip', '-n', end.ns, ...args]);
    if (end.mac !== undefined) ip('link', 'set', end.name, 'address', end.mac);
    if (end.master !== undefined) ip('link', 'set', end.name, 'master', end.master);
    for (const addr of end.addresses ?? [])
      ip('addr', 'add', addr, 'dev', end.name, ...(addr.includes(':') ? ['nodad'] : []));
    ip('link', 'set', end.name, 'up');
  }
}

// ---- a namespace handle ------------------------------------------------------------------------------------

export class Netns {
  constructor(readonly name: string) {}

  /** `ip netns exec <ns> cmd args…`; stdout, or a CommandError with stderr. */
  exec(cmd: string, args: readonly string[] = [], timeoutMs?: number): Promise<string> {
    return run(['ip', 'netns', 'exec', this.name, cmd, ...args], { timeoutMs });
  }

  /** `ip -n <ns> args…` (iproute2 inside the namespace, no exec needed). */
  ip(args: readonly string[]): Promise<string> {
    return run(['ip', '-n', this.name, ...args]);
  }

  /** `ip -n <ns> args…`, synchronously. */
  ipSync(...args: string[]): string {
    return runSync(['ip', '-n', this.name, ...args]);
  }

  /** `ip -j -n <ns> args…`, parsed (an empty answer is []). */
  ipJson<T = Record<string, unknown>>(...args: string[]): T[] {
    const out = runSync(['ip', '-j', '-n', this.name, ...args]);
    return out.trim() ? (JSON.parse(out) as T[]) : [];
  }

  /** A veth pair with both ends in this namespace, both up; `addresses` on the first end. */
  veth(a: string, b: string, ...addresses: string[]): void {
    addVeth({ ns: this.name, name: a, addresses }, { ns: this.name, name: b });
  }

  /**
   * Starts a long-running process in the namespace (`ip netns exec` execs it in place: the child's pid is the
   * program's). Teardown kills it with everything else in the namespace.
   */
  spawn(cmd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: 'ignore', ...options });
  }

  /** Pids of every process in this namespace. */
  pids(): number[] {
    return namespacePids(this.name);
  }
}

// ---- a run's set of namespaces ---------------------------------------------------------------------------

/** A fresh temporary directory (mode 0755, so daemons that drop privileges can traverse it). */
export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `nodebgp-${label}-`));
  execFileSync('chmod', ['755', dir]);
  return dir;
}

export interface Link {
  readonly a: string;
  readonly b: string;
}

export interface LinkOptions {
  readonly a?: readonly string[];
  readonly b?: readonly string[];
  readonly macA?: string;
  readonly macB?: string;
}

export interface LabOptions {
  /** Tear down on exit, SIGINT and SIGTERM too (default true). */
  readonly teardownOnExit?: boolean;
}

let labCounter = 0;

/** The namespaces, veths, temporary directories and cleanups of one run, torn down together. */
export class Lab {
  /** `nb<pid base 36>` (and `l<k>` for the k-th Lab of this process): starts every name this Lab makes. */
  readonly prefix: string;
  private readonly owned: string[] = [];
  private readonly cleanups: (() => void)[] = [];
  private counter = 0;
  private readonly forgetExit: () => void;

  constructor(options: LabOptions = {}) {
    labCounter += 1;
    this.prefix = `nb${process.pid.toString(36)}${labCounter > 1 ? `l${labCounter}` : ''}`;
    this.forgetExit = options.teardownOnExit === false ? () => false : onExit(() => this.teardownSync());
  }

  /**
   * A new namespace `<prefix>n<k>-<label>` with loopback up. One left by a dead process that had our pid is
   * taken down first: no live process but this one makes names with this prefix.
   */
  namespace(label: string): Netns {
    this.counter += 1;
    const name = `${this.prefix}n${this.counter}-${label}`.slice(0, 40);
    if (listNamespaces().has(name)) destroyNamespacesSync([name]);
    createNamespace(name);
    this.owned.push(name);
    return new Netns(name);
  }

  /**
   * A veth pair between two namespaces, interface names `<prefix>v<k>a|b` (at most 15 characters), with
   * addresses, both ends up.
   */
  link(a: Netns, b: Netns, options: LinkOptions = {}): Link {
    this.counter += 1;
    const base = `${this.prefix}v${this.counter}`;
    const link = { a: `${base}a`, b: `${base}b` };
    addVeth(
      { ns: a.name, name: link.a, addresses: options.a, mac: options.macA },
      { ns: b.name, name: link.b, addresses: options.b, mac: options.macB },
    );
    return link;
  }

  /** Takes one namespace down now: its processes killed, the namespace deleted. */
  async remove(ns: Netns): Promise<void> {
    await destroyNamespaces([ns.name]);
    const i = this.owned.indexOf(ns.name);
    if (i >= 0) this.owned.splice(i, 1);
  }

  /** A temporary directory removed at teardown. */
  tempDir(label: string): string {
    const dir = tempDir(label);
    this.onTeardown(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  /** Extra cleanup, run after the processes are gone and before the namespaces are deleted. */
  onTeardown(fn: () => void): void {
    this.cleanups.push(fn);
  }

  /** The names of the namespaces this Lab holds. */
  get namespaces(): readonly string[] {
    return this.owned;
  }

  /** For afterAll / finally: SIGTERM everything with a grace period, then the synchronous teardown. */
  async teardown(): Promise<void> {
    await killNamespaces(this.owned);
    this.teardownSync();
  }

  /** SIGKILL every process in every namespace, run the cleanups, delete the namespaces. Never throws. */
  teardownSync(): void {
    this.forgetExit();
    killNamespacesSync(this.owned);
    for (const fn of this.cleanups.splice(0)) {
      try {
        fn();
      } catch {
        // best effort
      }
    }
    deleteNamespaces(this.owned.splice(0));
  }
}
