/**
 * The Service plan (daemon/kubernetes/services.ts): Services + EndpointSlices + our node + config in, the
 * addresses this node advertises and why out. No IO.
 */
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { formatPrefix } from '../../../ip/prefix.js';
import { servicesSchema, type ServicesConfig } from '../../../daemon/kubernetes/schema.js';
import {
  hostPrefix,
  isServiceAddress,
  planServices,
  selectorMatches,
  serviceView,
  sliceView,
  type ServicePlan,
} from '../../../daemon/kubernetes/services.js';
import { key } from '../../support/prefix.js';

const config = (c: Record<string, unknown> = {}): ServicesConfig => servicesSchema.parse(c);

function service(
  name: string,
  opts: {
    type?: string;
    lb?: string[];
    external?: string[];
    clusterIPs?: string[];
    etp?: 'Local' | 'Cluster';
    itp?: 'Local' | 'Cluster';
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  } = {},
): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: 'default', name, labels: opts.labels, annotations: opts.annotations },
    spec: {
      type: opts.type ?? 'LoadBalancer',
      clusterIP: opts.clusterIPs?.[0] ?? '10.96.0.10',
      clusterIPs: opts.clusterIPs ?? ['10.96.0.10'],
      externalIPs: opts.external,
      externalTrafficPolicy: opts.etp,
      internalTrafficPolicy: opts.itp,
      ports: [{ port: 80 }],
    },
    status: { loadBalancer: { ingress: (opts.lb ?? []).map((ip) => ({ ip })) } },
  };
}

function slice(
  svc: string,
  endpoints: { node: string; ready?: boolean | null }[],
  name = `${svc}-abc`,
): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    addressType: 'IPv4',
    metadata: { namespace: 'default', name, labels: { 'kubernetes.io/service-name': svc } },
    endpoints: endpoints.map((e, i) => ({
      addresses: [`10.244.0.${i + 1}`],
      nodeName: e.node,
      ...(e.ready === null ? {} : { conditions: { ready: e.ready ?? true } }),
    })),
  };
}

function plan(
  services: V1Service[],
  slices: V1EndpointSlice[],
  node: string,
  c: ServicesConfig = config(),
): ServicePlan {
  return planServices(services.map(serviceView), slices.map(sliceView), node, c);
}

const advertised = (p: ServicePlan) => p.routes.map((r) => formatPrefix(r.prefix));
const why = (p: ServicePlan) =>
  p.entries.map(
    (e) => `${e.service} ${e.kind} ${formatPrefix(e.prefix)} ${e.advertised ? '+' : '-'} ${e.why}`,
  );

