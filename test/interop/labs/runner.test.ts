/**
 * The namespace runner itself, on an FRR-only copy of leaf-spine (fixtures/frr-ls: FRR stands in for nodebgp,
 * so this runs without the daemon): up, ECMP, exec with the node's vtysh, status, a failed up leaving
 * nothing behind, down twice.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync, cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pingMatrix, sessions, waitReady } from '../../../labs/runner/checks.js';
import { vtysh } from '../../../labs/runner/frr.js';
import { down, nodeEnv, up } from '../../../labs/runner/lab.js';
import { tryRun } from '../../../toolkit/index.js';
import { labDir, nodeState, readState, type LabState } from '../../../labs/runner/state.js';
import { loadTopology } from '../../../labs/runner/topology.js';
import { labMain } from '../../../labs/cli.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(here, 'fixtures', 'frr-ls', 'frr-ls.clab.yml');

async function leftovers(lab: string): Promise<string[]> {
  const list = (await tryRun(['ip', 'netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]);
  return list.filter((ns) => ns.startsWith(`clab-${lab}-`) || ns.startsWith(`${lab}-`));
}

describe('labs runner (FRR only)', () => {
  let state: LabState;
  beforeAll(async () => {
    await down('frr-ls');
    state = await up(loadTopology(FIXTURE));
    expect((await waitReady(state, 30_000)).missing).toEqual([]);
  });
  afterAll(async () => {
    await down('frr-ls');
    expect(await leftovers('frr-ls')).toEqual([]);
  });

  it('gives every node its namespace and the pods their own, and records them', () => {
    const saved = readState('frr-ls');
    expect(saved?.nodes.map((n) => n.ns)).toContain('clab-frr-ls-leaf1');
    expect(saved?.nodes.find((n) => n.name === 'n1')?.podNamespaces).toEqual(['frr-ls-n1-pod1']);
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
    expect(nodeEnv(st).NODEBGP_SOCKET).toBe(join(labDir('frr-ls'), 'spine2', 'nodebgp.sock'));
  });

  it('pings from every pod to every other node', async () => {
    const results = await pingMatrix(state);
    expect(results).toHaveLength(12);
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });

  it('refuses to bring up a lab that is already up', async () => {
    await expect(up(loadTopology(FIXTURE))).rejects.toThrow('lab frr-ls is already up');
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
      await expect(up(loadTopology(file))).rejects.toThrow(/nosuchdev/);
      expect(await leftovers('frr-bad')).toEqual([]);
      expect(existsSync(labDir('frr-bad'))).toBe(false);
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
