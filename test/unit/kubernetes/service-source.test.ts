/**
 * The service source with the real @kubernetes/client-node against the fake API server on 127.0.0.1:
 * Services and EndpointSlices listed and watched in the API's JSON, 410s, disconnects, bookmarks, the API
 * server going away.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatPrefix } from '../../../ip/prefix.js';
import { servicesSchema } from '../../../daemon/kubernetes/schema.js';
import { ServiceSource, type ServiceSourceEvents } from '../../../daemon/kubernetes/service-source.js';
import type { ServicePlan } from '../../../daemon/kubernetes/services.js';
import {
  FakeApiServer,
  kubeConfigOptions,
  makeEndpointSlice,
  makeService,
} from '../../support/fake-apiserver.js';
import { until } from '../../../toolkit/index.js';

let server: FakeApiServer;
let source: ServiceSource | undefined;

type Seen = { [K in keyof ServiceSourceEvents]: ServiceSourceEvents[K][0][] };

function startSource(
  nodeName = 'node-1',
  config: Record<string, unknown> = {},
): { source: ServiceSource; seen: Seen } {
  const kc = new KubeConfig();
  kc.loadFromOptions(kubeConfigOptions(server));
  const s = new ServiceSource({
    kubeConfig: kc,
    nodeName,
    config: servicesSchema.parse(config),
    resyncBackoff: { initialMs: 20, maxMs: 100 },
    minHealthyWatchMs: 200,
  });
  const seen: Seen = { plan: [], connected: [], disconnected: [], log: [] };
  s.on('plan', (v) => seen.plan.push(v));
  s.on('connected', (v) => seen.connected.push(v));
  s.on('disconnected', (v) => seen.disconnected.push(v));
  s.on('log', (v) => seen.log.push(v));
  s.start();
  source = s;
  return { source: s, seen };
}

const routes = (p: ServicePlan | undefined) => (p?.routes ?? []).map((r) => formatPrefix(r.prefix));
const last = <T>(xs: T[]): T | undefined => xs[xs.length - 1];
const lists = (path: string) => server.requests.filter((r) => r.path === path && r.query.watch === undefined);
const SERVICES = '/api/v1/services';
const SLICES = '/apis/discovery.k8s.io/v1/endpointslices';

/** A Local LoadBalancer Service with endpoints on the given nodes. */
function localWeb(nodes: string[]): void {
  server.putService(
    makeService('web', { loadBalancerIPs: ['192.0.2.10', '2001:db8::10'], externalTrafficPolicy: 'Local' }),
  );
  server.putEndpointSlice(
    makeEndpointSlice(
      'web',
      nodes.map((node, i) => ({ node, address: `10.244.${i + 1}.5` })),
    ),
  );
}

const bothWatching = () => server.watchesOf('services') === 1 && server.watchesOf('endpointslices') === 1;

beforeEach(async () => {
  server = new FakeApiServer();
  await server.listen();
});

afterEach(async () => {
  await source?.stop();
  source = undefined;
  await server.close();
});

