/**
 * Kubernetes mode of the daemon: a real ClusterController against the fake API server, a fake Speaker and
 * Fib. Peers, advertisements and the Node's NetworkUnavailable condition follow the Node objects.
 */
import { Writable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatPrefix } from '../../../ip/prefix.js';
import { ClusterFeed } from '../../../daemon/cluster-feed.js';
import { parseConfig, withNodeIdentity } from '../../../daemon/config.js';
import { Daemon } from '../../../daemon/daemon.js';
import type { Engines } from '../../../daemon/deps.js';
import { ClusterController, type KubernetesConfig } from '../../../daemon/kubernetes/index.js';
import { createLogger } from '../../../daemon/log.js';
import { statusText } from '../../../daemon/cli/format.js';
import {
  FakeApiServer,
  kubeConfigOptions,
  makeEndpointSlice,
  makeNode,
  makeService,
} from '../../support/fake-apiserver.js';

import { FakeFib, FakeSpeaker } from '../../support/fake-engines.js';
import { key } from '../../support/prefix.js';
import { until } from '../../../toolkit/index.js';

const RR_LABEL = 'node-restriction.kubernetes.io/nodebgp-route-reflector';

const CONFIG = `asn: 64512
kubernetes: { enabled: true, nodeName: node-a, resyncBackoff: { initialMs: 20, maxMs: 100 } }
kernel: { enabled: true, staleGraceSeconds: 600 }
`;

let server: FakeApiServer;
let cluster: ClusterController | undefined;

beforeEach(async () => {
  server = new FakeApiServer();
  await server.listen();
});

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
  await server.close();
});

/** The parsed section without a kubeconfig file: the tests hand the client a KubeConfig of their own. */
function withoutKubeconfig(k: KubernetesConfig): KubernetesConfig {
  const { kubeconfig: _file, ...rest } = k;
  return rest;
}

