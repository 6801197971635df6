/**
 * Service addresses, end to end (root, namespaces, FRR 8.4): three real `bin/nodebgp run` processes with
 * `kubernetes.services` under one FRR top-of-rack router (AS 65100, maximum-paths 4), the fake API server as
 * its own process (kubernetes/kubernetes-lab.ts) serving Services and EndpointSlices in the API's JSON.
 *
 *   a. a LoadBalancer Service with externalTrafficPolicy Local and ready endpoints on node-1 and node-2: FRR
 *      learns its /32 from exactly those two, as one ECMP route; no node installs it in its kernel or learns
 *      it from another (the mesh never gets it); a ping from the ToR to the Service IP reaches a pod holding
 *      that address on a node with an endpoint (bound in the pod's namespace, as a load balancer delivers it);
 *      `nodebgp status` and `routes` say which Service and why
 *   b. the endpoint on node-1 moves to node-3: FRR's paths follow (node-2 and node-3)
 *   c. the Service is deleted: withdrawn everywhere
 *
 * Each step logs the time from the API change (just before the call to the fake server) until the ToR's
 * kernel routes the VIP as FRR then has it (polled with `ip route` every 5 ms): the watch event, the plan, the
 * UPDATE (advertisement-interval 0), FRR's best-path run and zebra's install.
 */
import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StatusView } from '../../daemon/views.js';
import { startFrr, until, type Frr, type Netns } from './harness/index.js';
import { NODEBGP_BIN } from './harness/nodebgp.js';
import { CLUSTER_ASN, KubernetesLab, type ClusterNode } from './kubernetes/kubernetes-lab.js';

const built = existsSync(NODEBGP_BIN) && existsSync(new URL('../../dist/daemon/main.js', import.meta.url));
const VIP = '192.0.2.10';
const TOR = '10.100.0.100';
const TOR_ASN = 65100;

let k8s: KubernetesLab;
let tor: Frr;
let torNs: Netns;
const pods = new Map<number, Netns>();

interface BgpPath {
  nexthops?: { ip?: string }[];
  peerId?: string;
  multipath?: boolean;
  /** true in the table's JSON, { overall: true } in a prefix's. */
  bestpath?: boolean | { overall?: boolean };
}

/** The peers FRR has a path for the VIP from, sorted. */
async function torPaths(): Promise<string[]> {
  const rib = await tor.vtyshJson<{ routes?: Record<string, BgpPath[]> }>('show bgp ipv4 unicast json');
  return (rib.routes?.[`${VIP}/32`] ?? []).map((p) => p.peerId ?? p.nexthops?.[0]?.ip ?? '?').sort();
}

/** The next hops of the VIP's route in the ToR's kernel (ECMP: several), sorted. */
function torKernel(): string[] {
  const routes = torNs.ipJson<{ gateway?: string; nexthops?: { gateway: string }[] }>(
    'route',
    'show',
    `${VIP}/32`,
  );
  const r = routes[0];
  if (r === undefined) return [];
  return (r.nexthops ? r.nexthops.map((n) => n.gateway) : r.gateway ? [r.gateway] : []).sort();
}

/**
 * Waits until the ToR's kernel routes the VIP over exactly these nodes (FRR's best paths, installed by zebra:
 * its BGP table had them first), then checks FRR's BGP table says the same. Returns the ms until the kernel
 * showed it, and the mean time of one `ip route` poll (the measurement's resolution).
 */
async function torHas(nodes: number[], what: string): Promise<{ ms: number; pollMs: number }> {
  const want = nodes.map((k) => `10.100.0.${k}`).sort();
  const t0 = performance.now();
  let polls = 0;
  let polling = 0;
  let kernel: string[] = [];
  await until(
    () => {
      const p0 = performance.now();
      kernel = torKernel();
      polls++;
      polling += performance.now() - p0;
      return JSON.stringify(kernel) === JSON.stringify(want);
    },
    { what: `${what} (the ToR's kernel)`, timeout: 30_000, interval: 5 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; the ToR routes it via ${JSON.stringify(kernel)}`);
  });
  const ms = performance.now() - t0;
  let last: string[] = [];
  await until(
    async () => {
      last = await torPaths();
      return JSON.stringify(last) === JSON.stringify(want);
    },
    { what, timeout: 10_000, interval: 50 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; FRR has paths from ${JSON.stringify(last)}`);
  });
  return { ms, pollMs: polling / Math.max(1, polls) };
}

