/**
 * Convergence measured from outside: after a fault, poll every node's kernel tables every ~50 ms and note
 * when each table last changed; once the expected end state holds everywhere, the convergence time is the
 * time from the fault to the last table change.
 */
import { kernelRoutes, type KernelRoute } from './checks.js';
import { sleep } from './sh.js';
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

/** Every node's main table (nodes of the given roles), read concurrently. */
export async function snapshot(
  state: LabState,
  roles = ['nodebgp', 'frr'],
): Promise<Map<string, KernelRoute[]>> {
  const nodes = state.nodes.filter((n) => roles.includes(n.role));
  const tables = await Promise.all(nodes.map((n) => kernelRoutes(n.ns)));
  return new Map(nodes.map((n, i) => [n.name, tables[i]]));
}

/**
 * Polls until `done(tables)` holds (and has held for `settleMs` with no further change), or `timeoutMs`.
 * `faultAt` is the Date.now() of the fault.
 */
export async function measureConvergence(
  state: LabState,
  faultAt: number,
  done: (tables: Tables) => boolean,
  opts: { timeoutMs?: number; pollMs?: number; settleMs?: number; before?: Tables } = {},
): Promise<Convergence> {
  const { timeoutMs = 30_000, pollMs = 50, settleMs = 300 } = opts;
  const last = new Map<string, string>();
  for (const [n, t] of opts.before ?? []) last.set(n, fingerprint(t));
  const perNode: Record<string, number> = {};
  let polls = 0;
  let doneSince: number | undefined;
  for (;;) {
    const t = await snapshot(state);
    const now = Date.now();
    polls++;
    let changed = false;
    for (const [n, routes] of t) {
      const fp = fingerprint(routes);
      if (last.has(n) && last.get(n) !== fp) {
        perNode[n] = now - faultAt;
        changed = true;
      }
      last.set(n, fp);
    }
    if (done(t)) {
      if (doneSince === undefined || changed) doneSince = now;
      if (now - doneSince >= settleMs) break;
    } else doneSince = undefined;
    if (now - faultAt > timeoutMs)
      return { ms: Math.max(0, ...Object.values(perNode)), perNode, converged: false, polls };
    await sleep(pollMs);
  }
  return { ms: Math.max(0, ...Object.values(perNode)), perNode, converged: true, polls };
}
