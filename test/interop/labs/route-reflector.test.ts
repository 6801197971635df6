/** labs/route-reflector: four nodebgp clients of an FRR route reflector; reflected routes keep next hops. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vtysh } from '../../../labs/runner/frr.js';
import { nodeState, type LabState } from '../../../labs/runner/state.js';
import { expectAllPings, expectEstablished, expectKernel, labDown, labUp } from './support.js';

const N = [1, 2, 3, 4];
const ip = (i: number) => `10.77.2.${i}`;

describe('labs/route-reflector', () => {
  let state: LabState;
  beforeAll(async () => {
    state = await labUp('route-reflector');
  });
  afterAll(async () => {
    if (state) await labDown(state);
  });

  it('the reflector has all four clients, each client its one session', async () => {
    await expectEstablished(state, {
      rr: N.map(ip),
      ...Object.fromEntries(N.map((i) => [`n${i}`, ['10.77.2.254']])),
    });
  });

  it('the reflector holds every pod CIDR with the originating node as next hop', async () => {
    const body = JSON.parse(await vtysh(nodeState(state, 'rr'), 'show bgp ipv4 unicast json')) as {
      routes: Record<string, { nexthops: { ip: string }[] }[]>;
    };
    for (const i of N) expect(body.routes[`10.244.${i}.0/24`]?.[0]?.nexthops[0]?.ip).toBe(ip(i));
  });

  it("every client routes the others' pod CIDRs to the originating node, not the reflector", async () => {
    await expectKernel(
      state,
      Object.fromEntries(
        N.map((i) => [
          `n${i}`,
          Object.fromEntries(N.filter((j) => j !== i).map((j) => [`10.244.${j}.0/24`, [ip(j)]])),
        ]),
      ),
    );
  });

  it('every pod reaches a pod on every other node', async () => {
    await expectAllPings(state, 1);
  });
});
