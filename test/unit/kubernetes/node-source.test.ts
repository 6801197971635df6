/**
 * The node source with the real @kubernetes/client-node against the fake API server on 127.0.0.1.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatPrefix } from '../../../ip/prefix.js';
import { NodeSource, type NodeSourceEvents } from '../../../daemon/kubernetes/node-source.js';
import type { NodeView } from '../../../daemon/kubernetes/node-view.js';
import { FakeApiServer, kubeConfigOptions, makeNode } from '../../support/fake-apiserver.js';
import { until } from '../../../toolkit/index.js';

let server: FakeApiServer;
let source: NodeSource | undefined;

type Seen = { [K in keyof NodeSourceEvents]: NodeSourceEvents[K][0][] };

function startSource(nodeName = 'node-a', listPageSize?: number): { source: NodeSource; seen: Seen } {
  const kc = new KubeConfig();
  kc.loadFromOptions(kubeConfigOptions(server));
  const s = new NodeSource({
    nodeName,
    kubeConfig: kc,
    resyncBackoff: { initialMs: 20, maxMs: 100 },
    minHealthyWatchMs: 200,
    listPageSize,
  });
  const seen: Seen = { self: [], nodes: [], waiting: [], connected: [], disconnected: [], log: [] };
  s.on('self', (v) => seen.self.push(v));
  s.on('nodes', (v) => seen.nodes.push(v));
  s.on('waiting', (v) => seen.waiting.push(v));
  s.on('connected', (v) => seen.connected.push(v));
  s.on('disconnected', (v) => seen.disconnected.push(v));
  s.on('log', (v) => seen.log.push(v));
  s.start();
  source = s;
  return { source: s, seen };
}

const names = (list: NodeView[] | undefined) => (list ?? []).map((n) => n.name);
const last = <T>(xs: T[]): T | undefined => xs[xs.length - 1];

beforeEach(async () => {
  server = new FakeApiServer();
  await server.listen();
});

afterEach(async () => {
  await source?.stop();
  source = undefined;
  await server.close();
});

describe('NodeSource', () => {
  it('reads our own dual-stack podCIDRs and InternalIPs', async () => {
    server.addNode(
      makeNode('node-a', {
        podCIDRs: ['10.244.1.0/24', 'fd00:244:1::/64'],
        internalIPs: ['192.0.2.1', '2001:db8::1'],
      }),
    );
    server.addNode(makeNode('node-b', { podCIDRs: ['10.244.2.0/24'], internalIPs: ['192.0.2.2'] }));
    const { seen } = startSource();
    await until(() => seen.self.length > 0, { what: 'self', timeout: 5000 });
    const self = seen.self[0]!;
    expect(self.podCIDRs.map(formatPrefix)).toEqual(['10.244.1.0/24', 'fd00:244:1::/64']);
    expect(self.internalIPs).toEqual(['192.0.2.1', '2001:db8::1']);
    expect(self.labels['kubernetes.io/hostname']).toBe('node-a');
    expect(names(seen.nodes[0])).toEqual(['node-a', 'node-b']);
    expect(seen.connected).toHaveLength(1);
    expect(seen.waiting).toEqual([]);
  });

  it('falls back to spec.podCIDR when podCIDRs is absent', async () => {
    const node = makeNode('node-a', { internalIPs: ['192.0.2.1'] });
    node.spec = { podCIDR: '10.244.7.0/24' };
    server.addNode(node);
    const { seen } = startSource();
    await until(() => seen.self.length > 0, { what: 'self', timeout: 5000 });
    expect(seen.self[0]!.podCIDRs.map(formatPrefix)).toEqual(['10.244.7.0/24']);
  });

  it('reports waiting until a podCIDR is assigned, then emits self with it', async () => {
    server.addNode(makeNode('node-a', { internalIPs: ['192.0.2.1'] }));
    const { seen } = startSource();
    await until(() => seen.waiting.length > 0, { what: 'waiting', timeout: 5000 });
    expect(seen.waiting[0]!.reason).toBe('node node-a has no spec.podCIDRs yet');
    server.modifyNode('node-a', (n) => {
      n.spec = { podCIDR: '10.244.3.0/24', podCIDRs: ['10.244.3.0/24'] };
    });
    await until(() => last(seen.self)?.podCIDRs.length === 1, { what: 'self with a podCIDR', timeout: 5000 });
    expect(last(seen.self)!.podCIDRs.map(formatPrefix)).toEqual(['10.244.3.0/24']);
    expect(seen.waiting).toHaveLength(1);
  });

  it('reports a missing own node as waiting', async () => {
    server.addNode(makeNode('node-b', { podCIDRs: ['10.244.2.0/24'], internalIPs: ['192.0.2.2'] }));
    const { seen } = startSource();
    await until(() => seen.waiting.length > 0, { what: 'waiting', timeout: 5000 });
    expect(seen.waiting[0]!.reason).toBe('node node-a not found');
    expect(seen.self).toEqual([]);
  });

  it('emits nodes when a node joins and leaves, and stays quiet on changes it does not use', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['192.0.2.1'] }));
    const { seen } = startSource();
    await until(() => seen.nodes.length === 1, { what: 'first nodes', timeout: 5000 });
    await until(() => server.openWatches === 1, { what: 'watch open', timeout: 5000 });
    server.addNode(makeNode('node-c', { podCIDRs: ['10.244.3.0/24'], internalIPs: ['192.0.2.3'] }));
    await until(() => seen.nodes.length === 2, { what: 'join', timeout: 5000 });
    expect(names(seen.nodes[1])).toEqual(['node-a', 'node-c']);
    server.modifyNode('node-c', (n) => {
      n.status!.conditions = [{ type: 'Ready', status: 'False' }];
    });
    server.deleteNode('node-c');
    await until(() => seen.nodes.length === 3, { what: 'leave', timeout: 5000 });
    expect(names(seen.nodes[2])).toEqual(['node-a']);
    expect(seen.self).toHaveLength(1);
  });

  it('relists on a 410 Expired watch ERROR without losing state', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['192.0.2.1'] }));
    server.addNode(makeNode('node-b', { podCIDRs: ['10.244.2.0/24'], internalIPs: ['192.0.2.2'] }));
    const { source: s, seen } = startSource();
    await until(() => server.openWatches === 1 && seen.nodes.length === 1, {
      what: 'watch open',
      timeout: 5000,
    });
    server.compact();
    server.errorWatches(410, 'Expired');
    const listsBefore = server.requests.filter((r) => r.query.watch === undefined).length;
    await until(() => server.requests.filter((r) => r.query.watch === undefined).length > listsBefore, {
      what: 'relist',
      timeout: 5000,
    });
    await until(() => server.openWatches === 1, { what: 'rewatch', timeout: 5000 });
    expect(names(s.nodes)).toEqual(['node-a', 'node-b']);
    expect(seen.nodes).toHaveLength(1); // the relist found the same nodes: nothing to say
    expect(seen.disconnected).toEqual([]);
    server.addNode(makeNode('node-c', { podCIDRs: ['10.244.3.0/24'], internalIPs: ['192.0.2.3'] }));
    await until(() => seen.nodes.length === 2, { what: 'event after relist', timeout: 5000 });
  });

  it('relists after a plain HTTP 410 to the watch request', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['192.0.2.1'] }));
    server.failNext('watch', 410);
    const { seen } = startSource();
    await until(() => server.openWatches === 1, { what: 'watch open', timeout: 5000 });
    const lists = server.requests.filter((r) => r.query.watch === undefined);
    expect(lists.length).toBe(2);
    expect(seen.self).toHaveLength(1);
  });

  it('backs off on 500/503 and then recovers', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['192.0.2.1'] }));
    server.failNext('list', 503, 2);
    server.failNext('watch', 500);
    const { seen } = startSource();
    await until(() => server.openWatches === 1, { what: 'watch open', timeout: 5000 });
    expect(seen.disconnected.length).toBeGreaterThanOrEqual(1);
    expect(seen.disconnected[0]!.reason).toContain('503');
    expect(seen.self).toHaveLength(1);
  });

  it('keeps the last state while the API server is down, and resumes from the last resourceVersion', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['192.0.2.1'] }));
    server.addNode(makeNode('node-b', { podCIDRs: ['10.244.2.0/24'], internalIPs: ['192.0.2.2'] }));
    const { source: s, seen } = startSource();
    await until(() => server.openWatches === 1 && seen.nodes.length === 1, {
      what: 'watch open',
      timeout: 5000,
    });
    const rv = s.lastResourceVersion;
    await server.close();
    await until(() => seen.disconnected.length === 1, { what: 'disconnected', timeout: 5000 });
    await new Promise((r) => setTimeout(r, 300)); // several failed retries
    expect(seen.nodes).toHaveLength(1);
    expect(seen.self).toHaveLength(1);
    expect(names(s.nodes)).toEqual(['node-a', 'node-b']);
    server.addNode(makeNode('node-c', { podCIDRs: ['10.244.3.0/24'], internalIPs: ['192.0.2.3'] }));
    const before = server.requests.length;
    await server.listen(); // the same port
    await until(() => seen.connected.length === 2, { what: 'reconnected', timeout: 5000 });
    await until(() => seen.nodes.length === 2, { what: 'node-c seen', timeout: 5000 });
    expect(names(last(seen.nodes))).toEqual(['node-a', 'node-b', 'node-c']);
    const after = server.requests.slice(before);
    expect(after[0]!.query).toMatchObject({ watch: 'true', resourceVersion: rv });
    expect(after.filter((r) => r.query.watch === undefined)).toHaveLength(0); // no relist needed
  });

  it('rewatches after an abrupt disconnect without emitting anything', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['192.0.2.1'] }));
    const { seen } = startSource();
    await until(() => server.openWatches === 1, { what: 'watch open', timeout: 5000 });
    server.dropWatches();
    await until(() => server.openWatches === 1, { what: 'rewatch', timeout: 5000 });
    expect(seen.nodes).toHaveLength(1);
    expect(seen.self).toHaveLength(1);
  });

  it('advances the resourceVersion on BOOKMARK and watches from it next time', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['192.0.2.1'] }));
    const { source: s } = startSource();
    await until(() => server.openWatches === 1, { what: 'watch open', timeout: 5000 });
    const rv = server.bookmark();
    await until(() => s.lastResourceVersion === rv, { what: 'bookmark applied', timeout: 5000 });
    server.dropWatches();
    await until(
      () => server.requests.some((r) => r.query.watch === 'true' && r.query.resourceVersion === rv),
      { what: 'rewatch from the bookmark', timeout: 5000 },
    );
    expect(server.requests.find((r) => r.query.watch === 'true')!.query.allowWatchBookmarks).toBe('true');
  });

  it('backs off and rewatches (no relist) after a non-410 ERROR event', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['192.0.2.1'] }));
    const { source: s, seen } = startSource();
    await until(() => server.openWatches === 1, { what: 'watch open', timeout: 5000 });
    const rv = s.lastResourceVersion;
    const before = server.requests.length;
    server.errorWatches(500, 'InternalError', 'etcd is unhappy');
    await until(() => seen.disconnected.length === 1, { what: 'disconnected', timeout: 5000 });
    expect(seen.disconnected[0]!.reason).toBe('watch nodes: 500 InternalError: etcd is unhappy');
    await until(() => server.openWatches === 1, { what: 'rewatch', timeout: 5000 });
    const after = server.requests.slice(before);
    expect(after.every((r) => r.query.watch === 'true' && r.query.resourceVersion === rv)).toBe(true);
    expect(after[0]!.query.timeoutSeconds).toMatch(/^\d+$/);
    await until(() => seen.connected.length === 2, { what: 'connected again', timeout: 5000 });
  });

  it('lists in pages and gets one consistent snapshot', async () => {
    for (const [i, n] of ['a', 'b', 'c', 'd', 'e'].entries())
      server.addNode(
        makeNode(`node-${n}`, { podCIDRs: [`10.244.${i}.0/24`], internalIPs: [`192.0.2.${i + 1}`] }),
      );
    const { seen } = startSource('node-a', 2);
    await until(() => seen.nodes.length === 1, { what: 'nodes', timeout: 5000 });
    expect(names(seen.nodes[0])).toEqual(['node-a', 'node-b', 'node-c', 'node-d', 'node-e']);
    const lists = server.requests.filter((r) => r.query.watch === undefined);
    expect(lists.map((r) => r.query.continue ?? '')).toEqual(['', 'c1', 'c2']);
    expect(lists.every((r) => r.query.limit === '2')).toBe(true);
  });

  it('backs off when every watch is answered 410, instead of relisting in a tight loop', async () => {
    server.addNode(makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['192.0.2.1'] }));
    server.failNext('watch', 410, 3);
    const started = Date.now();
    startSource();
    await until(() => server.openWatches === 1, { what: 'watch open', timeout: 5000 });
    expect(server.requests.filter((r) => r.query.watch === undefined)).toHaveLength(4);
    // first relist at once, then ~20 ms and ~40 ms (±20 %)
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });
});
