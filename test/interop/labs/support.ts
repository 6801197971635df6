/**
 * Shared steps of the labs interop tests: bring a topology up with the namespace runner as a run of this
 * test process (its own names, taken down when the process exits, even on SIGINT; runs left by a test
 * process that was killed are cleared first), check sessions, kernel tables and pod pings, and take it down
 * leaving nothing behind.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import {
  controlGet,
  hasRoute,
  kernelRoutes,
  pingMatrix,
  sessions,
  waitReady,
  type KernelRoute,
} from '../../../labs/runner/checks.js';
import { vtysh } from '../../../labs/runner/frr.js';
import { down, downStale, repoRoot, up } from '../../../labs/runner/lab.js';
import { tryRun } from '../../../toolkit/index.js';
import { controlSocket, labDir, nodeState, type LabState } from '../../../labs/runner/state.js';
import { loadTopology } from '../../../labs/runner/topology.js';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile() && e.name.endsWith('.ts'))
      newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  return newest;
}

/**
 * bin/nodebgp runs the compiled daemon and lab runner: build them when dist/ is missing or older than the
 * sources. Type errors elsewhere in the tree do not stop the build (tsc still emits); a missing entry point does.
 */
export async function ensureBuilt(): Promise<void> {
  const root = repoRoot();
  const entries = [join(root, 'dist', 'daemon', 'cli', 'main.js'), join(root, 'dist', 'labs', 'cli.js')];
  const dirs = ['ip', 'bgp', 'routing', 'daemon', 'labs', 'toolkit'];
  const sources = Math.max(...dirs.map((d) => newestMtime(join(root, d))));
  if (entries.every((e) => existsSync(e) && statSync(e).mtimeMs >= sources)) return;
  const r = await tryRun([join(root, 'node_modules', '.bin', 'tsc'), '-p', join(root, 'tsconfig.json')], {
    timeoutMs: 180_000,
  });
  for (const e of entries)
    if (!existsSync(e)) throw new Error(`labs: building ${e} failed:\n${r.stdout}${r.stderr}`);
}

export async function labUp(name: string, readyTimeoutMs = 60_000): Promise<LabState> {
  await ensureBuilt();
  await downStale();
  const topo = loadTopology(join(repoRoot(), 'labs', name, `${name}.clab.yml`));
  const started = Date.now();
  const state = await up(topo, { teardownOnExit: true });
  const ready = await waitReady(state, readyTimeoutMs);
  if (ready.missing.length > 0) console.log(await diagnose(state, ready.missing));
  expect(ready.missing).toEqual([]);
  console.log(`[labs] ${name}: up as ${state.name} and ready in ${Date.now() - started} ms`);
  return state;
}

/**
 * What a run that never got ready looks like from inside, for the nodes its missing lines name: every node's
 * sessions and BGP table (FRR through vtysh, nodebgp through its control socket), kernel routes, and the
 * warnings of a nodebgp log.
 */
async function diagnose(state: LabState, missing: readonly string[]): Promise<string> {
  const named = new Set(missing.map((m) => m.split(':')[0]!));
  const out: string[] = [`[labs] ${state.name} not ready: ${missing.join('; ')}`];
  const safe = async (what: string, f: () => Promise<unknown>) => {
    try {
      const v = await f();
      out.push(`--- ${what}\n${typeof v === 'string' ? v : JSON.stringify(v)}`);
    } catch (err) {
      out.push(`--- ${what}: ${String(err)}`);
    }
  };
  for (const st of state.nodes) {
    if (st.role === 'frr') {
      await safe(`${st.name} show bgp ipv4 summary`, () => vtysh(st, 'show bgp ipv4 unicast summary'));
      await safe(`${st.name} show bgp ipv6`, () => vtysh(st, 'show bgp ipv6 unicast'));
      continue;
    }
    if (st.role !== 'nodebgp' || !named.has(st.name)) continue;
    await safe(`${st.name} /routes`, () => controlGet(controlSocket(st), '/routes'));
    await safe(`${st.name} kernel routes`, () => kernelRoutes(st.ns));
    await safe(`${st.name} nodebgp.log warnings`, async () =>
      readFileSync(join(st.dir, 'nodebgp.log'), 'utf8')
        .split('\n')
        .filter((l) => /"level":"(warn|error|fatal)"/.test(l))
        .slice(-40)
        .join('\n'),
    );
  }
  return out.join('\n');
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
