import { describe, expect, it } from 'vitest';
import type { PathAttributes } from '../../../bgp/wire/types.js';
import {
  createClusterPolicy,
  exportDecision,
  importAllowed,
  type PolicyContext,
} from '../../../daemon/kubernetes/policy.js';
import { importPrefixSchema } from '../../../daemon/kubernetes/schema.js';
import { key } from '../../support/prefix.js';

// node-2 (10.0.0.2, fd00::2) owns 10.244.2.0/24 and fd00:244:2::/64; node-3 (10.0.0.3) 10.244.3.0/24 and
// is a reflector; 192.0.2.1 is an eBGP top-of-rack router, 192.0.2.9 an iBGP router outside the cluster.
const peers: Record<string, number> = {
  '10.0.0.2': 64512,
  '10.0.0.3': 64512,
  '10.0.0.4': 64512,
  '192.0.2.1': 65000,
  '192.0.2.9': 64512,
};
const owner = (node: string, prefix: string, addresses: string[]) => ({
  node,
  prefix: key(prefix),
  addresses,
  routerIds: addresses.filter((a) => !a.includes(':')),
});
const ctx: PolicyContext = {
  localAsn: 64512,
  ownPodCIDRs: [key('10.244.1.0/24'), key('fd00:244:1::/64')],
  clusterPodCIDRs: [key('10.244.2.0/24'), key('fd00:244:2::/64'), key('10.244.3.0/24')],
  owners: [
    owner('node-2', '10.244.2.0/24', ['10.0.0.2', 'fd00::2']),
    owner('node-2', 'fd00:244:2::/64', ['10.0.0.2', 'fd00::2']),
    owner('node-3', '10.244.3.0/24', ['10.0.0.3']),
  ],
  routeReflector: false,
  peerAsn: (p) => peers[p],
  reflectorPeers: new Set(['10.0.0.3']),
  nodeAddresses: new Set(['10.0.0.2', 'fd00::2', '10.0.0.3', '10.0.0.4']),
};
const rules = (list: unknown[]) => list.map((r) => importPrefixSchema.parse(r));
const attrs: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [64512] }] };
/** As a reflector passes on node-2's route. */
const reflectedFrom2: PathAttributes = { ...attrs, originatorId: '10.0.0.2', clusterList: ['10.0.0.201'] };

