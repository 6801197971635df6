/**
 * Kubernetes interop: real `bin/nodebgp run` processes (kubernetes.enabled, NODE_NAME per node, a kubeconfig
 * pointing at the fake API server) in network namespaces, the real @kubernetes/client-node inside them, the
 * fake API server as its own process in an "api" namespace on the node network (kubernetes/kubernetes-lab.ts).
 * Each scenario checks the kernel tables (`ip -n NS -j route show proto 202`) and `nodebgp neighbors --json`.
 *
 * The scenarios build on each other in one cluster (starting processes is the slow part):
 *   a. three nodes mesh and install each other's podCIDRs; NetworkUnavailable=False is patched on each
 *   b+c. a fourth node joins without a podCIDR (it says it is waiting), gets one late and is routed to;
 *        then node-3 leaves (Node deleted): its routes and sessions go from the others without a restart
 *   d. the API server is away for API_DOWN_MS (20 s; the behaviour does not depend on the length, only on
 *      no event arriving) and nothing is withdrawn; when it is back the watches resume (a new Node is meshed)
 *   f. node-1 peers with an FRR top-of-rack router through its nodebgp.io/peers annotation
 *   e. node-1 becomes a route reflector (label): the others peer only with it and still learn each other's
 *      podCIDRs, reflected by node-1 with the original next hop
 */
import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFrr, until, type Frr } from './harness/index.js';
import { NODEBGP_BIN } from './harness/nodebgp.js';
import { CLUSTER_ASN, KubernetesLab, type ClusterNode } from './kubernetes/kubernetes-lab.js';

const API_DOWN_MS = 20_000;
const built = existsSync(NODEBGP_BIN) && existsSync(new URL('../../dist/daemon/main.js', import.meta.url));
const IMPORT = { importPrefixes: [{ prefix: '10.244.0.0/16', le: 24 }, { prefix: '10.200.0.0/16' }] };

const RR_LABEL = 'node-restriction.kubernetes.io/nodebgp-route-reflector';
/** The reflector cluster id of scenario e: not any node's router id. */
const CLUSTER_ID = '10.100.0.201';

interface ReflectedPath {
  originatorId?: string;
  clusterList?: { list?: string[] };
}

let k8s: KubernetesLab;
let frr: Frr | undefined;
let observer: Frr | undefined;

