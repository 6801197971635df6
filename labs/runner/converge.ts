/**
 * Convergence measured from outside. Around a fault, every node's kernel tables are watched two ways:
 * `ip -n NS -ts monitor route` stamps each change as ip sees it (ms precision), and the tables are polled
 * (`ip -j route`, every node at once, as often as the machine allows — ~50-150 ms on 2 cores) until the
 * expected end state holds everywhere and has held for `settleMs`. The convergence time is the time from
 * the fault to the last table change.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { kernelRoutes, type KernelRoute } from './checks.js';
import { sleep } from '../../toolkit/index.js';
import type { LabState } from './state.js';

export type Tables = ReadonlyMap<string, readonly KernelRoute[]>;

export interface Convergence {
  /** Fault to last kernel table change, in ms (0 if nothing changed). */
  readonly ms: number;
  /** Per node: fault to that node's last change, in ms (absent: no change). */
  readonly perNode: Readonly<Record<string, number>>;
  readonly converged: boolean;
  readonly polls: number;
}

export interface MeasureOptions {
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  readonly settleMs?: number;
  /** Nodes not to watch (a node about to be removed: a monitor would keep its namespace alive). */
  readonly skip?: readonly string[];
}

const fingerprint = (routes: readonly KernelRoute[]): string =>
  routes
    .map((r) =>
      [
        r.dst,
        r.gateway ?? '',
        r.dev ?? '',
        ...(r.nexthops ?? []).map((n) => `${n.gateway ?? ''}@${n.dev ?? ''}`),
      ].join(' '),
    )
    .sort()
    .join('\n');

/** Every router's main table (FRR and nodebgp nodes), read concurrently. */
export async function snapshot(
  state: LabState,
  skip: readonly string[] = [],
): Promise<Map<string, KernelRoute[]>> {
  const nodes = state.nodes.filter(
    (n) => (n.role === 'nodebgp' || n.role === 'frr') && !skip.includes(n.name),
  );
  const tables = await Promise.all(nodes.map((n) => kernelRoutes(n.ns)));
  return new Map(nodes.map((n, i) => [n.name, tables[i]]));
}

/** `[2026-11-23T00:55:10.576454] ...` (ip -ts, local time) → ms since the epoch. */
export function monitorStamp(line: string): number | undefined {
  const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})\d*\]/.exec(line);
  return m ? new Date(`${m[1]}.${m[2]}`).getTime() : undefined;
}

/** One `ip -ts monitor route` per node; each main-table change stamps `changes` with the time ip saw it. */
function watch(state: LabState, skip: readonly string[], changes: Map<string, number>): ChildProcess[] {
  const nodes = state.nodes.filter(
    (n) => (n.role === 'nodebgp' || n.role === 'frr') && !skip.includes(n.name),
  );
  return nodes.map((n) => {
    const child = spawn('ip', ['-n', n.ns, '-ts', 'monitor', 'route'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let buf = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        if (line.includes(' table local ') || line.trim() === '') continue;
        const at = monitorStamp(line) ?? Date.now();
        changes.set(n.name, Math.max(changes.get(n.name) ?? 0, at));
      }
    });
    child.on('error', () => {});
    return child;
  });
}

/**
 * Injects `fault` and measures until `done(tables)` holds (and has held for `settleMs` with no further
 * change), or `timeoutMs` after the fault.
 */
export async function measureConvergence(
  state: LabState,
  fault: () => Promise<unknown>,
  done: (tables: Tables) => boolean,
  opts: MeasureOptions = {},
): Promise<Convergence> {
  const { timeoutMs = 30_000, pollMs = 50, settleMs = 300, skip = [] } = opts;
  const changes = new Map<string, number>();
  const monitors = watch(state, skip, changes);
  try {
    const last = new Map<string, string>();
    for (const [n, t] of await snapshot(state, skip)) last.set(n, fingerprint(t));
    await sleep(100); // the monitors subscribe
    const faultAt = Date.now();
    const injected = fault();
    const result = await poll(state, faultAt, done, last, changes, { timeoutMs, pollMs, settleMs, skip });
    await injected;
    return result;
  } finally {
    for (const m of monitors) m.kill('SIGKILL');
  }
}

async function poll(
  state: LabState,
  faultAt: number,
  done: (tables: Tables) => boolean,
  last: Map<string, string>,
  changes: Map<string, number>,
  o: Required<MeasureOptions>,
): Promise<Convergence> {
  let polls = 0;
  let doneSince: number | undefined;
  const seen = new Map<string, number>();
  const result = (converged: boolean): Convergence => {
    const perNode: Record<string, number> = {};
    for (const [n, at] of [...seen, ...changes])
      if (at >= faultAt) perNode[n] = Math.max(perNode[n] ?? 0, at - faultAt);
    // A poll only proves the change happened by then; a monitor stamp, when there is one, is exact.
    for (const [n, at] of changes) if (at >= faultAt) perNode[n] = at - faultAt;
    return { ms: Math.max(0, ...Object.values(perNode)), perNode, converged, polls };
  };
  for (;;) {
    const t = await snapshot(state, o.skip);
    const now = Date.now();
    polls++;
    let changed = false;
    for (const [n, routes] of t) {
      const fp = fingerprint(routes);
      if (last.get(n) !== fp) {
        seen.set(n, now);
        changed = true;
      }
      last.set(n, fp);
    }
    if (done(t)) {
      if (doneSince === undefined || changed) doneSince = now;
      if (now - doneSince >= o.settleMs) return result(true);
    } else doneSince = undefined;
    if (now - faultAt > o.timeoutMs) return result(false);
    await sleep(o.pollMs);
  }
}