describe('importAllowed', () => {
  const table: {
    name: string;
    peer?: string;
    prefix: string;
    ctx?: Partial<PolicyContext>;
    attributes?: PathAttributes;
    nextHop?: string;
    want: boolean;
  }[] = [
    { name: 'another node podCIDR, from it', prefix: '10.244.2.0/24', want: true },
    {
      name: 'its IPv6 podCIDR, over its IPv6 session',
      peer: 'fd00::2',
      prefix: 'fd00:244:2::/64',
      want: true,
    },
    { name: 'node-2’s podCIDR from node-4 (mesh)', peer: '10.0.0.4', prefix: '10.244.2.0/24', want: false },
    {
      name: 'a more specific of node-2’s, from node-4',
      peer: '10.0.0.4',
      prefix: '10.244.2.0/25',
      want: false,
    },
    {
      name: 'node-2’s podCIDR from node-4 even with importPrefixes',
      peer: '10.0.0.4',
      prefix: '10.244.2.0/24',
      ctx: { importPrefixes: rules([{ prefix: '10.244.0.0/16', le: 24 }]) },
      want: false,
    },
    {
      name: 'through the reflector with node-2’s ORIGINATOR_ID and next hop',
      peer: '10.0.0.3',
      prefix: '10.244.2.0/24',
      attributes: reflectedFrom2,
      nextHop: '10.0.0.2',
      want: true,
    },
    {
      name: 'through the reflector with another next hop',
      peer: '10.0.0.3',
      prefix: '10.244.2.0/24',
      attributes: reflectedFrom2,
      nextHop: '10.0.0.4',
      want: false,
    },
    {
      name: 'through the reflector originated by node-4',
      peer: '10.0.0.3',
      prefix: '10.244.2.0/24',
      attributes: { ...reflectedFrom2, originatorId: '10.0.0.4' },
      nextHop: '10.0.0.2',
      want: false,
    },
    {
      name: 'through the reflector without ORIGINATOR_ID',
      peer: '10.0.0.3',
      prefix: '10.244.2.0/24',
      attributes: attrs,
      nextHop: '10.0.0.2',
      want: false,
    },
    {
      name: 'through an iBGP reflector outside the cluster, checked the same',
      peer: '192.0.2.9',
      prefix: '10.244.2.0/24',
      attributes: reflectedFrom2,
      nextHop: '10.0.0.2',
      want: true,
    },
    {
      name: 'node-2’s podCIDR from the eBGP ToR, no rules of its own',
      peer: '192.0.2.1',
      prefix: '10.244.2.0/24',
      want: false,
    },
    {
      name: 'node-2’s podCIDR from the ToR whose own import covers it',
      peer: '192.0.2.1',
      prefix: '10.244.2.0/24',
      ctx: {
        peerImport: (p) => (p === '192.0.2.1' ? rules([{ prefix: '10.244.0.0/16', le: 24 }]) : undefined),
      },
      want: true,
    },
    { name: 'our own podCIDR', prefix: '10.244.1.0/24', want: false },
    { name: 'inside our own podCIDR', prefix: '10.244.1.128/25', want: false },
    { name: 'a default route', prefix: '0.0.0.0/0', want: false },
    { name: 'an IPv6 default route', prefix: '::/0', want: false },
    { name: 'not a known podCIDR', prefix: '10.244.9.0/24', want: false },
    { name: 'a more specific of a podCIDR, from its node', prefix: '10.244.2.0/25', want: false },
    { name: 'half the Internet, no rules', peer: '192.0.2.1', prefix: '0.0.0.0/1', want: false },
    {
      name: 'half the Internet, outside the ToR’s rules',
      peer: '192.0.2.1',
      prefix: '128.0.0.0/1',
      ctx: { peerImport: () => rules([{ prefix: '10.200.0.0/16', le: 24 }]) },
      want: false,
    },
    {
      name: 'inside importPrefixes with le',
      prefix: '10.245.3.0/24',
      ctx: { importPrefixes: rules([{ prefix: '10.245.0.0/16', le: 24 }]) },
      want: true,
    },
    {
      name: 'longer than le',
      prefix: '10.245.3.0/25',
      ctx: { importPrefixes: rules([{ prefix: '10.245.0.0/16', le: 24 }]) },
      want: false,
    },
    {
      name: 'shorter than ge',
      prefix: '10.245.0.0/17',
      ctx: { importPrefixes: rules([{ prefix: '10.245.0.0/16', ge: 24, le: 28 }]) },
      want: false,
    },
    {
      name: 'exact rule, the prefix itself',
      prefix: '10.96.0.0/12',
      ctx: { importPrefixes: rules([{ prefix: '10.96.0.0/12', exact: true }]) },
      want: true,
    },
    {
      name: 'exact rule, a more specific',
      prefix: '10.96.1.0/24',
      ctx: { importPrefixes: rules([{ prefix: '10.96.0.0/12', exact: true }]) },
      want: false,
    },
    {
      name: 'a range never admits a default route',
      prefix: '0.0.0.0/0',
      ctx: { importPrefixes: rules([{ prefix: '0.0.0.0/0', le: 32 }]) },
      want: false,
    },
    {
      name: 'an exact rule for the default route admits it',
      peer: '192.0.2.1',
      prefix: '0.0.0.0/0',
      ctx: { importPrefixes: rules([{ prefix: '0.0.0.0/0', exact: true }]) },
      want: true,
    },
    {
      name: 'importPrefixes never admit our own podCIDR',
      prefix: '10.244.1.0/24',
      ctx: { importPrefixes: rules([{ prefix: '10.244.0.0/16' }]) },
      want: false,
    },
  ];
  for (const t of table)
    it(`${t.name}: ${t.prefix} → ${t.want}`, () => {
      const c = { ...ctx, ...t.ctx };
      expect(
        importAllowed(
          c,
          t.peer ?? '10.0.0.2',
          key(t.prefix),
          t.attributes ?? attrs,
          t.nextHop ?? t.peer ?? '10.0.0.2',
        ),
      ).toBe(t.want);
    });
});

describe('exportDecision', () => {
  it('exports our podCIDRs to iBGP peers unchanged', () => {
    expect(exportDecision(ctx, '10.0.0.2', key('10.244.1.0/24'), attrs)).toBe(true);
  });

  it('does not re-export other nodes routes unless we reflect, and never to eBGP', () => {
    const other = key('10.244.2.0/24');
    expect(exportDecision(ctx, '10.0.0.4', other, attrs)).toBe(false);
    const rr = { ...ctx, routeReflector: true };
    expect(exportDecision(rr, '10.0.0.4', other, attrs)).toBe(true);
    expect(exportDecision(rr, '192.0.2.1', other, attrs)).toBe(false);
    expect(exportDecision(rr, '10.0.0.4', key('172.16.0.0/16'), attrs)).toBe(false);
  });

  it('adds communities and prepends our AS towards eBGP peers only', () => {
    const deco = { ...ctx, exportCommunities: [65000 * 65536 + 100], exportPrepend: 2 };
    const out = exportDecision(deco, '192.0.2.1', key('10.244.1.0/24'), {
      ...attrs,
      communities: [65000 * 65536 + 1],
    });
    expect(out).toMatchObject({
      asPath: [{ type: 2, asns: [64512, 64512, 64512] }],
      communities: [65000 * 65536 + 1, 65000 * 65536 + 100],
    });
    expect(exportDecision(deco, '10.0.0.2', key('10.244.1.0/24'), attrs)).toBe(true);
  });

  it('returns the same object when there is nothing to add', () => {
    expect(exportDecision(ctx, '192.0.2.1', key('10.244.1.0/24'), attrs)).toBe(attrs);
  });
});

