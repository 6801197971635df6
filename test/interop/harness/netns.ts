/**
 * Network namespaces and veth pairs for interop tests, named uniquely per test run so several runs (and
 * several test files) can share one machine, and torn down whatever happens.
 *
 *   const lab = new Lab();                       // names start with nb<pid%10000>
 *   const a = lab.namespace('frr');              // ip netns add nb1234n1-frr; ip -n … link set lo up
 *   const b = lab.namespace('bird');
 *   lab.link(a, b, { a: ['10.77.0.1/24', 'fd00:77::1/64'], b: ['10.77.0.2/24', 'fd00:77::2/64'] });
 *   …
 *   await lab.teardown();                        // afterAll / finally: kill every process in each ns, delete
 *
 * Every Lab is also registered with a process-exit safety net (exit, SIGINT, SIGTERM) that runs the same
 * teardown synchronously, so a crashed or interrupted test run leaves no namespace or daemon behind.
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Run a command (no shell), return stdout; throws with stderr in the message on a non-zero exit. */
export async function run(cmd: string, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, [...args], {
      timeout: timeoutMs,
      maxBuffer: 256 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

export interface WaitOptions {
  /** Give up after this long (ms). Default 30 s. */
  readonly timeout?: number;
  /** Poll every this many ms. Default 100. */
  readonly interval?: number;
  /** What we wait for, for the error message. */
  readonly what?: string;
  /** Checked before each probe: a string here aborts the wait at once with that message (e.g. "daemon exited"). */
  readonly failIf?: () => string | undefined;
}

/**
 * Poll `probe` until it returns something other than `undefined`/`false`/`null`, and return that. Errors thrown by
 * the probe count as "not yet" (a daemon's socket may not exist yet); the last one is quoted on timeout.
 */
export async function waitUntil<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitOptions = {},
): Promise<T> {
  const timeout = options.timeout ?? 30_000;
  const interval = options.interval ?? 100;
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  for (;;) {
    const fatal = options.failIf?.();
    if (fatal !== undefined) throw new Error(`while waiting for ${options.what ?? 'condition'}: ${fatal}`);
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeout} ms waiting for ${options.what ?? 'condition'}${why}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** A fresh temporary directory (mode 0755 so daemons that drop privileges can traverse it). */
export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `nodebgp-${label}-`));
  execFileSync('chmod', ['755', dir]);
  return dir;
}

export class Netns {
  constructor(readonly name: string) {}

  /** `ip netns exec <ns> cmd args…`, stdout as a string. */
  exec(cmd: string, args: readonly string[] = [], timeoutMs?: number): Promise<string> {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], timeoutMs);
  }

  /** `ip -n <ns> args…` (iproute2 inside the namespace, no exec needed). */
  ip(args: readonly string[]): Promise<string> {
    return run('ip', ['-n', this.name, ...args]);
  }

  /** Start a long-running process inside the namespace. Teardown kills it with everything else in the ns. */
  spawn(cmd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: 'ignore', ...options });
  }

  /** Pids of every process whose network namespace is this one (`ip netns pids`). */
  pids(): number[] {
    try {
      return execFileSync('ip', ['netns', 'pids', this.name], { encoding: 'utf8' })
        .split(/\s+/)
        .filter((s) => s !== '')
        .map(Number);
    } catch {
      return [];
    }
  }
}

export interface Link {
  readonly a: string;
  readonly b: string;
}

let labCounter = 0;
const liveLabs = new Set<Lab>();
let safetyNetInstalled = false;

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  process.on('exit', () => {
    for (const lab of liveLabs) lab.teardownSync();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const lab of liveLabs) lab.teardownSync();
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    });
  }
}

export class Lab {
  /** `nb<pid%10000>`: the prefix of every namespace and interface this run creates. */
  readonly prefix: string;
  private readonly namespaces: Netns[] = [];
  private counter = 0;
  private readonly cleanups: (() => void)[] = [];

