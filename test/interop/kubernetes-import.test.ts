/**
 * Kubernetes mode: a node's podCIDR is accepted only from that node. Two real nodebgp nodes (node-1,
 * node-2) and a rogue "node-3" — a Node object whose InternalIP is an FRR router speaking iBGP in the
 * cluster's AS, as a compromised node could. FRR announces its own podCIDR (fine), node-2's podCIDR and a
 * more specific of it, with LOCAL_PREF 200 so that either would win if it were accepted.
 *
 *   node-1 10.100.0.1 ─┐
 *   node-2 10.100.0.2 ─┼─ br0 (kubernetes/kubernetes-lab.ts), fake API server at 10.100.0.254
 *   node-3 10.100.0.3 ─┘  FRR, AS 64512
 *
 * node-1 must keep routing node-2's pods to node-2 (`ip route get` in its namespace), install node-3's own
 * podCIDR, and keep the FRR session Established throughout.
 */
import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RouteView } from '../../bgp/api.js';
import { startFrr, until, type Frr } from './harness/index.js';
import { NODEBGP_BIN } from './harness/nodebgp.js';
import { CLUSTER_ASN, KubernetesLab } from './kubernetes/kubernetes-lab.js';

const built = existsSync(NODEBGP_BIN) && existsSync(new URL('../../dist/daemon/main.js', import.meta.url));
/** Even with a rule that covers every podCIDR, a podCIDR from the wrong node stays refused. */
const IMPORT = { importPrefixes: [{ prefix: '10.244.0.0/16', le: 25 }] };

let k8s: KubernetesLab;
let rogue: Frr | undefined;

const wait = <T>(what: string, probe: () => Promise<T | undefined | false>, timeout = 60_000) =>
  until(probe, { what, timeout, interval: 200 });

describe.skipIf(!built)('Kubernetes: a podCIDR only from its own node', () => {
  beforeAll(async () => {
    k8s = new KubernetesLab();
    await k8s.startApiServer();
    for (const k of [1, 2, 3]) await k8s.addNode(k);
    const ns3 = k8s.attach('n3', '10.100.0.3');
    rogue = await startFrr(ns3, k8s.lab.tempDir('frr'), {
      bgpd: [
        `router bgp ${CLUSTER_ASN}`,
        ' bgp router-id 10.100.0.3',
        ' no bgp network import-check',
        ...['10.100.0.1', '10.100.0.2'].flatMap((n) => [
          ` neighbor ${n} remote-as ${CLUSTER_ASN}`,
          ` neighbor ${n} timers 3 9`,
          ` neighbor ${n} timers connect 1`,
        ]),
        ' address-family ipv4 unicast',
        '  network 10.244.3.0/24',
        '  network 10.244.2.0/24',
        '  network 10.244.2.0/25',
        '  neighbor 10.100.0.1 route-map prefer out',
        '  neighbor 10.100.0.2 route-map prefer out',
        ' exit-address-family',
        'route-map prefer permit 10',
        ' set local-preference 200',
        '',
      ].join('\n'),
    });
    await Promise.all([1, 2].map((k) => k8s.startNode(k, IMPORT)));
  }, 120_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') console.log(await k8s.dump());
  });

  afterAll(async () => {
    await rogue?.bgpd.stop().catch(() => undefined);
    await k8s?.teardown();
  }, 30_000);

  it('node-1 routes node-2’s pods to node-2 and takes only node-3’s own podCIDR from it', async () => {
    const n1 = k8s.node(1);
    await wait(
      'node-1 Established with node-2 and the rogue node-3',
      async () => JSON.stringify(await k8s.established(n1)) === JSON.stringify(['10.100.0.2', '10.100.0.3']),
    );
    const want = { '10.244.2.0/24': '10.100.0.2', '10.244.3.0/24': '10.100.0.3' };
    let seen = {};
    await wait('node-1 kernel', async () => {
      seen = await k8s.kernelRoutes(n1);
      return JSON.stringify(seen) === JSON.stringify(want);
    }).catch((err: Error) => {
      throw new Error(`${err.message}; kernel has ${JSON.stringify(seen)}`);
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await k8s.kernelRoutes(n1)).toEqual(want);
    expect(await n1.ns.ip(['route', 'get', '10.244.2.5'])).toMatch(/via 10\.100\.0\.2 /);
    expect(await n1.ns.ip(['route', 'get', '10.244.2.200'])).toMatch(/via 10\.100\.0\.2 /);
    expect(await n1.ns.ip(['route', 'get', '10.244.3.5'])).toMatch(/via 10\.100\.0\.3 /);
    const fromRogue = await k8s.cli<RouteView[]>(n1, ['adj-rib-in', '10.100.0.3']);
    expect(
      Object.fromEntries(
        fromRogue.map((r) => [r.prefix, r.reason.startsWith('ineligible') ? 'refused' : r.reason]),
      ),
    ).toEqual({
      '10.244.2.0/24': 'refused',
      '10.244.2.0/25': 'refused',
      '10.244.3.0/24': 'accepted',
    });
    // node-2 refuses its own podCIDR from node-3, and keeps node-1's from node-1.
    await wait(
      'node-2 kernel',
      async () =>
        JSON.stringify(await k8s.kernelRoutes(k8s.node(2))) ===
        JSON.stringify({ '10.244.1.0/24': '10.100.0.1', '10.244.3.0/24': '10.100.0.3' }),
    );
  }, 120_000);

  it('the FRR session stays Established with its own route in the kernel', async () => {
    const n1 = k8s.node(1);
    const before = (await k8s.neighbors(n1)).find((p) => p.address === '10.100.0.3');
    await new Promise((r) => setTimeout(r, 3000));
    const after = (await k8s.neighbors(n1)).find((p) => p.address === '10.100.0.3');
    expect(after).toMatchObject({ state: 'Established', establishedCount: before?.establishedCount });
    expect((await k8s.kernelRoutes(n1))['10.244.3.0/24']).toBe('10.100.0.3');
  }, 30_000);
});