describe('createClusterPolicy', () => {
  it('filters follow update() and explain their verdicts', () => {
    const policy = createClusterPolicy(ctx);
    const p = key('10.244.9.0/24');
    expect(policy.importFilter('10.0.0.4', p, attrs, '10.0.0.4')).toBe(false);
    expect(policy.explainImport('10.0.0.4', p)).toBe(
      '10.244.9.0/24 from 10.0.0.4: refused, not a podCIDR of another node',
    );
    policy.update({ ...ctx, owners: [...ctx.owners!, owner('node-4', '10.244.9.0/24', ['10.0.0.4'])] });
    expect(policy.importFilter('10.0.0.4', p, attrs, '10.0.0.4')).toBe(true);
    expect(policy.explainImport('10.0.0.2', p)).toBe(
      "10.244.9.0/24 from 10.0.0.2: refused, node node-4's podCIDR from another peer",
    );
    expect(policy.explainImport('10.0.0.2', key('0.0.0.0/0'))).toBe(
      '0.0.0.0/0 from 10.0.0.2: refused, a default route',
    );
  });

  it('the export policy key groups peers the export decision treats alike: internal, external', () => {
    const policy = createClusterPolicy(ctx);
    const internal = Object.keys(peers).filter((p) => peers[p] === ctx.localAsn);
    const external = Object.keys(peers).filter((p) => peers[p] !== undefined && peers[p] !== ctx.localAsn);
    expect(internal.length).toBeGreaterThan(1);
    expect(new Set(internal.map(policy.exportPolicyKey))).toEqual(new Set(['internal']));
    expect(new Set(external.map(policy.exportPolicyKey))).toEqual(
      new Set(external.length > 0 ? ['external'] : []),
    );
    expect(policy.exportPolicyKey('192.0.2.77')).toBe('unknown 192.0.2.77');
  });
});

describe('Service addresses', () => {
  const svc = {
    ...ctx,
    importPrefixes: rules([
      { prefix: '0.0.0.0/0', le: 32 },
      { prefix: '::/0', le: 128 },
    ]),
    serviceAddresses: {
      hosts: new Set([key('192.0.2.10/32'), key('2001:db8::10/128')]),
      ranges: [key('10.96.0.0/12')],
    },
    serviceExport: { prefixes: new Set([key('192.0.2.10/32'), key('2001:db8::10/128')]) },
  } satisfies PolicyContext;

  it('are refused from every peer, even where the import rules would take them', () => {
    for (const peer of ['192.0.2.1', '192.0.2.9', '10.0.0.2', '10.0.0.3']) {
      expect(importAllowed(svc, peer, key('192.0.2.10/32'))).toBe(false);
      expect(importAllowed(svc, peer, key('2001:db8::10/128'))).toBe(false);
      expect(importAllowed(svc, peer, key('10.96.0.1/32'))).toBe(false);
      expect(importAllowed(svc, peer, key('10.96.0.0/12'))).toBe(false);
    }
    expect(importAllowed(svc, '192.0.2.1', key('192.0.2.11/32'))).toBe(true);
    expect(importAllowed(svc, '192.0.2.1', key('10.0.0.0/8'))).toBe(true); // a covering aggregate is not one
    expect(createClusterPolicy(svc).explainImport('192.0.2.1', key('192.0.2.10/32'))).toBe(
      '192.0.2.10/32 from 192.0.2.1: refused, a Service address (kube-proxy delivers it here)',
    );
  });

  it('go to peers that are not nodes, never into the mesh or to reflectors', () => {
    const a: PathAttributes = { origin: 0, asPath: [], communities: [65000 * 65536 + 7] };
    expect(exportDecision(svc, '192.0.2.1', key('192.0.2.10/32'), a)).toEqual(a); // eBGP ToR
    expect(exportDecision(svc, '192.0.2.9', key('2001:db8::10/128'), a)).toBe(true); // iBGP outside the cluster
    expect(exportDecision(svc, '10.0.0.2', key('192.0.2.10/32'), a)).toBe(false); // mesh
    expect(exportDecision(svc, 'fd00::2', key('2001:db8::10/128'), a)).toBe(false);
    expect(exportDecision(svc, '10.0.0.3', key('192.0.2.10/32'), a)).toBe(false); // reflector
    expect(exportDecision({ ...svc, routeReflector: true }, '10.0.0.4', key('192.0.2.10/32'), a)).toBe(false);
  });

  it('exportPeers: only those; eBGP ones get the prepend but not exportCommunities', () => {
    const only = {
      ...svc,
      exportCommunities: [65000 * 65536 + 1],
      exportPrepend: 2,
      serviceExport: { ...svc.serviceExport, peers: new Set(['192.0.2.1']) },
    };
    const a: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [64512] }] };
    expect(exportDecision(only, '192.0.2.9', key('192.0.2.10/32'), a)).toBe(false);
    expect(exportDecision(only, '192.0.2.1', key('192.0.2.10/32'), a)).toEqual({
      origin: 0,
      asPath: [{ type: 2, asns: [64512, 64512, 64512] }],
    });
    // our podCIDRs keep their own decoration
    expect(exportDecision(only, '192.0.2.1', key('10.244.1.0/24'), a)).toMatchObject({
      communities: [65000 * 65536 + 1],
    });
  });
});
