/** labs/mesh: three nodebgp nodes in an iBGP full mesh on one bridge, no router. */
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { LabState } from '../../../labs/runner/state.js';
import { expectAllPings, expectEstablished, expectKernel, labDown, labUp } from './support.js';

const ip = (i: number) => `10.77.1.${i}`;
const others = (i: number) => [1, 2, 3].filter((j) => j !== i);

describe('labs/mesh', () => {
  let state: LabState;
  beforeAll(async () => {
    state = await labUp('mesh');
  });
  afterAll(async () => {
    if (state) await labDown(state);
  });

  it('every node has a session with both others', async () => {
    await expectEstablished(state, Object.fromEntries([1, 2, 3].map((i) => [`n${i}`, others(i).map(ip)])));
  });

  it("every node routes the others' pod CIDRs straight to them", async () => {
    await expectKernel(
      state,
      Object.fromEntries(
        [1, 2, 3].map((i) => [
          `n${i}`,
          Object.fromEntries(others(i).map((j) => [`10.244.${j}.0/24`, [ip(j)]])),
        ]),
      ),
    );
  });

  it('every pod reaches a pod on every other node', async () => {
    await expectAllPings(state, 1);
  });
});
