/**
 * labs/dual-stack: IPv4 and IPv6 pod CIDRs over one IPv4 session per node to an FRR top-of-rack router, with
 * no IPv6 next hop set by hand on either side (no `set ipv6 next-hop global`, no `node.address6`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vtysh } from '../../../labs/runner/frr.js';
import { nodeState, type LabState } from '../../../labs/runner/state.js';
import { kernelRoutes } from '../../../labs/runner/checks.js';
import { run } from '../../../toolkit/index.js';
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

  it('the router learns each node’s IPv6 pod CIDR via the node’s global IPv6 address, configured nowhere', async () => {
    for (const i of N) {
      const body = JSON.parse(
        await vtysh(nodeState(state, 'tor'), `show bgp ipv6 unicast fd00:244:${i}::/64 json`),
      ) as { paths?: { nexthops?: { ip: string; scope?: string }[] }[] };
      const hops = (body.paths ?? []).flatMap((p) => p.nexthops ?? []).map((h) => h.ip);
      expect(hops, `tor -> fd00:244:${i}::/64`).toContain(`fd00:79:${i}::2`);
    }
  });

  it('every node routes the others’ IPv4 and IPv6 pod CIDRs via the router', async () => {
    await expectKernel(
      state,
      Object.fromEntries(
        N.map((i) => [
          `n${i}`,
          Object.fromEntries(N.filter((j) => j !== i).map((j) => [`10.244.${j}.0/24`, [`10.79.${i}.0`]])),
        ]),
      ),
    );
    // IPv6: FRR sends its global address on the link with its link-local one beside it (or the link-local one
    // as the global, when its zebra has not yet told bgpd the global one as the session came up). Either is
    // right: the global one when it is on the node's subnet, else the link-local one on eth1.
    const tor = nodeState(state, 'tor').ns;
    for (const i of N) {
      const addrs = JSON.parse(
        await run(['ip', '-n', tor, '-6', '-j', 'addr', 'show', 'dev', `eth${i}`]),
      ) as { addr_info?: { local: string }[] }[];
      const linkLocal = addrs
        .flatMap((a) => a.addr_info ?? [])
        .map((a) => a.local)
        .find((a) => a.startsWith('fe80:'));
      const table = await kernelRoutes(nodeState(state, `n${i}`).ns);
      for (const j of N.filter((x) => x !== i)) {
        const r = table.find((x) => x.dst === `fd00:244:${j}::/64`);
        expect(r, `n${i} has a route to fd00:244:${j}::/64`).toBeDefined();
        expect([`fd00:79:${i}::1`, linkLocal], `n${i} fd00:244:${j}::/64 next hop`).toContain(r!.gateway);
        expect(r!.dev).toBe('eth1');
      }
    }
  });

  it('every pod reaches a pod on every other node over IPv4 and IPv6', async () => {
    await expectAllPings(state, 2);
  });
});
