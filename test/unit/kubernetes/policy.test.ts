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

const peers: Record<string, number> = { '10.0.0.2': 64512, '192.0.2.1': 65000 };
const ctx: PolicyContext = {
  localAsn: 64512,
  ownPodCIDRs: [key('10.244.1.0/24'), key('fd00:244:1::/64')],
  clusterPodCIDRs: [key('10.244.2.0/24'), key('fd00:244:2::/64')],
  routeReflector: false,
  peerAsn: (p) => peers[p],
};
const rules = (list: unknown[]) => list.map((r) => importPrefixSchema.parse(r));
const attrs: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [64512] }] };

describe('importAllowed', () => {
  const table: { name: string; prefix: string; ctx?: Partial<PolicyContext>; want: boolean }[] = [
    { name: 'another node podCIDR', prefix: '10.244.2.0/24', want: true },
    { name: 'another node IPv6 podCIDR', prefix: 'fd00:244:2::/64', want: true },
    { name: 'our own podCIDR', prefix: '10.244.1.0/24', want: false },
    { name: 'a default route', prefix: '0.0.0.0/0', want: false },
    { name: 'an IPv6 default route', prefix: '::/0', want: false },
    { name: 'not a known podCIDR', prefix: '10.244.3.0/24', want: false },
    { name: 'a more specific of a podCIDR', prefix: '10.244.2.0/25', want: false },
    {
      name: 'inside importPrefixes with le',
      prefix: '10.244.3.0/24',
      ctx: { importPrefixes: rules([{ prefix: '10.244.0.0/16', le: 24 }]) },
      want: true,
    },
    {
      name: 'longer than le',
      prefix: '10.244.3.0/25',
      ctx: { importPrefixes: rules([{ prefix: '10.244.0.0/16', le: 24 }]) },
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
      name: 'importPrefixes never admit a default route',
      prefix: '0.0.0.0/0',
      ctx: { importPrefixes: rules([{ prefix: '0.0.0.0/0' }]) },
      want: false,
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
      expect(importAllowed({ ...ctx, ...t.ctx }, key(t.prefix))).toBe(t.want);
    });
});

describe('exportDecision', () => {
  it('exports our podCIDRs to iBGP peers unchanged', () => {
    expect(exportDecision(ctx, '10.0.0.2', key('10.244.1.0/24'), attrs)).toBe(true);
  });

  it('does not re-export other nodes routes unless we reflect, and never to eBGP', () => {
    const other = key('10.244.2.0/24');
    expect(exportDecision(ctx, '10.0.0.2', other, attrs)).toBe(false);
    const rr = { ...ctx, routeReflector: true };
    expect(exportDecision(rr, '10.0.0.2', other, attrs)).toBe(true);
    expect(exportDecision(rr, '192.0.2.1', other, attrs)).toBe(false);
    expect(exportDecision(rr, '10.0.0.2', key('172.16.0.0/16'), attrs)).toBe(false);
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
    const p = key('10.244.3.0/24');
    expect(policy.importFilter('10.0.0.2', p, attrs)).toBe(false);
    expect(policy.explainImport(p)).toBe('10.244.3.0/24: refused, not a podCIDR of another node');
    policy.update({ ...ctx, clusterPodCIDRs: [...ctx.clusterPodCIDRs, p] });
    expect(policy.importFilter('10.0.0.2', p, attrs)).toBe(true);
    expect(policy.explainImport(key('0.0.0.0/0'))).toBe('0.0.0.0/0: refused, a default route');
  });
});