async function startDaemon(text = CONFIG) {
  const config = parseConfig(text, 'c.yaml');
  const kc = new KubeConfig();
  kc.loadFromOptions(kubeConfigOptions(server));
  const lines: string[] = [];
  const log = createLogger('debug', new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  cluster = new ClusterController({
    config: withoutKubeconfig(config.kubernetes!),
    asn: config.asn,
    kubeConfig: kc,
    minHealthyWatchMs: 200,
  });
  const feed = new ClusterFeed(cluster, log, true);
  cluster.start();
  const node = await feed.ready();
  if (!node || !cluster.routerId) throw new Error('no node');
  let speaker: FakeSpeaker | undefined;
  let fib: FakeFib | undefined;
  const engines: Engines = {
    createSpeaker: (c) => (speaker = new FakeSpeaker(c)),
    createFib: (o) => (fib = new FakeFib(o)),
  };
  let inPlace = 0;
  const daemon = new Daemon(withNodeIdentity(config, cluster.routerId, cluster.routerId), engines, log, {
    cluster: feed,
    onRoutesInPlace: () => void cluster?.markNetworkAvailable().then(() => inPlace++),
  });
  await daemon.start();
  return { daemon, speaker: speaker!, fib: fib!, feed, lines, inPlace: () => inPlace };
}

describe('Daemon in Kubernetes mode', () => {
  it('takes router id and address from the Node, meshes with the others and advertises the podCIDR', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['10.0.0.1'] }));
    server.addNode(makeNode('node-b', { podCIDRs: ['10.244.2.0/24'], internalIPs: ['10.0.0.2'] }));
    const { daemon, speaker } = await startDaemon();
    expect(speaker.config).toMatchObject({
      asn: 64512,
      routerId: '10.0.0.1',
      listen: { address: '10.0.0.1' },
    });
    expect(speaker.config.importFilter?.('10.0.0.2', key('10.244.2.0/24'), {} as never, '10.0.0.2')).toBe(
      true,
    );
    expect(speaker.config.importFilter?.('10.0.0.2', key('10.244.1.0/24'), {} as never, '10.0.0.2')).toBe(
      false,
    );
    expect(speaker.peerCalls()).toEqual(['add 10.0.0.2']);
    expect(speaker.ads.map((a) => [formatPrefix(a.prefix), a.nextHop])).toEqual([
      ['10.244.1.0/24', '10.0.0.1'],
    ]);
    expect(daemon.status().kubernetes).toMatchObject({
      nodeName: 'node-a',
      connected: true,
      podCIDRsSource: 'node',
    });
    expect(daemon.status().podCIDRs).toEqual(['10.244.1.0/24']);
  });

  it('blackholes the Node’s podCIDRs (not the file’s) and follows them when they change', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['10.0.0.1'] }));
    const { fib } = await startDaemon(
      CONFIG.replace('staleGraceSeconds: 600', 'staleGraceSeconds: 600, blackholePodCIDRs: true'),
    );
    expect(fib.blackholes.at(-1)?.prefixes.map(formatPrefix)).toEqual(['10.244.1.0/24']);
    server.modifyNode('node-a', (n) => {
      n.spec = { podCIDR: '10.244.9.0/24', podCIDRs: ['10.244.9.0/24', 'fd00:244:9::/64'] };
    });
    await until(() => fib.blackholes.at(-1)?.prefixes.map(formatPrefix)[0] === '10.244.9.0/24', {
      what: 'blackholes follow the Node',
      timeout: 3000,
    });
    expect(fib.blackholes.at(-1)?.prefixes.map(formatPrefix)).toEqual(['10.244.9.0/24', 'fd00:244:9::/64']);
  });

  it('labelled a reflector after start, reflects with the label’s cluster id, not its router id', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['10.0.0.1'] }));
    server.addNode(makeNode('node-b', { podCIDRs: ['10.244.2.0/24'], internalIPs: ['10.0.0.2'] }));
    const { speaker, daemon } = await startDaemon();
    expect(speaker.config.clusterId).toBeUndefined();
    speaker.established.add('10.0.0.2');
    speaker.emit('end-of-rib', '10.0.0.2');
    speaker.calls = [];
    server.modifyNode('node-a', (n) => {
      n.metadata = { ...n.metadata, labels: { [RR_LABEL]: '10.9.9.9' } };
    });
    await until(() => speaker.calls.includes('update 10.0.0.2 rr-client'), {
      what: 'client session',
      timeout: 3000,
    });
    // The id is set in the same turn as the session becomes a client session (its client is up already),
    // before the export pass, so nothing is reflected with another.
    const roles = speaker.calls.filter((c) => c.startsWith('update') || c.startsWith('cluster-id'));
    expect(roles.slice(0, 2)).toEqual(['update 10.0.0.2 rr-client', 'cluster-id 10.9.9.9']);
    expect(daemon.status().kubernetes?.routeReflectorClusterId).toBe('10.9.9.9');
  });

  it('a second reflector takes the cluster id only once its client sessions have sent their routes', async () => {
    // node-c reflects already; node-a joins it with the same cluster id. Taken at once, the id would make
    // node-a drop everything node-c reflected to it (its own id in CLUSTER_LIST) before node-b, its new
    // client, has sent a route: node-b's pods unreachable from node-a meanwhile.
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['10.0.0.1'] }));
    server.addNode(makeNode('node-b', { podCIDRs: ['10.244.2.0/24'], internalIPs: ['10.0.0.2'] }));
    server.addNode(
      makeNode('node-c', {
        podCIDRs: ['10.244.3.0/24'],
        internalIPs: ['10.0.0.3'],
        labels: { [RR_LABEL]: '10.0.0.201' },
      }),
    );
    const { speaker, lines } = await startDaemon();
    expect(speaker.peerCalls()).toEqual(['add 10.0.0.3']);
    speaker.established.add('10.0.0.3');
    speaker.emit('end-of-rib', '10.0.0.3');
    speaker.calls = [];
    server.modifyNode('node-a', (n) => {
      n.metadata = { ...n.metadata, labels: { [RR_LABEL]: '10.0.0.201' } };
    });
    await until(() => speaker.calls.includes('add 10.0.0.2'), { what: 'client session', timeout: 3000 });
    await until(() => lines.some((l) => l.includes('"k8s-cluster-id-pending"')), {
      what: 'pending',
      timeout: 3000,
    });
    await new Promise((r) => setTimeout(r, 600));
    expect(speaker.calls.filter((c) => c.startsWith('cluster-id'))).toEqual([]);
    speaker.established.add('10.0.0.2');
    await new Promise((r) => setTimeout(r, 400));
    expect(speaker.calls.filter((c) => c.startsWith('cluster-id'))).toEqual([]); // no End-of-RIB yet
    speaker.emit('end-of-rib', '10.0.0.2');
    await until(() => speaker.calls.includes('cluster-id 10.0.0.201'), { what: 'id taken', timeout: 3000 });
    // …and the routes already received are checked against it: sent again on request.
    const after = speaker.calls.slice(speaker.calls.indexOf('cluster-id 10.0.0.201'));
    expect(after).toEqual(expect.arrayContaining(['refresh 10.0.0.3', 'refresh 10.0.0.2']));
  });

  it('mesh → reflector: keeps the old mesh session until the reflector is up with End-of-RIB', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['10.0.0.1'] }));
    server.addNode(makeNode('node-b', { podCIDRs: ['10.244.2.0/24'], internalIPs: ['10.0.0.2'] }));
    server.addNode(makeNode('node-c', { podCIDRs: ['10.244.3.0/24'], internalIPs: ['10.0.0.3'] }));
    const { speaker, lines } = await startDaemon();
    speaker.established.add('10.0.0.2');
    speaker.calls = [];
    server.modifyNode('node-c', (n) => {
      n.metadata = { ...n.metadata, labels: { [RR_LABEL]: '10.0.0.201' } };
    });
    await until(() => lines.some((l) => l.includes('"k8s-peer-retiring"')), {
      what: 'retiring',
      timeout: 3000,
    });
    await new Promise((r) => setTimeout(r, 1500));
    // The reflector session is not up yet: the mesh session to node-b stays.
    expect(speaker.calls.filter((c) => c.startsWith('remove'))).toEqual([]);
    speaker.established.add('10.0.0.3');
    speaker.emit('end-of-rib', '10.0.0.3');
    await until(() => speaker.calls.includes('remove 10.0.0.2'), { what: 'node-b retired', timeout: 5000 });
    expect(lines.find((l) => l.includes('"k8s-peer-retired"'))).toMatch(/"why":"reflected"/);
  });

  it('a Node deleted: its session goes at once, not retired', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['10.0.0.1'] }));
    server.addNode(makeNode('node-b', { podCIDRs: ['10.244.2.0/24'], internalIPs: ['10.0.0.2'] }));
    const { speaker, lines } = await startDaemon();
    server.deleteNode('node-b');
    await until(() => speaker.calls.includes('remove 10.0.0.2'), { what: 'removed', timeout: 3000 });
    expect(lines.some((l) => l.includes('"k8s-peer-retiring"'))).toBe(false);
  });

  it('adds and removes peers as Nodes come and go; a policy change refreshes Established peers and re-evaluates exports', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['10.0.0.1'] }));
    server.addNode(makeNode('node-b', { podCIDRs: ['10.244.2.0/24'], internalIPs: ['10.0.0.2'] }));
    const { speaker } = await startDaemon();
    speaker.established.add('10.0.0.2');
    server.addNode(makeNode('node-c', { internalIPs: ['10.0.0.3'] }));
    await until(() => speaker.calls.some((c) => c.startsWith('add 10.0.0.3')), {
      what: 'node-c added',
      timeout: 3000,
    });
    const exportsBefore = speaker.exportPolicyChanges;
    server.modifyNode('node-c', (n) => (n.spec = { podCIDR: '10.244.3.0/24', podCIDRs: ['10.244.3.0/24'] }));
    await until(() => speaker.calls.includes('refresh 10.0.0.2'), { what: 'refresh', timeout: 3000 });
    // …and what we export is looked at again under the new policy (node-c's pod CIDR now known).
    await until(() => speaker.exportPolicyChanges > exportsBefore, { what: 'exports again', timeout: 3000 });
    server.deleteNode('node-b');
    await until(() => speaker.calls.includes('remove 10.0.0.2'), { what: 'node-b removed', timeout: 3000 });
  });

  it('sets NetworkUnavailable=False once every peer has sent End-of-RIB and the FIB flushed', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['10.0.0.1'] }));
    server.addNode(makeNode('node-b', { podCIDRs: ['10.244.2.0/24'], internalIPs: ['10.0.0.2'] }));
    const { speaker, inPlace } = await startDaemon();
    await new Promise((r) => setTimeout(r, 50));
    expect(server.patches).toEqual([]);
    speaker.emit('end-of-rib', '10.0.0.2');
    await until(() => inPlace() === 1, { what: 'patched', timeout: 3000 });
    expect(server.patches).toHaveLength(1);
    expect(server.patches[0]).toMatchObject({
      name: 'node-a',
      contentType: 'application/strategic-merge-patch+json',
    });
    const cond = server.nodes.get('node-a')?.status?.conditions?.find((c) => c.type === 'NetworkUnavailable');
    expect(cond).toMatchObject({ status: 'False', reason: 'NodebgpIsUp' });
  });

  it('shows the API state in nodebgp status while the API server is away', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['10.0.0.1'] }));
    const { daemon, speaker } = await startDaemon();
    await server.close();
    await until(() => daemon.status().kubernetes?.connected === false, {
      what: 'disconnected',
      timeout: 3000,
    });
    const text = statusText(daemon.status());
    expect(text).toMatch(/Kubernetes: +node node-a, API not connected, 1 nodes seen/);
    expect(text).toMatch(/Last error: /);
    expect(text).toMatch(/Pod CIDRs from: +the Node/);
    expect(speaker.calls.filter((c) => c.startsWith('remove'))).toEqual([]);
    expect(speaker.ads).toHaveLength(1);
    await server.listen();
  });
});