const took = (sent: number, t: { ms: number; pollMs: number }) =>
  `${Math.round(sent + t.ms)} ms (API call ${Math.round(sent)} ms; one ip-route poll ${t.pollMs.toFixed(1)} ms)`;

/** ICMP echo requests a namespace has answered (its own /proc/net/snmp). */
async function echoesAnswered(ns: Netns): Promise<number> {
  const snmp = await ns.exec('cat', ['/proc/net/snmp']);
  const lines = snmp.split('\n').filter((l) => l.startsWith('Icmp:'));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf('InEchos')]);
}

/** The VIP's routes as a node's `nodebgp routes --json` lists them. */
async function vipRoutes(node: ClusterNode) {
  return (await k8s.routes(node)).filter((r) => r.prefix === `${VIP}/32`);
}

describe.skipIf(!built)('Kubernetes Service addresses under an FRR top-of-rack router', () => {
  beforeAll(async () => {
    k8s = new KubernetesLab();
    await k8s.startApiServer();
    torNs = k8s.attach('tor', TOR);
    tor = await startFrr(torNs, k8s.lab.tempDir('frr'), {
      bgpd: [
        `router bgp ${TOR_ASN}`,
        ` bgp router-id ${TOR}`,
        ' no bgp ebgp-requires-policy',
        ...[1, 2, 3].flatMap((k) => [
          ` neighbor 10.100.0.${k} remote-as ${CLUSTER_ASN}`,
          ` neighbor 10.100.0.${k} timers 3 9`,
          ` neighbor 10.100.0.${k} timers connect 1`,
          ` neighbor 10.100.0.${k} advertisement-interval 0`,
        ]),
        ' address-family ipv4 unicast',
        '  maximum-paths 4',
        ' exit-address-family',
        '',
      ].join('\n'),
    });
    for (const k of [1, 2, 3]) await k8s.addNode(k);
    await Promise.all(
      [1, 2, 3].map((k) =>
        k8s.startNode(k, {
          peers: [{ address: TOR, asn: TOR_ASN, holdTime: 9 }],
          services: {},
        }),
      ),
    );
    for (const k of [1, 2, 3]) {
      const node = k8s.node(k);
      await node.ns.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
      // A pod behind the node (a /32 on a veth, default route via 169.254.1.1, as the labs' pods), holding the
      // VIP on its loopback; the node hands the VIP to it, as kube-proxy or a load balancer's data path would.
      const pod = k8s.lab.namespace(`pod${k}`);
      const link = k8s.lab.link(node.ns, pod, { a: ['169.254.1.1/32'], b: [`10.244.${k}.5/32`] });
      pod.ipSync('route', 'add', '169.254.1.1', 'dev', link.b);
      pod.ipSync('route', 'add', 'default', 'via', '169.254.1.1', 'dev', link.b);
      pod.ipSync('addr', 'add', `${VIP}/32`, 'dev', 'lo');
      node.ns.ipSync('route', 'add', `10.244.${k}.5/32`, 'dev', link.a);
      node.ns.ipSync('route', 'add', `${VIP}/32`, 'via', `10.244.${k}.5`, 'dev', link.a, 'onlink');
      pods.set(k, pod);
    }
    for (const k of [1, 2, 3])
      await until(async () => (await k8s.established(k8s.node(k))).includes(TOR), {
        what: `node-${k} Established with the ToR`,
        timeout: 30_000,
        interval: 200,
      });
  }, 90_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') console.log(await k8s.dump());
  });

  afterAll(async () => {
    await tor?.bgpd.stop().catch(() => undefined);
    await k8s?.teardown();
  }, 30_000);

  it('a. a Local LoadBalancer Service with endpoints on node-1 and node-2: FRR learns it from exactly those, ECMP', async () => {
    await k8s.apiCall('putService', 'web', { loadBalancerIPs: [VIP], externalTrafficPolicy: 'Local' });
    const t0 = performance.now();
    await k8s.apiCall('putEndpointSlice', 'web', [
      { node: 'node-1', address: '10.244.1.5' },
      { node: 'node-2', address: '10.244.2.5' },
    ]);
    const sent = performance.now() - t0;
    const t = await torHas([1, 2], 'FRR learns the VIP from node-1 and node-2');
    console.log(`[services] endpoints on node-1, node-2 → FRR has both paths: ${took(sent, t)}`);
    const rib = await tor.vtyshJson<{ routes?: Record<string, BgpPath[]> }>('show bgp ipv4 unicast json');
    const paths = rib.routes![`${VIP}/32`]!;
    const inSet = (p: BgpPath) =>
      p.multipath === true ||
      p.bestpath === true ||
      (typeof p.bestpath === 'object' && p.bestpath.overall === true);
    expect(paths.filter(inSet)).toHaveLength(2);
    expect(torKernel()).toEqual(['10.100.0.1', '10.100.0.2']);

    // Never in a node's kernel as a BGP route, never from another node (the mesh does not get it). The
    // ToR sends it back to the nodes (AS path 65100 64512): kept in Adj-RIB-In as ineligible, never best.
    for (const k of [1, 2, 3]) {
      const node = k8s.node(k);
      expect(Object.keys(await k8s.kernelRoutes(node))).not.toContain(`${VIP}/32`);
      const routes = await vipRoutes(node);
      expect(routes.filter((r) => r.local)).toHaveLength(k === 3 ? 0 : 1);
      for (const r of routes.filter((x) => !x.local)) {
        expect(r.peer).toBe(TOR);
        expect(r.best || r.multipath).toBe(false);
        expect(r.reason).toMatch(/^ineligible/);
      }
    }
    const [local] = await vipRoutes(k8s.node(1));
    expect(local!.service).toBe('default/web: externalTrafficPolicy Local: a ready endpoint on node-1');
    const st = await k8s.cli<StatusView>(k8s.node(3), ['status']);
    expect(st.kubernetes?.services).toMatchObject({ connected: true, listed: true, advertised: 0 });
    expect(st.kubernetes?.services?.entries).toContainEqual({
      service: 'default/web',
      kind: 'loadBalancer',
      address: `${VIP}/32`,
      advertised: false,
      why: 'no-local-endpoint',
      detail: 'externalTrafficPolicy Local: no ready endpoint on node-3 (ready on node-1, node-2)',
    });

    // A ping from the ToR reaches a pod holding the VIP on node-1 or node-2 (ECMP picks one for the flow).
    const before = await Promise.all([1, 2, 3].map((k) => echoesAnswered(pods.get(k)!)));
    await torNs.exec('ping', ['-c', '3', '-i', '0.2', '-W', '2', VIP]);
    const after = await Promise.all([1, 2, 3].map((k) => echoesAnswered(pods.get(k)!)));
    const answered = after.map((n, i) => n - before[i]!);
    expect(answered[0]! + answered[1]!).toBe(3);
    expect(answered[2]).toBe(0);
  }, 60_000);

  it('b. the endpoint on node-1 moves to node-3: the advertisement moves with it', async () => {
    const t0 = performance.now();
    await k8s.apiCall('putEndpointSlice', 'web', [
      { node: 'node-3', address: '10.244.3.5' },
      { node: 'node-2', address: '10.244.2.5' },
    ]);
    const sent = performance.now() - t0;
    const t = await torHas([2, 3], 'FRR learns the VIP from node-2 and node-3');
    console.log(`[services] endpoint node-1 → node-3 → FRR follows: ${took(sent, t)}`);
    expect((await vipRoutes(k8s.node(1))).filter((r) => r.local)).toEqual([]);
    expect((await vipRoutes(k8s.node(3))).filter((r) => r.local)).toHaveLength(1);
    await torNs.exec('ping', ['-c', '2', '-i', '0.2', '-W', '2', VIP]);
  }, 40_000);

  it('c. the Service is deleted: withdrawn everywhere', async () => {
    const t0 = performance.now();
    await k8s.apiCall('deleteService', 'default/web');
    const sent = performance.now() - t0;
    const t = await torHas([], 'FRR has no path for the VIP');
    console.log(`[services] Service deleted → FRR withdraws: ${took(sent, t)}`);
    for (const k of [1, 2, 3])
      await until(async () => (await vipRoutes(k8s.node(k))).length === 0, {
        what: `node-${k} has no path for the VIP`,
        timeout: 10_000,
        interval: 100,
      });
  }, 40_000);
});
