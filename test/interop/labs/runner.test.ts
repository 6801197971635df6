/**
 * The namespace runner itself, on an FRR-only copy of leaf-spine (fixtures/frr-ls: FRR stands in for nodebgp,
 * so this runs without the daemon): two runs of it at once with names of their own, ECMP, exec with the
 * node's vtysh, status, down taking exactly its own run, a failed up leaving nothing behind, down twice.
 *
 * The file keeps its runs' state in a directory of its own (NODEBGP_LABS_STATE), so what the CLI resolves
 * does not depend on labs that other processes on the machine have up.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync, cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pingMatrix, sessions, waitReady } from '../../../labs/runner/checks.js';
import { vtysh } from '../../../labs/runner/frr.js';
import { down, labNamespaces, nodeEnv, up } from '../../../labs/runner/lab.js';
import { destroyNamespacesSync, listNamespaces, onExit, tempDir, tryRun } from '../../../toolkit/index.js';
import { labDir, nodeState, readState, type LabState } from '../../../labs/runner/state.js';
import { loadTopology } from '../../../labs/runner/topology.js';
import { labMain } from '../../../labs/cli.js';
import { ensureBuilt } from './support.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(here, 'fixtures', 'frr-ls', 'frr-ls.clab.yml');
const BIN = join(here, '..', '..', '..', 'bin', 'nodebgp');

/** Namespaces on the host named like a run's (`clab-<run>-…`, `<run>-…`). */
function leftovers(run: string): string[] {
  return [...listNamespaces()].filter((ns) => ns.startsWith(`clab-${run}-`) || ns.startsWith(`${run}-`));
}

const savedStateRoot = process.env.NODEBGP_LABS_STATE;
const stateRoot = tempDir('labs-state'); // 0755: FRR, running as user frr, must traverse it
process.env.NODEBGP_LABS_STATE = stateRoot;
afterAll(() => {
  if (savedStateRoot === undefined) delete process.env.NODEBGP_LABS_STATE;
  else process.env.NODEBGP_LABS_STATE = savedStateRoot;
  rmSync(stateRoot, { recursive: true, force: true });
});