describe('Daemon in Kubernetes mode: Service addresses', () => {
  const SERVICES = `asn: 64512
kubernetes:
  enabled: true
  nodeName: node-a
  resyncBackoff: { initialMs: 20, maxMs: 100 }
  peers: [{ address: 192.0.2.1, asn: 65000, import: ["0.0.0.0/0"] }]
  services: { communities: ["65000:100"] }
kernel: { enabled: true, staleGraceSeconds: 600 }
`;

  function cluster2(): void {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['10.0.0.1', 'fd00::1'] }));
    server.addNode(makeNode('node-b', { podCIDRs: ['10.244.2.0/24'], internalIPs: ['10.0.0.2'] }));
    server.putService(
      makeService('web', { loadBalancerIPs: ['192.0.2.10', '2001:db8::10'], externalTrafficPolicy: 'Local' }),
    );
    server.putEndpointSlice(makeEndpointSlice('web', [{ node: 'node-a', address: '10.244.1.5' }]));
  }

  const ads = (s: FakeSpeaker) => s.ads.map((a) => [formatPrefix(a.prefix), a.nextHop ?? '']);

  it('originates a Local Service’s addresses beside the podCIDR, to the ToR only, never into the kernel', async () => {
    cluster2();
    const { daemon, speaker, fib } = await startDaemon(SERVICES);
    await until(() => speaker.ads.length === 3, { what: 'service ads', timeout: 3000 });
    expect(ads(speaker)).toEqual([
      ['10.244.1.0/24', '10.0.0.1'],
      ['192.0.2.10/32', '10.0.0.1'],
      ['2001:db8::10/128', 'fd00::1'],
    ]);
    expect(speaker.ads[1]!.attributes).toMatchObject({ communities: [65000 * 65536 + 100] });
    const exp = speaker.config.exportFilter!;
    const a = speaker.ads[1]!.attributes!;
    expect(exp('192.0.2.1', key('192.0.2.10/32'), a)).toEqual(a);
    expect(exp('10.0.0.2', key('192.0.2.10/32'), a)).toBe(false);
    // Learned from the ToR (whose import rules take everything): refused, and never written to the kernel.
    const imp = speaker.config.importFilter!;
    expect(imp('192.0.2.1', key('192.0.2.10/32'), {} as never, '192.0.2.1')).toBe(false);
    expect(imp('192.0.2.1', key('198.51.100.0/24'), {} as never, '192.0.2.1')).toBe(true);
    speaker.emit('loc-rib', {
      prefixes: [key('192.0.2.10/32'), key('198.51.100.0/24')],
      nexthops: [['192.0.2.1'], ['192.0.2.1']],
    });
    expect(fib.sets.at(-1)![0].map(formatPrefix)).toEqual(['198.51.100.0/24']);
    // `nodebgp status` and `routes` say which Service and why.
    const st = daemon.status().kubernetes!.services!;
    expect(st).toMatchObject({
      connected: true,
      listed: true,
      services: 1,
      endpointSlices: 1,
      advertised: 2,
    });
    expect(st.entries[0]).toEqual({
      service: 'default/web',
      kind: 'loadBalancer',
      address: '192.0.2.10/32',
      advertised: true,
      why: 'local-endpoint',
      detail: 'externalTrafficPolicy Local: a ready endpoint on node-a',
    });
    expect(statusText(daemon.status())).toContain(
      '+ 192.0.2.10/32 loadBalancer default/web: externalTrafficPolicy Local: a ready endpoint on node-a',
    );
    speaker.routesShown = [
      {
        prefix: '192.0.2.10/32',
        nexthops: [],
        peer: '',
        asPath: '',
        origin: 'igp',
        communities: ['65000:100'],
        largeCommunities: [],
        best: true,
        multipath: false,
        reason: 'only path',
        local: true,
        age: 0,
      },
    ];
    expect(daemon.routes()[0]!.service).toBe(
      'default/web: externalTrafficPolicy Local: a ready endpoint on node-a',
    );
  });

  it('gives the speaker the same attributes object for an unchanged route, so another Service’s change does not resend it', async () => {
    cluster2();
    const { speaker } = await startDaemon(SERVICES);
    await until(() => speaker.ads.length === 3, { what: 'service ads', timeout: 3000 });
    const before = speaker.ads[1]!;
    server.putService(makeService('api', { loadBalancerIPs: ['192.0.2.20'] }));
    await until(() => speaker.ads.length === 4, { what: 'api advertised', timeout: 3000 });
    expect(formatPrefix(speaker.ads[1]!.prefix)).toBe('192.0.2.10/32');
    expect(speaker.ads[1]!.attributes).toBe(before.attributes);
    server.modifyService('default/web', (svc) => {
      svc.metadata!.annotations = { 'nodebgp.io/local-preference': '250' };
    });
    await until(() => speaker.ads[1]!.attributes !== before.attributes, {
      what: 'new attributes',
      timeout: 3000,
    });
    expect(speaker.ads[1]!.attributes).toMatchObject({ localPref: 250, communities: [65000 * 65536 + 100] });
  });

  it('withdraws when the endpoint moves to another node, and says why', async () => {
    cluster2();
    const { daemon, speaker } = await startDaemon(SERVICES);
    await until(() => speaker.ads.length === 3, { what: 'service ads', timeout: 3000 });
    server.putEndpointSlice(makeEndpointSlice('web', [{ node: 'node-b', address: '10.244.2.5' }]));
    await until(() => speaker.ads.length === 1, { what: 'withdrawn', timeout: 3000 });
    expect(ads(speaker)).toEqual([['10.244.1.0/24', '10.0.0.1']]);
    expect(daemon.status().kubernetes!.services!.entries.map((e) => e.detail)).toEqual([
      'externalTrafficPolicy Local: no ready endpoint on node-a (ready on node-b)',
      'externalTrafficPolicy Local: no ready endpoint on node-a (ready on node-b)',
    ]);
    expect(speaker.config.exportFilter!('192.0.2.1', key('192.0.2.10/32'), { origin: 0, asPath: [] })).toBe(
      false,
    );
  });

  it('asks the peers again when a Service address their import rules would take comes or goes', async () => {
    cluster2();
    const { speaker } = await startDaemon(SERVICES);
    await until(() => speaker.ads.length === 3, { what: 'service ads', timeout: 3000 });
    speaker.established.add('192.0.2.1');
    const refreshes = () => speaker.calls.filter((c) => c.startsWith('refresh')).length;
    const before = refreshes();
    server.putService(makeService('api', { type: 'ClusterIP', clusterIPs: ['10.96.0.20'] })); // 0.0.0.0/0 takes it
    await until(() => refreshes() > before, { what: 'route refresh', timeout: 3000 });
    const after = refreshes();
    server.putService(makeService('v6', { type: 'ClusterIP', clusterIPs: ['fd00:96::20'] })); // no rule takes it
    await new Promise((r) => setTimeout(r, 150));
    expect(refreshes()).toBe(after);
  });
});
