/**
 * Shared steps of the labs interop tests: bring a topology up with the namespace runner (after clearing any
 * leftover from an earlier run), check sessions, kernel tables and pod pings, and take it down leaving
 * nothing behind.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import {
  hasRoute,
  kernelRoutes,
  pingMatrix,
  sessions,
  waitReady,
  type KernelRoute,
} from '../../../labs/runner/checks.js';
import { down, repoRoot, up } from '../../../labs/runner/lab.js';
import { tryRun } from '../../../toolkit/index.js';
import { labDir, nodeState, type LabState } from '../../../labs/runner/state.js';
import { loadTopology } from '../../../labs/runner/topology.js';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile() && e.name.endsWith('.ts'))
      newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  return newest;
}

/**
 * bin/nodebgp runs the compiled daemon: build it when dist/ is missing or older than the daemon's sources.
 * Type errors elsewhere in the tree do not stop the build (tsc still emits); a missing entry point does.
 */
export async function ensureBuilt(): Promise<void> {
  const root = repoRoot();
  const entry = join(root, 'dist', 'daemon', 'cli', 'main.js');
  const sources = Math.max(...['bgp', 'routing', 'daemon'].map((d) => newestMtime(join(root, d))));
  if (existsSync(entry) && statSync(entry).mtimeMs >= sources) return;
  const r = await tryRun([join(root, 'node_modules', '.bin', 'tsc'), '-p', join(root, 'tsconfig.json')]);
  if (!existsSync(entry)) throw new Error(`labs: building the daemon failed:\n${r.stdout}${r.stderr}`);
}

export async function labUp(name: string, readyTimeoutMs = 60_000): Promise<LabState> {
  await ensureBuilt();
  await down(name);
  const topo = loadTopology(join(repoRoot(), 'labs', name, `${name}.clab.yml`));
  const started = Date.now();
  const state = await up(topo);
  const ready = await waitReady(state, readyTimeoutMs);
  expect(ready.missing).toEqual([]);
  console.log(`[labs] ${name}: up and ready in ${Date.now() - started} ms`);
  return state;
}

/** Down, then prove nothing is left: no namespace of the lab, no process in one, no state directory. */
export async function labDown(state: LabState): Promise<void> {
  await down(state.name);
  const list = (await tryRun(['ip', 'netns', 'list'])).stdout;
  for (const n of state.nodes) {
    expect(list).not.toContain(n.ns);
    for (const p of n.podNamespaces) expect(list).not.toContain(p);
  }
  expect(existsSync(labDir(state.name))).toBe(false);
}

export async function expectEstablished(state: LabState, expected: Record<string, string[]>): Promise<void> {
  for (const [node, peers] of Object.entries(expected)) {
    const s = await sessions(nodeState(state, node));
    expect(s.map((x) => x.peer).sort(), `${node} peers`).toEqual([...peers].sort());
    for (const x of s) expect(x.state, `${node} -> ${x.peer}`).toBe('Established');
  }
}

/** The next hops of a kernel route (one or many), as addresses. */
export function gateways(r: KernelRoute): string[] {
  if (r.nexthops && r.nexthops.length > 0) return r.nexthops.map((n) => n.gateway ?? '').sort();
  return r.gateway ? [r.gateway] : [];
}

/** expected: node → prefix → gateways; every listed route must be in that node's kernel table as given. */
export async function expectKernel(
  state: LabState,
  expected: Record<string, Record<string, string[]>>,
): Promise<void> {
  for (const [node, routes] of Object.entries(expected)) {
    const table = await kernelRoutes(nodeState(state, node).ns);
    for (const [prefix, gws] of Object.entries(routes)) {
      expect(hasRoute(table, prefix), `${node} has a route to ${prefix}`).toBe(true);
      const r = table.find((x) => x.dst === prefix) as KernelRoute;
      expect(gateways(r), `${node} ${prefix} next hops`).toEqual([...gws].sort());
    }
  }
}

export async function expectAllPings(state: LabState, perPair: number): Promise<void> {
  const results = await pingMatrix(state);
  const nodes = new Set(results.map((r) => r.from));
  expect(results.length).toBe(nodes.size * (nodes.size - 1) * perPair);
  expect(results.filter((r) => !r.ok)).toEqual([]);
}