describe('labs runner (FRR only)', () => {
  let state: LabState;
  let twin: LabState;
  let forgetTwin = (): unknown => undefined;
  beforeAll(async () => {
    await ensureBuilt();
    // The same topology twice at once, as two users (or two test runs) on one machine would: one run here,
    // one by `nodebgp lab up` in another process, which exits and leaves its run up (as `--keep` does).
    const name = `frr-ls-cli${process.pid.toString(36)}`;
    const cli = tryRun([process.execPath, BIN, 'lab', 'up', FIXTURE, '--name', name], { timeoutMs: 120_000 });
    const forget = onExit(() => destroyNamespacesSync(leftovers(name)));
    state = await up(loadTopology(FIXTURE), { teardownOnExit: true });
    const r = await cli;
    expect(r.stdout.split('\n').slice(-2)[0], r.stderr).toBe(
      `lab frr-ls is up as ${name} (8 nodes, 8 links)`,
    );
    twin = readState(name) as LabState;
    expect(twin.owner).toBeUndefined(); // it outlives the CLI that brought it up
    forgetTwin = forget;
    const ready = await Promise.all([waitReady(state, 60_000), waitReady(twin, 60_000)]);
    expect(ready.flatMap((x) => x.missing)).toEqual([]);
  }, 180_000);
  afterAll(async () => {
    for (const s of [state, twin]) {
      if (!s) continue;
      await down(s.name);
      expect(leftovers(s.name)).toEqual([]);
    }
    forgetTwin();
  });

  it('gives every node its namespace and the pods their own, named for the run, and records them', () => {
    expect(state.name).toMatch(/^frr-ls-[a-z0-9]{4}$/);
    const saved = readState(state.name);
    expect(saved?.lab).toBe('frr-ls');
    expect(saved?.nodes.map((n) => n.ns)).toContain(`clab-${state.name}-leaf1`);
    expect(saved?.nodes.find((n) => n.name === 'n1')?.podNamespaces).toEqual([`${state.name}-n1-pod1`]);
    const pods = labNamespaces(state).filter((ns) => !ns.startsWith('clab-'));
    for (const p of pods) expect(listNamespaces().has(p)).toBe(true);
  });

  it('two runs of one topology share no name: namespaces, pods, state directories', () => {
    expect(twin.name).not.toBe(state.name);
    expect(labDir(twin.name)).not.toBe(labDir(state.name));
    const ours = new Set(labNamespaces(state));
    expect(labNamespaces(twin).filter((ns) => ours.has(ns))).toEqual([]);
    expect(labNamespaces(twin)).toHaveLength(ours.size);
  });

  it('runs FRR per namespace: sessions up, ECMP over both spines', async () => {
    for (const s of await sessions(nodeState(state, 'leaf1'))) expect(s.state).toBe('Established');
    const route = JSON.parse(
      await vtysh(nodeState(state, 'leaf1'), 'show ip route 10.244.3.0/24 json'),
    ) as Record<string, { nexthops: { ip: string }[] }[]>;
    expect(route['10.244.3.0/24'][0].nexthops.map((n) => n.ip).sort()).toEqual(['10.78.0.0', '10.78.0.2']);
  });

  it('exec runs in the node with vtysh and NODEBGP_SOCKET pointing at it', async () => {
    const st = nodeState(state, 'spine2');
    const r = await tryRun(['ip', 'netns', 'exec', st.ns, 'vtysh', '-c', 'show running-config'], {
      env: nodeEnv(st),
    });
    expect(r.stdout).toContain('bgp router-id 10.0.0.2');
    expect(nodeEnv(st).NODEBGP_SOCKET).toBe(join(labDir(state.name), 'spine2', 'nodebgp.sock'));
  });

  it('pings from every pod to every other node', async () => {
    const results = await pingMatrix(state);
    expect(results).toHaveLength(12);
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });

  it('refuses a run name that is already up', async () => {
    await expect(up(loadTopology(FIXTURE), { name: state.name })).rejects.toThrow(
      `lab ${state.name} is already up`,
    );
    expect(readState(state.name)?.nodes).toHaveLength(state.nodes.length);
  });

  it('the CLI takes a lab name for its run only while one run is up, and a run name always', async () => {
    expect(await labMain(['status', 'frr-ls'])).toBe(1); // two runs: which one?
    expect(await labMain(['status', state.name])).toBe(0);
    expect(await labMain(['down', 'frr-ls'])).toBe(1); // and nothing was taken down
    expect(leftovers(twin.name)).toHaveLength(labNamespaces(twin).length);
  });

  it('down takes exactly its own run: the other keeps every namespace and its sessions', async () => {
    const removed = await down(twin.name);
    expect([...removed].sort()).toEqual([...labNamespaces(twin)].sort());
    expect(leftovers(twin.name)).toEqual([]);
    expect(existsSync(labDir(twin.name))).toBe(false);
    const left = listNamespaces();
    expect(labNamespaces(state).filter((ns) => !left.has(ns))).toEqual([]);
    expect((await waitReady(state, 10_000)).missing).toEqual([]);
    // One run of frr-ls is left: the lab's name now stands for it.
    expect(await labMain(['status', 'frr-ls'])).toBe(0);
  });
});

describe('labs runner: failure and idempotence', () => {
  it('a failed up leaves nothing behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'labs-bad-'));
    try {
      cpSync(dirname(FIXTURE), dir, { recursive: true });
      const file = join(dir, 'frr-ls.clab.yml');
      const text = readFileSync(file, 'utf8')
        .replace(/^name: frr-ls$/m, 'name: frr-bad')
        .replace(/frr-ls-(n\d)-pod/g, 'frr-bad-$1-pod')
        .replace('ip route add 10.244.4.10/32 dev pod1', 'ip route add 10.244.4.10/32 dev nosuchdev');
      writeFileSync(file, text);
      const name = `frr-bad-${process.pid.toString(36)}`;
      await expect(up(loadTopology(file), { name })).rejects.toThrow(/nosuchdev/);
      expect(leftovers(name)).toEqual([]);
      expect(existsSync(labDir(name))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('down is idempotent and works for a lab that was never up', async () => {
    expect(await down('never-up')).toEqual([]);
    expect(await down('never-up')).toEqual([]);
  });

  it('the CLI refuses unsupported topologies by name and answers usage errors with 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'labs-ceos-'));
    try {
      const file = join(dir, 'x.clab.yml');
      writeFileSync(file, 'name: x\ntopology:\n  nodes:\n    spine1: { kind: ceos }\n');
      expect(await labMain(['up', file])).toBe(1);
      expect(await labMain(['frobnicate'])).toBe(2);
      expect(await labMain(['status', 'never-up'])).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
