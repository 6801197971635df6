/** labs/dual-stack: IPv4 and IPv6 pod CIDRs over one IPv4 session per node to an FRR top-of-rack router. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vtysh } from '../../../labs/runner/frr.js';
import { nodeState, type LabState } from '../../../labs/runner/state.js';
import { expectAllPings, expectEstablished, expectKernel, labDown, labUp } from './support.js';

const N = [1, 2, 3];

describe('labs/dual-stack', () => {
  let state: LabState;
  beforeAll(async () => {
    state = await labUp('dual-stack');
  });
  afterAll(async () => {
    if (state) await labDown(state);
  });

  it('one IPv4 session per node, both families negotiated', async () => {
    await expectEstablished(state, {
      tor: N.map((i) => `10.79.${i}.1`),
      ...Object.fromEntries(N.map((i) => [`n${i}`, [`10.79.${i}.0`]])),
    });
    const body = JSON.parse(await vtysh(nodeState(state, 'tor'), 'show bgp ipv6 unicast summary json')) as {
      peers: Record<string, { state: string; pfxRcd: number }>;
    };
    for (const i of N) expect(body.peers[`10.79.${i}.1`]).toMatchObject({ state: 'Established', pfxRcd: 1 });
  });

  it('every node routes the others’ IPv4 and IPv6 pod CIDRs via the router', async () => {
    await expectKernel(
      state,
      Object.fromEntries(
        N.map((i) => [
          `n${i}`,
          Object.fromEntries(
            N.filter((j) => j !== i).flatMap((j) => [
              [`10.244.${j}.0/24`, [`10.79.${i}.0`]],
              [`fd00:244:${j}::/64`, [`fd00:79:${i}::1`]],
            ]),
          ),
        ]),
      ),
    );
  });

  it('every pod reaches a pod on every other node over IPv4 and IPv6', async () => {
    await expectAllPings(state, 2);
  });
});
