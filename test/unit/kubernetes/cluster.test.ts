/** The controller end to end: the fake API server's Nodes in, speaker calls (peers, advertisements) out. */
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Advertisement } from '../../../bgp/api.js';
import { formatPrefix } from '../../../ip/prefix.js';
import { key4 } from '../../support/prefix.js';
import { ClusterController, type ClusterControllerEvents } from '../../../daemon/kubernetes/cluster.js';
import { kubernetesSchema } from '../../../daemon/kubernetes/schema.js';
import { FakeApiServer, kubeConfigOptions, makeNode } from '../../support/fake-apiserver.js';
import { until } from '../../../toolkit/index.js';

let server: FakeApiServer;
let cluster: ClusterController | undefined;

function start(config: unknown = {}, staticPodCIDRs?: number[]) {
  const kc = new KubeConfig();
  kc.loadFromOptions(kubeConfigOptions(server));
  const c = new ClusterController({
    config: kubernetesSchema.parse({ resyncBackoff: { initialMs: 20, maxMs: 100 }, ...(config as object) }),
    asn: 64512,
    nodeName: 'node-a',
    kubeConfig: kc,
    staticPodCIDRs,
    minHealthyWatchMs: 200,
  });
  const peers: ClusterControllerEvents['peers'][0][] = [];
  const ads: Advertisement[][] = [];
  const problems: string[][] = [];
  const policies: number[] = [];
  c.on('peers', (d) => peers.push(d));
  c.on('advertisements', (a) => ads.push(a));
  c.on('problems', (p) => problems.push(p));
  c.on('policy', (p) => policies.push(p.clusterPodCIDRs.length));
  c.start();
  cluster = c;
  return { c, peers, ads, problems, policies };
}

beforeEach(async () => {
  server = new FakeApiServer();
  await server.listen();
});

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
  await server.close();
});

describe('ClusterController', () => {
  it('turns nodes into peer changes and advertisements, and patches the node status', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['10.0.0.1'] }));
    server.addNode(makeNode('node-b', { podCIDRs: ['10.244.2.0/24'], internalIPs: ['10.0.0.2'] }));
    const { c, peers, ads, policies } = start();
    await until(() => peers.length === 1 && ads.length === 1, { what: 'first peers', timeout: 5000 });
    expect(policies).toEqual([1]);
    expect(peers[0]!.add.map((p) => p.address)).toEqual(['10.0.0.2']);
    expect(ads[0]!.map((a) => [formatPrefix(a.prefix), a.nextHop])).toEqual([['10.244.1.0/24', '10.0.0.1']]);
    expect(c.routerId).toBe('10.0.0.1');
    const p2 = key4('10.244.2.0/24');
    expect(c.policy.importFilter('10.0.0.2', p2, { asPath: [] }, '10.0.0.2')).toBe(true);

    // node-b becomes a route reflector: the session is updated, not re-created
    server.modifyNode('node-b', (n) => {
      n.metadata!.labels = {
        ...n.metadata!.labels,
        'node-restriction.kubernetes.io/nodebgp-route-reflector': '10.0.0.2',
      };
    });
    await until(() => peers.length === 2, { what: 'reflector', timeout: 5000 });
    expect(peers[1]!.update.map((p) => p.description)).toEqual(['route-reflector node-b']);

    server.deleteNode('node-b');
    await until(() => peers.length === 3, { what: 'leave', timeout: 5000 });
    expect(peers[2]!.remove).toEqual(['10.0.0.2']);
    expect(c.policy.importFilter('10.0.0.2', p2, { asPath: [] }, '10.0.0.2')).toBe(false);
    // Becoming a reflector changes the import policy too (reflected paths are judged by their originator).
    expect(policies).toEqual([1, 1, 0]);
    expect(ads).toHaveLength(1);

    expect(await c.markNetworkAvailable()).toBe('patched');
    expect(server.patches[0]!.contentType).toBe('application/strategic-merge-patch+json');
  });

  it('reports a bad peers annotation once, with the node and field', async () => {
    server.addNode(
      makeNode('node-a', {
        podCIDRs: ['10.244.1.0/24'],
        internalIPs: ['10.0.0.1'],
        annotations: { 'nodebgp.io/peers': '[{"address":"192.0.2.1","asn":"x"}]' },
      }),
    );
    const { problems, ads } = start();
    await until(() => ads.length === 1, { what: 'advertisements', timeout: 5000 });
    expect(problems).toHaveLength(1);
    expect(problems[0]![0]).toMatch(
      /^node node-a: annotation nodebgp.io\/peers: \[0\]\.asn: expected an AS number/,
    );
  });

  it('keeps peers and advertisements while the API server is away', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['10.0.0.1'] }));
    server.addNode(makeNode('node-b', { podCIDRs: ['10.244.2.0/24'], internalIPs: ['10.0.0.2'] }));
    const { c, peers, ads } = start();
    await until(() => peers.length === 1 && server.openWatches === 1, { what: 'first peers', timeout: 5000 });
    await server.close();
    await new Promise((r) => setTimeout(r, 250));
    expect(c.connected).toBe(false);
    expect(peers).toHaveLength(1);
    expect(ads).toHaveLength(1);
    expect(c.nodes.map((n) => n.name)).toEqual(['node-a', 'node-b']);
  });

  it('advertises the static podCIDRs when podCIDRFromNode is false', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['10.0.0.1'] }));
    const own = key4('10.99.0.0/24');
    const { ads } = start({ podCIDRFromNode: false }, [own]);
    await until(() => ads.length === 1, { what: 'advertisements', timeout: 5000 });
    expect(ads[0]).toEqual([{ prefix: own, nextHop: '10.0.0.1' }]);
  });
});