  constructor() {
    labCounter += 1;
    this.prefix = `nb${process.pid % 10000}${labCounter > 1 ? `l${labCounter}` : ''}`;
    installSafetyNet();
    liveLabs.add(this);
  }

  /** Create a namespace `<prefix>n<k>-<label>` with loopback up. */
  namespace(label: string): Netns {
    this.counter += 1;
    const name = `${this.prefix}n${this.counter}-${label}`.slice(0, 40);
    execFileSync('ip', ['netns', 'add', name]);
    const ns = new Netns(name);
    this.namespaces.push(ns);
    execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /**
   * A veth pair between two namespaces, with addresses (`10.77.0.1/24`, `fd00:77::1/64`; IPv6 added `nodad` so it
   * is usable at once), both ends up. Interface names `<prefix>v<k>a|b`, at most 15 characters.
   */
  link(
    a: Netns,
    b: Netns,
    addresses: { a?: readonly string[]; b?: readonly string[]; macA?: string; macB?: string } = {},
  ): Link {
    this.counter += 1;
    const base = `${this.prefix}v${this.counter}`;
    if (base.length + 1 > 15) throw new Error(`interface name ${base}a is longer than 15 characters`);
    const ifa = `${base}a`;
    const ifb = `${base}b`;
    execFileSync('ip', [
      'link',
      'add',
      ifa,
      'netns',
      a.name,
      'type',
      'veth',
      'peer',
      'name',
      ifb,
      'netns',
      b.name,
    ]);
    for (const [ns, ifname, addrs, mac] of [
      [a, ifa, addresses.a ?? [], addresses.macA],
      [b, ifb, addresses.b ?? [], addresses.macB],
    ] as const) {
      // A fixed MAC gives a predictable IPv6 link-local address (EUI-64), e.g. 02:00:00:00:00:02 → fe80::ff:fe00:2.
      if (mac !== undefined) execFileSync('ip', ['-n', ns.name, 'link', 'set', ifname, 'address', mac]);
      for (const addr of addrs) {
        const extra = addr.includes(':') ? ['nodad'] : [];
        execFileSync('ip', ['-n', ns.name, 'addr', 'add', addr, 'dev', ifname, ...extra]);
      }
      execFileSync('ip', ['-n', ns.name, 'link', 'set', ifname, 'up']);
    }
    return { a: ifa, b: ifb };
  }

  /** A temp dir removed at teardown. */
  tempDir(label: string): string {
    const dir = tempDir(label);
    this.onTeardown(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  /** Extra cleanup (run before the namespaces are deleted). */
  onTeardown(fn: () => void): void {
    this.cleanups.push(fn);
  }

  /** Async teardown for afterAll/finally: SIGTERM everything, short grace, then the sync teardown. */
  async teardown(): Promise<void> {
    let any = false;
    for (const ns of this.namespaces) {
      for (const pid of ns.pids()) {
        any = true;
        signal(pid, 'SIGCONT');
        signal(pid, 'SIGTERM');
      }
    }
    if (any) {
      await waitUntil(() => this.namespaces.every((ns) => ns.pids().length === 0), {
        timeout: 3000,
        interval: 50,
      }).catch(() => undefined);
    }
    this.teardownSync();
  }

  /** Kill every process in every namespace (SIGKILL), delete the namespaces, run the cleanups. Never throws. */
  teardownSync(): void {
    for (const ns of this.namespaces) {
      for (let round = 0; round < 20; round += 1) {
        const pids = ns.pids();
        if (pids.length === 0) break;
        for (const pid of pids) signal(pid, 'SIGKILL');
        execFileSync('sleep', ['0.05']);
      }
    }
    for (const fn of this.cleanups.splice(0)) {
      try {
        fn();
      } catch {
        // best effort
      }
    }
    for (const ns of this.namespaces.splice(0)) {
      try {
        execFileSync('ip', ['netns', 'del', ns.name], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    liveLabs.delete(this);
  }
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