/** Waits until the node's kernel holds exactly these pod routes (prefix → gateway). */
async function kernelIs(lab: KubernetesLab, node: ClusterNode, want: Record<string, string>): Promise<void> {
  let last: Record<string, string> = {};
  await until(
    async () => {
      last = await lab.kernelRoutes(node);
      return JSON.stringify(sorted(last)) === JSON.stringify(sorted(want));
    },
    { what: `${node.name} kernel routes ${JSON.stringify(want)}`, timeout: 30_000, interval: 200 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; kernel has ${JSON.stringify(last)}`);
  });
}

function sorted(r: Record<string, string>): [string, string][] {
  return Object.entries(r).sort(([a], [b]) => a.localeCompare(b));
}

const podRoutes = (...ks: number[]) =>
  Object.fromEntries(ks.map((k) => [`10.244.${k}.0/24`, `10.100.0.${k}`]));

describe.skipIf(!built)('Kubernetes node source, real processes', () => {
  beforeAll(async () => {
    k8s = new KubernetesLab();
    await k8s.startApiServer();
    for (const k of [1, 2, 3]) await k8s.addNode(k);
  }, 30_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') console.log(await k8s.dump());
  });

  afterAll(async () => {
    await frr?.bgpd.stop().catch(() => undefined);
    await observer?.bgpd.stop().catch(() => undefined);
    await k8s?.teardown();
  }, 30_000);

  it('a. three nodes form a full mesh and install each other’s podCIDRs', async () => {
    const t0 = Date.now();
    await Promise.all([1, 2, 3].map((k) => k8s.startNode(k, IMPORT)));
    for (const k of [1, 2, 3]) {
      const node = k8s.node(k);
      const others = [1, 2, 3].filter((o) => o !== k);
      await until(
        async () =>
          JSON.stringify(await k8s.established(node)) === JSON.stringify(others.map((o) => `10.100.0.${o}`)),
        { what: `${node.name} Established with ${others}`, timeout: 30_000, interval: 200 },
      );
      await kernelIs(k8s, node, podRoutes(...others));
    }
    await until(
      async () => {
        for (const k of [1, 2, 3]) {
          const c = await k8s.apiCall<{ type: string; status: string; reason?: string }[]>(
            'conditions',
            `node-${k}`,
          );
          if (
            !c.some(
              (x) => x.type === 'NetworkUnavailable' && x.status === 'False' && x.reason === 'NodebgpIsUp',
            )
          )
            return false;
        }
        return true;
      },
      { what: 'NetworkUnavailable=False on every node', timeout: 30_000, interval: 200 },
    );
    const patches = await k8s.apiCall<{ name: string; contentType: string }[]>('patches');
    expect(new Set(patches.map((p) => p.name))).toEqual(new Set(['node-1', 'node-2', 'node-3']));
    expect(patches.every((p) => p.contentType === 'application/strategic-merge-patch+json')).toBe(true);
    // The DaemonSet's probes: /readyz and /metrics on 127.0.0.1:9179 inside the node's namespace.
    const probe = `for (const p of ['/livez', '/readyz', '/metrics']) {
      const r = await fetch('http://127.0.0.1:9179' + p); console.log(p, r.status); console.log(await r.text()); }`;
    const out = await k8s.node(1).ns.exec(process.execPath, ['--input-type=module', '-e', probe]);
    expect(out).toMatch(/\/livez 200/);
    expect(out).toMatch(/\/readyz 200/);
    expect(out).toMatch(/\/metrics 200/);
    expect(out).toMatch(/^nodebgp_kubernetes_api_connected 1$/m);
    expect(out).toMatch(/^nodebgp_bgp_session_state\{peer="10.100.0.2"\} 6$/m);
    expect(out).toMatch(/^nodebgp_convergence_seconds_count\{phase="startup"\} 1$/m);
    expect(out).toMatch(/^nodebgp_convergence_seconds_count\{phase="peer"\} [1-9]/m);
    console.log(`scenario a: ${Date.now() - t0} ms`);
  }, 150_000);

  it('b+c. a fourth node joins, waits for its late podCIDR, then node-3 leaves without any restart', async () => {
    const t0 = Date.now();
    await k8s.addNode(4, { podCIDR: false });
    const n4 = await k8s.startNode(4, IMPORT);
    const waiting = await until(async () => (await k8s.status(n4)).kubernetes?.waiting, {
      what: 'node-4 says it is waiting',
      timeout: 30_000,
      interval: 200,
    });
    expect(waiting).toMatch(/podCIDR/);
    expect(await k8s.neighbors(n4)).toEqual([]);
    await k8s.apiCall('setPodCIDRs', 'node-4', ['10.244.4.0/24']);
    await until(
      async () =>
        JSON.stringify(await k8s.established(n4)) ===
        JSON.stringify(['10.100.0.1', '10.100.0.2', '10.100.0.3']),
      { what: 'node-4 Established with 1..3', timeout: 30_000, interval: 200 },
    );
    await kernelIs(k8s, n4, podRoutes(1, 2, 3));
    for (const k of [1, 2, 3])
      await kernelIs(k8s, k8s.node(k), podRoutes(...[1, 2, 3, 4].filter((o) => o !== k)));
    expect((await k8s.status(n4)).podCIDRs).toEqual(['10.244.4.0/24']);
    console.log(`scenario b (join) + c (late podCIDR): ${Date.now() - t0} ms`);

    const t1 = Date.now();
    await k8s.apiCall('deleteNode', 'node-3');
    for (const k of [1, 2, 4]) {
      const node = k8s.node(k);
      await kernelIs(k8s, node, podRoutes(...[1, 2, 4].filter((o) => o !== k)));
      await until(async () => (await k8s.neighbors(node)).every((p) => p.address !== '10.100.0.3'), {
        what: `${node.name} has no session with node-3`,
        timeout: 30_000,
        interval: 200,
      });
    }
    await k8s.node(3).daemon.stop();
    console.log(`scenario b (leave): ${Date.now() - t1} ms`);
  }, 90_000);

  it(`d. the API server is away for ${API_DOWN_MS / 1000} s: nothing is withdrawn, and the watches resume`, async () => {
    const t0 = Date.now();
    const live = [1, 2, 4].map((k) => k8s.node(k));
    const before = await Promise.all(live.map((n) => k8s.kernelRoutes(n)));
    await k8s.apiCall('down');
    await until(
      async () =>
        (await Promise.all(live.map((n) => k8s.status(n)))).every((s) => s.kubernetes?.connected === false),
      { what: 'every node sees the API away', timeout: 30_000, interval: 200 },
    );
    const end = Date.now() + API_DOWN_MS;
    while (Date.now() < end) {
      for (const [i, n] of live.entries()) {
        expect(await k8s.kernelRoutes(n)).toEqual(before[i]);
        expect((await k8s.established(n)).length).toBe(2);
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
    await k8s.apiCall('up');
    await until(
      async () =>
        (await Promise.all(live.map((n) => k8s.status(n)))).every((s) => s.kubernetes?.connected === true),
      { what: 'every node reconnected', timeout: 30_000, interval: 200 },
    );
    // A change made after the outage reaches everyone: the watches really resumed.
    await k8s.addNode(5);
    for (const n of live)
      await until(async () => (await k8s.neighbors(n)).some((p) => p.address === '10.100.0.5'), {
        what: `${n.name} configured a peer for node-5`,
        timeout: 30_000,
        interval: 200,
      });
    await k8s.apiCall('deleteNode', 'node-5');
    for (const [i, n] of live.entries()) expect(await k8s.kernelRoutes(n)).toEqual(before[i]);
    console.log(`scenario d: ${Date.now() - t0} ms`);
  }, 90_000);

  it('f. node-1 peers with an FRR top-of-rack router named in its nodebgp.io/peers annotation', async () => {
    const t0 = Date.now();
    const tor = k8s.attach('tor', '10.100.0.100');
    frr = await startFrr(tor, k8s.lab.tempDir('frr'), {
      bgpd: [
        'router bgp 65100',
        ' bgp router-id 10.100.0.100',
        ' no bgp ebgp-requires-policy',
        ' no bgp network import-check',
        ` neighbor 10.100.0.1 remote-as ${CLUSTER_ASN}`,
        ' neighbor 10.100.0.1 timers 3 9',
        ' neighbor 10.100.0.1 timers connect 1',
        ' address-family ipv4 unicast',
        '  network 10.200.0.0/24',
        ' exit-address-family',
        '',
      ].join('\n'),
    });
    const n1 = k8s.node(1);
    await k8s.apiCall('setMeta', 'node-1', {
      annotations: {
        'nodebgp.io/peers': JSON.stringify([{ address: '10.100.0.100', asn: 65100, holdTime: 9 }]),
      },
    });
    await until(async () => (await k8s.established(n1)).includes('10.100.0.100'), {
      what: 'node-1 Established with the ToR',
      timeout: 30_000,
      interval: 200,
    });
    await until(
      async () => {
        const rib = await frr!.vtyshJson<{ routes?: Record<string, unknown> }>('show bgp ipv4 unicast json');
        return rib.routes?.['10.244.1.0/24'] !== undefined;
      },
      { what: 'FRR has node-1’s podCIDR', timeout: 30_000, interval: 200 },
    );
    await kernelIs(k8s, n1, { ...podRoutes(2, 4), '10.200.0.0/24': '10.100.0.100' });
    console.log(`scenario f: ${Date.now() - t0} ms`);
  }, 60_000);

  it('e. with node-1 a route reflector, the others peer only with it and learn each other’s podCIDRs', async () => {
    const t0 = Date.now();
    // An iBGP observer (not a client) of node-1 shows what node-1 reflects: CLUSTER_LIST and ORIGINATOR_ID.
    const obsNs = k8s.attach('obs', '10.100.0.101');
    observer = await startFrr(obsNs, k8s.lab.tempDir('obs'), {
      bgpd: [
        `router bgp ${CLUSTER_ASN}`,
        ' bgp router-id 10.100.0.101',
        ` neighbor 10.100.0.1 remote-as ${CLUSTER_ASN}`,
        ' neighbor 10.100.0.1 timers 3 9',
        ' neighbor 10.100.0.1 timers connect 1',
        '',
      ].join('\n'),
    });
    await k8s.apiCall('setMeta', 'node-1', {
      annotations: {
        'nodebgp.io/peers': JSON.stringify([
          { address: '10.100.0.100', asn: 65100, holdTime: 9 },
          { address: '10.100.0.101', asn: CLUSTER_ASN, holdTime: 9 },
        ]),
      },
    });
    // The label's cluster id on purpose differs from node-1's router id (10.100.0.1): it must be the one used.
    await k8s.apiCall('setMeta', 'node-1', { labels: { [RR_LABEL]: CLUSTER_ID } });
    const [n1, n2, n4] = [1, 2, 4].map((k) => k8s.node(k));
    for (const client of [n2, n4])
      await until(
        async () => {
          const peers = await k8s.neighbors(client);
          return peers.length === 1 && peers[0].address === '10.100.0.1' && peers[0].state === 'Established';
        },
        { what: `${client.name} peers only with the reflector`, timeout: 30_000, interval: 200 },
      );
    await until(
      async () => {
        const up = await k8s.established(n1);
        return up.includes('10.100.0.2') && up.includes('10.100.0.4');
      },
      { what: 'the reflector has both clients Established', timeout: 30_000, interval: 200 },
    );
    // The reflector also passes on what it learned from the ToR (scenario f), next hop unchanged.
    const tor = { '10.200.0.0/24': '10.100.0.100' };
    await kernelIs(k8s, n2, { ...podRoutes(1, 4), ...tor });
    await kernelIs(k8s, n4, { ...podRoutes(1, 2), ...tor });
    const viaReflector = (await k8s.routes(n2)).find((r) => r.prefix === '10.244.4.0/24' && r.best);
    expect(viaReflector).toMatchObject({ peer: '10.100.0.1', nexthops: ['10.100.0.4'] });
    const reflected = await until(
      async () => {
        const r = await observer!.vtyshJson<{ paths?: ReflectedPath[] }>(
          'show bgp ipv4 unicast 10.244.2.0/24 json',
        );
        return r.paths?.[0];
      },
      { what: 'the observer has node-2’s podCIDR, reflected', timeout: 30_000, interval: 200 },
    );
    expect(reflected.originatorId).toBe('10.100.0.2');
    expect(reflected.clusterList?.list).toEqual([CLUSTER_ID]);
    console.log(`scenario e: ${Date.now() - t0} ms`);
  }, 60_000);
});