describe('planServices', () => {
  it('Cluster policy: every node advertises LoadBalancer and external IPs, /32 and /128', () => {
    const svc = service('web', { lb: ['192.0.2.10', '2001:DB8::10'], external: ['198.51.100.7'] });
    for (const node of ['node-1', 'node-2']) {
      const p = plan([svc], [], node);
      expect(advertised(p)).toEqual(['192.0.2.10/32', '198.51.100.7/32', '2001:db8::10/128']);
      expect(p.routes[0]!.services).toEqual(['default/web']);
      expect(why(p)).toEqual([
        'default/web loadBalancer 192.0.2.10/32 + policy-cluster',
        'default/web loadBalancer 2001:db8::10/128 + policy-cluster',
        'default/web external 198.51.100.7/32 + policy-cluster',
      ]);
    }
  });

  it('Local policy: only a node with a ready endpoint advertises, and says why the others do not', () => {
    const svc = service('web', { lb: ['192.0.2.10', '2001:db8::10'], etp: 'Local' });
    const slices = [slice('web', [{ node: 'node-1' }, { node: 'node-2' }, { node: 'node-3', ready: false }])];
    expect(advertised(plan([svc], slices, 'node-1'))).toEqual(['192.0.2.10/32', '2001:db8::10/128']);
    expect(advertised(plan([svc], slices, 'node-2'))).toEqual(['192.0.2.10/32', '2001:db8::10/128']);
    const p3 = plan([svc], slices, 'node-3');
    expect(advertised(p3)).toEqual([]);
    expect(p3.entries[0]).toMatchObject({
      advertised: false,
      why: 'no-local-endpoint',
      detail: 'externalTrafficPolicy Local: no ready endpoint on node-3 (ready on node-1, node-2)',
    });
  });

  it('Local policy: an endpoint with no ready condition counts as ready (the API: unknown is ready)', () => {
    const svc = service('web', { lb: ['192.0.2.10'], etp: 'Local' });
    expect(advertised(plan([svc], [slice('web', [{ node: 'node-1', ready: null }])], 'node-1'))).toEqual([
      '192.0.2.10/32',
    ]);
  });

  it('Local policy: the last ready endpoint going withdraws; endpoints in any of the Service’s slices count', () => {
    const svc = service('web', { lb: ['192.0.2.10'], etp: 'Local' });
    const two = [slice('web', [{ node: 'node-2' }], 'web-a'), slice('web', [{ node: 'node-1' }], 'web-b')];
    expect(advertised(plan([svc], two, 'node-1'))).toEqual(['192.0.2.10/32']);
    const gone = [
      slice('web', [{ node: 'node-2' }], 'web-a'),
      slice('web', [{ node: 'node-1', ready: false }], 'web-b'),
    ];
    expect(advertised(plan([svc], gone, 'node-1'))).toEqual([]);
    expect(plan([svc], [], 'node-1').entries[0]!.detail).toBe(
      'externalTrafficPolicy Local: no ready endpoint on node-1 (none ready anywhere)',
    );
  });

  it('a slice of another namespace or Service does not make an endpoint local', () => {
    const svc = service('web', { lb: ['192.0.2.10'], etp: 'Local' });
    const other = slice('web', [{ node: 'node-1' }]);
    other.metadata!.namespace = 'prod';
    expect(advertised(plan([svc], [other, slice('api', [{ node: 'node-1' }])], 'node-1'))).toEqual([]);
  });

  it('cluster IPs only when switched on, honouring internalTrafficPolicy; headless and ExternalName never', () => {
    const local = service('db', {
      type: 'ClusterIP',
      clusterIPs: ['10.96.0.20', 'fd00:96::20'],
      itp: 'Local',
    });
    const everywhere = service('dns', { type: 'ClusterIP', clusterIPs: ['10.96.0.10'] });
    const headless = service('h', { type: 'ClusterIP', clusterIPs: ['None'] });
    const ext = service('x', { type: 'ExternalName', clusterIPs: [] });
    const slices = [slice('db', [{ node: 'node-2' }])];
    expect(advertised(plan([local, everywhere, headless, ext], slices, 'node-1'))).toEqual([]);
    const c = config({ clusterIPs: true });
    expect(advertised(plan([local, everywhere, headless, ext], slices, 'node-1', c))).toEqual([
      '10.96.0.10/32',
    ]);
    expect(advertised(plan([local, everywhere, headless, ext], slices, 'node-2', c))).toEqual([
      '10.96.0.10/32',
      '10.96.0.20/32',
      'fd00:96::20/128',
    ]);
    const p = plan([local], [], 'node-1', c);
    expect(p.entries[0]!.detail).toBe(
      'internalTrafficPolicy Local: no ready endpoint on node-1 (none ready anywhere)',
    );
  });

  it('LoadBalancer ingress IPs only of type LoadBalancer; kinds switched off are neither advertised nor listed', () => {
    const np = service('np', { type: 'NodePort', lb: ['192.0.2.99'], external: ['198.51.100.1'] });
    expect(advertised(plan([np], [], 'node-1'))).toEqual(['198.51.100.1/32']);
    const lb = service('lb', { lb: ['192.0.2.10'], external: ['198.51.100.7'] });
    const p = plan([lb], [], 'node-1', config({ externalIPs: false }));
    expect(why(p)).toEqual(['default/lb loadBalancer 192.0.2.10/32 + policy-cluster']);
  });

  it('cluster IP ranges: one aggregate per range from every node', () => {
    const p = plan([], [], 'node-1', config({ clusterIPRanges: ['10.96.0.0/12', 'fd00:96::/108'] }));
    expect(advertised(p)).toEqual(['10.96.0.0/12', 'fd00:96::/108']);
    expect(p.entries.map((e) => e.why)).toEqual(['range', 'range']);
  });

  it('the label selector picks the Services; the others are listed as not selected', () => {
    const c = config({ selector: { matchLabels: { bgp: 'on' } } });
    const yes = service('yes', { lb: ['192.0.2.1'], labels: { bgp: 'on' } });
    const no = service('no', { lb: ['192.0.2.2'], labels: { bgp: 'off' } });
    const p = plan([yes, no], [], 'node-1', c);
    expect(advertised(p)).toEqual(['192.0.2.1/32']);
    expect(why(p)).toContain('default/no loadBalancer 192.0.2.2/32 - not-selected');
  });

  it('selectorMatches: matchLabels and every operator', () => {
    const labels = { app: 'web', tier: 'front' };
    expect(selectorMatches(labels, {})).toBe(true);
    expect(selectorMatches(labels, { matchLabels: { app: 'web' } })).toBe(true);
    expect(selectorMatches(labels, { matchLabels: { app: 'db' } })).toBe(false);
    const ex = (operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist', k: string, values?: string[]) =>
      selectorMatches(labels, { matchExpressions: [{ key: k, operator, ...(values ? { values } : {}) }] });
    expect(ex('In', 'tier', ['front', 'back'])).toBe(true);
    expect(ex('In', 'tier', ['back'])).toBe(false);
    expect(ex('In', 'zone', ['a'])).toBe(false);
    expect(ex('NotIn', 'tier', ['back'])).toBe(true);
    expect(ex('NotIn', 'tier', ['front'])).toBe(false);
    expect(ex('NotIn', 'zone', ['a'])).toBe(true);
    expect(ex('Exists', 'app')).toBe(true);
    expect(ex('Exists', 'zone')).toBe(false);
    expect(ex('DoesNotExist', 'zone')).toBe(true);
    expect(ex('DoesNotExist', 'app')).toBe(false);
  });

  it('communities and local preference: config defaults, annotations add and override', () => {
    const c = config({ communities: ['65000:1'], localPreference: 150 });
    const plain = service('plain', { lb: ['192.0.2.1'] });
    const tuned = service('tuned', {
      lb: ['192.0.2.2'],
      annotations: { 'nodebgp.io/communities': '65000:100, 65000:200', 'nodebgp.io/local-preference': '300' },
    });
    const p = plan([plain, tuned], [], 'node-1', c);
    expect(p.routes).toEqual([
      {
        prefix: key('192.0.2.1/32'),
        services: ['default/plain'],
        communities: [65000 * 65536 + 1],
        localPref: 150,
      },
      {
        prefix: key('192.0.2.2/32'),
        services: ['default/tuned'],
        communities: [65000 * 65536 + 1, 65000 * 65536 + 100, 65000 * 65536 + 200],
        localPref: 300,
      },
    ]);
  });

  it('a bad annotation: the Service is not advertised, and the problem names the Service, annotation and value', () => {
    const bad = service('bad', {
      lb: ['192.0.2.3'],
      annotations: { 'nodebgp.io/communities': '65000:70000' },
    });
    const badPref = service('pref', {
      lb: ['192.0.2.4'],
      annotations: { 'nodebgp.io/local-preference': 'high' },
    });
    const p = plan([bad, badPref], [], 'node-1');
    expect(advertised(p)).toEqual([]);
    expect(p.entries.map((e) => e.why)).toEqual(['bad-annotation', 'bad-annotation']);
    expect(p.problems).toEqual([
      'service default/bad: annotation nodebgp.io/communities: "65000:70000": each half must be 0..65535; not advertised',
      'service default/pref: annotation nodebgp.io/local-preference: "high": expected 0..4294967295; not advertised',
    ]);
  });

  it('two Services sharing an address: one route, both named, communities merged', () => {
    const a = service('a', { lb: ['192.0.2.5'], annotations: { 'nodebgp.io/communities': '65000:1' } });
    const b = service('b', { lb: ['192.0.2.5'], annotations: { 'nodebgp.io/communities': '65000:2' } });
    const p = plan([a, b], [], 'node-1');
    expect(p.routes).toHaveLength(1);
    expect(p.routes[0]!.services).toEqual(['default/a', 'default/b']);
    expect(p.routes[0]!.communities).toEqual([65000 * 65536 + 1, 65000 * 65536 + 2]);
  });

  it('known: every Service address of the cluster, selected or not, advertised or not, and the ranges', () => {
    const c = config({ clusterIPRanges: ['10.96.0.0/12'], selector: { matchLabels: { bgp: 'on' } } });
    const svc = service('web', { lb: ['192.0.2.10'], external: ['2001:db8::7'], etp: 'Local' });
    const p = plan([svc], [], 'node-1', c);
    expect(advertised(p)).toEqual(['10.96.0.0/12']);
    expect(isServiceAddress(p.known, key('192.0.2.10/32'))).toBe(true);
    expect(isServiceAddress(p.known, key('2001:db8::7/128'))).toBe(true);
    expect(isServiceAddress(p.known, key('10.96.5.5/32'))).toBe(true);
    expect(isServiceAddress(p.known, key('10.200.0.0/16'))).toBe(false);
    expect(isServiceAddress(p.known, key('192.0.2.11/32'))).toBe(false);
  });

  it('an address that is no IP address is reported, and the rest of the Service still counts', () => {
    const svc = service('web', { lb: ['not-an-ip', '192.0.2.10'] });
    const p = plan([svc], [], 'node-1');
    expect(advertised(p)).toEqual(['192.0.2.10/32']);
    expect(p.problems).toEqual(['service default/web: "not-an-ip" is not an IP address']);
  });

  it('hostPrefix: /32 and /128, an IPv4-mapped address as its IPv4 address, text that is no address refused', () => {
    expect(hostPrefix('192.0.2.1')).toBe(key('192.0.2.1/32'));
    expect(hostPrefix('2001:DB8::1')).toBe(key('2001:db8::1/128'));
    expect(hostPrefix('::ffff:192.0.2.1')).toBe(key('192.0.2.1/32'));
    for (const bad of ['', 'None', '192.0.2', '192.0.2.256', 'fe80::1%eth0', '2001:db8::/64'])
      expect(hostPrefix(bad)).toBeUndefined();
  });

  it('is deterministic: the same input in another order gives the same plan', () => {
    const s = [service('b', { lb: ['192.0.2.2'] }), service('a', { lb: ['192.0.2.1', '2001:db8::1'] })];
    const one = plan(s, [], 'node-1');
    const two = plan([...s].reverse(), [], 'node-1');
    expect(two).toEqual(one);
  });
});
