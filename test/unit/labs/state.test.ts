import { describe, expect, it } from 'vitest';
import {
  findRun,
  newRunName,
  nodeNamespace,
  podNamespace,
  RUN_NAME,
  type LabState,
} from '../../../labs/runner/state.js';

const run = (name: string, lab: string): LabState => ({
  name,
  lab,
  topologyFile: `/labs/${lab}/${lab}.clab.yml`,
  createdAt: '2026-12-02T00:00:00.000Z',
  nodes: [],
});

describe('lab runs', () => {
  it('names a run <lab>-xxxx, a fresh name each time, and derives its namespaces from it', () => {
    const names = new Set(Array.from({ length: 50 }, () => newRunName('leaf-spine')));
    expect(names.size).toBeGreaterThan(45);
    for (const n of names) {
      expect(n).toMatch(/^leaf-spine-[a-z0-9]{4}$/);
      expect(n).toMatch(RUN_NAME);
    }
    expect(nodeNamespace('leaf-spine-k3x9', 'n1')).toBe('clab-leaf-spine-k3x9-n1');
    expect(podNamespace('leaf-spine', 'leaf-spine-k3x9', 'leaf-spine-n1-pod1')).toBe(
      'leaf-spine-k3x9-n1-pod1',
    );
  });

  it("finds a run by its name, or by its lab's while that lab has one run", () => {
    const runs = [
      run('mesh-aaaa', 'mesh'),
      run('leaf-spine-bbbb', 'leaf-spine'),
      run('leaf-spine-cccc', 'leaf-spine'),
    ];
    expect(findRun('mesh-aaaa', runs).name).toBe('mesh-aaaa');
    expect(findRun('mesh', runs).name).toBe('mesh-aaaa');
    expect(findRun('leaf-spine-cccc', runs).name).toBe('leaf-spine-cccc');
    expect(() => findRun('leaf-spine', runs)).toThrow(
      'labs: 2 runs of lab leaf-spine are up (leaf-spine-bbbb, leaf-spine-cccc): name one',
    );
    expect(() => findRun('dual-stack', runs)).toThrow('labs: lab dual-stack is not up');
  });

  it('a run named like a lab is found by its own name first', () => {
    const runs = [run('mesh', 'other'), run('mesh-aaaa', 'mesh')];
    expect(findRun('mesh', runs).name).toBe('mesh');
  });
});