describe('ServiceSource', () => {
  it('lists and watches both kinds; a Local Service follows its ready endpoints onto and off this node', async () => {
    localWeb(['node-1', 'node-2']);
    const { seen } = startSource('node-1');
    await until(() => seen.plan.length === 1, { what: 'first plan', timeout: 5000 });
    expect(routes(seen.plan[0])).toEqual(['192.0.2.10/32', '2001:db8::10/128']);
    expect(seen.plan[0]!.routes[0]!.services).toEqual(['default/web']);
    await until(bothWatching, { what: 'watches open', timeout: 5000 });
    // The endpoint moves from node-1 to node-3.
    server.putEndpointSlice(
      makeEndpointSlice('web', [
        { node: 'node-3', address: '10.244.3.5' },
        { node: 'node-2', address: '10.244.2.5' },
      ]),
    );
    await until(() => seen.plan.length === 2, { what: 'withdrawn', timeout: 5000 });
    expect(routes(seen.plan[1])).toEqual([]);
    expect(seen.plan[1]!.entries[0]!.detail).toBe(
      'externalTrafficPolicy Local: no ready endpoint on node-1 (ready on node-2, node-3)',
    );
    // Back, but not ready: still withdrawn; then ready.
    server.putEndpointSlice(
      makeEndpointSlice('web', [{ node: 'node-1', address: '10.244.1.5', ready: false }]),
    );
    await until(() => seen.plan.length === 3, { what: 'not-ready', timeout: 5000 });
    expect(routes(seen.plan[2])).toEqual([]);
    server.putEndpointSlice(makeEndpointSlice('web', [{ node: 'node-1', address: '10.244.1.5' }]));
    await until(() => seen.plan.length === 4, { what: 'ready', timeout: 5000 });
    expect(routes(seen.plan[3])).toEqual(['192.0.2.10/32', '2001:db8::10/128']);
    server.deleteService('default/web');
    await until(() => seen.plan.length === 5, { what: 'deleted', timeout: 5000 });
    expect(seen.plan[4]!.entries).toEqual([]);
    expect(seen.plan[4]!.known.hosts.size).toBe(0);
  });

  it('says nothing until both kinds are listed: a Local Service is not announced late and withdrawn first', async () => {
    localWeb(['node-1']);
    server.failNext('list', 500, 2, 'endpointslices');
    const { seen } = startSource('node-1');
    await until(() => lists(SLICES).length === 3, { what: 'slices listed', timeout: 5000 });
    await until(() => seen.plan.length === 1, { what: 'plan', timeout: 5000 });
    expect(routes(seen.plan[0])).toEqual(['192.0.2.10/32', '2001:db8::10/128']);
    expect(seen.disconnected.map((d) => d.what)).toEqual(['endpointslices']);
  });

  it('relists on a 410 Expired ERROR event without losing or repeating anything', async () => {
    localWeb(['node-1']);
    const { source: s, seen } = startSource('node-1');
    await until(() => seen.plan.length === 1 && bothWatching(), { what: 'watching', timeout: 5000 });
    const before = lists(SLICES).length;
    server.compact();
    server.errorWatches(410, 'Expired', undefined, 'endpointslices');
    await until(() => lists(SLICES).length > before, { what: 'relist', timeout: 5000 });
    await until(bothWatching, { what: 'rewatch', timeout: 5000 });
    expect(lists(SERVICES)).toHaveLength(1); // only the expired kind relists
    expect(seen.plan).toHaveLength(1);
    expect(seen.disconnected).toEqual([]);
    expect(routes(s.plan)).toEqual(['192.0.2.10/32', '2001:db8::10/128']);
    server.deleteEndpointSlice('default/web-x1');
    await until(() => seen.plan.length === 2, { what: 'event after relist', timeout: 5000 });
    expect(routes(last(seen.plan))).toEqual([]);
  });

  it('a change missed while the watch was expired is seen in the relist', async () => {
    localWeb(['node-1']);
    const { seen } = startSource('node-1');
    await until(() => seen.plan.length === 1 && bothWatching(), { what: 'watching', timeout: 5000 });
    server.dropWatches();
    server.deleteService('default/web');
    server.compact(); // the DELETED event is gone: only a relist can tell
    await until(() => seen.plan.length === 2, { what: 'relisted', timeout: 5000 });
    expect(routes(seen.plan[1])).toEqual([]);
    expect(seen.log.some((l) => l.event === 'k8s-watch-expired' && l.what === 'services')).toBe(true);
  });

  it('keeps advertising what it knows while the API server is away, and resumes from the last resourceVersion', async () => {
    localWeb(['node-1']);
    const { seen } = startSource('node-1');
    await until(() => seen.plan.length === 1 && bothWatching(), { what: 'watching', timeout: 5000 });
    await server.close();
    await until(() => seen.disconnected.length === 2, { what: 'disconnected', timeout: 5000 });
    await new Promise((r) => setTimeout(r, 300)); // several failed retries
    expect(seen.plan).toHaveLength(1);
    expect(routes(source!.plan)).toEqual(['192.0.2.10/32', '2001:db8::10/128']);
    server.putService(makeService('api', { loadBalancerIPs: ['192.0.2.20'] }));
    const before = server.requests.length;
    await server.listen();
    await until(() => seen.plan.length === 2, { what: 'api seen', timeout: 5000 });
    expect(routes(seen.plan[1])).toEqual(['192.0.2.10/32', '192.0.2.20/32', '2001:db8::10/128']);
    const after = server.requests.slice(before);
    expect(after.filter((r) => r.query.watch === undefined)).toHaveLength(0); // no relist needed
    expect(after.every((r) => r.query.resourceVersion !== undefined)).toBe(true);
  });

  it('advances on BOOKMARKs and watches from them next time; a dropped stream rewatches quietly', async () => {
    localWeb(['node-1']);
    const { seen } = startSource('node-1');
    await until(() => seen.plan.length === 1 && bothWatching(), { what: 'watching', timeout: 5000 });
    const rv = server.bookmark('endpointslices');
    await new Promise((r) => setTimeout(r, 50));
    server.dropWatches('endpointslices');
    await until(
      () =>
        server.requests.some(
          (r) => r.path === SLICES && r.query.watch === 'true' && r.query.resourceVersion === rv,
        ),
      { what: 'rewatch from the bookmark', timeout: 5000 },
    );
    await until(bothWatching, { what: 'rewatch', timeout: 5000 });
    expect(seen.plan).toHaveLength(1);
    expect(lists(SLICES)).toHaveLength(1);
    const watch = server.requests.find((r) => r.path === SERVICES && r.query.watch === 'true')!;
    expect(watch.query.allowWatchBookmarks).toBe('true');
  });

  it('ignores changes it does not read (a Service port, an endpoint address on the same node)', async () => {
    localWeb(['node-1']);
    const { seen } = startSource('node-1');
    await until(() => seen.plan.length === 1 && bothWatching(), { what: 'watching', timeout: 5000 });
    server.modifyService('default/web', (s) => {
      s.spec!.ports = [{ port: 8443 }];
    });
    server.putEndpointSlice(makeEndpointSlice('web', [{ node: 'node-1', address: '10.244.1.99' }]));
    server.putService(makeService('api', { loadBalancerIPs: ['192.0.2.20'] })); // a real change, after them
    await until(() => seen.plan.length >= 2, { what: 'api seen', timeout: 5000 });
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.plan).toHaveLength(2);
    expect(routes(seen.plan[1])).toEqual(['192.0.2.10/32', '192.0.2.20/32', '2001:db8::10/128']);
  });

  it('logs a bad annotation once, naming the Service, and keeps watching', async () => {
    server.putService(
      makeService('web', {
        loadBalancerIPs: ['192.0.2.10'],
        annotations: { 'nodebgp.io/local-preference': 'x' },
      }),
    );
    const { seen } = startSource('node-1');
    await until(() => seen.plan.length === 1, { what: 'plan', timeout: 5000 });
    expect(routes(seen.plan[0])).toEqual([]);
    const warned = seen.log.filter((l) => l.event === 'k8s-service-invalid');
    expect(warned.map((l) => l.problem)).toEqual([
      'service default/web: annotation nodebgp.io/local-preference: "x": expected 0..4294967295; not advertised',
    ]);
    await until(bothWatching, { what: 'watching', timeout: 5000 });
    server.modifyService('default/web', (s) => {
      s.metadata!.annotations = { 'nodebgp.io/local-preference': '200' };
    });
    await until(() => seen.plan.length === 2, { what: 'fixed', timeout: 5000 });
    expect(seen.plan[1]!.routes).toMatchObject([{ localPref: 200 }]);
    expect(seen.log.filter((l) => l.event === 'k8s-service-invalid')).toHaveLength(1);
  });
});
