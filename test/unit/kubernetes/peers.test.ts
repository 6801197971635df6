import { describe, expect, it } from 'vitest';
import type { PeerConfig } from '../../../bgp/api.js';
import { formatPrefix } from '../../../ip/prefix.js';
import type { NodeView } from '../../../daemon/kubernetes/node-view.js';
import {
  compareAddresses,
  desiredAdvertisements,
  desiredPeers,
  diffPeers,
  type PeerPlanOptions,
} from '../../../daemon/kubernetes/peers.js';
import { kubernetesSchema } from '../../../daemon/kubernetes/schema.js';
import { key } from '../../support/prefix.js';

function node(
  name: string,
  ips: string[],
  extra: { labels?: Record<string, string>; annotations?: Record<string, string>; cidrs?: string[] } = {},
): NodeView {
  return {
    name,
    podCIDRs: (extra.cidrs ?? []).map(key),
    internalIPs: ips,
    labels: extra.labels ?? {},
    annotations: extra.annotations ?? {},
  };
}

const RR_LABEL = 'node-restriction.kubernetes.io/nodebgp-route-reflector';
const RR = { labels: { [RR_LABEL]: '10.0.0.1' } };
const a = node('a', ['10.0.0.1', 'fd00::1']);
const b = node('b', ['10.0.0.2', 'fd00::2']);
const c = node('c', ['10.0.0.3']);
const base: PeerPlanOptions = { asn: 64512 };

/** address → the fields a test asserts on. */
function brief(peers: PeerConfig[]): string[] {
  return peers.map(
    (p) =>
      `${p.address} as${p.asn}${p.passive ? ' passive' : ''}${p.routeReflectorClient ? ' client' : ''}` +
      (p.description ? ` (${p.description})` : ''),
  );
}

describe('desiredPeers', () => {
  const table: {
    name: string;
    self: NodeView;
    nodes: NodeView[];
    opts?: Partial<PeerPlanOptions>;
    want: string[];
  }[] = [
    {
      name: 'full mesh, per family, the higher address passive',
      self: b,
      nodes: [a, b, c],
      want: [
        '10.0.0.1 as64512 passive (mesh a)',
        '10.0.0.3 as64512 (mesh c)',
        'fd00::1 as64512 passive (mesh a)',
      ],
    },
    {
      name: 'the lowest node connects to everyone',
      self: a,
      nodes: [a, b, c],
      want: ['10.0.0.2 as64512 (mesh b)', '10.0.0.3 as64512 (mesh c)', 'fd00::2 as64512 (mesh b)'],
    },
    { name: 'mesh off: no node sessions', self: a, nodes: [a, b, c], opts: { mesh: false }, want: [] },
    {
      name: 'a reflector peers with everyone, non-reflectors as clients',
      self: node('r', ['10.0.0.9'], RR),
      nodes: [a, b, node('r', ['10.0.0.9'], RR), node('r2', ['10.0.0.10'], RR)],
      want: [
        '10.0.0.1 as64512 passive client (rr-client a)',
        '10.0.0.2 as64512 passive client (rr-client b)',
        '10.0.0.10 as64512 (route-reflector r2)',
      ],
    },
    {
      name: 'a non-reflector peers only with the reflectors',
      self: b,
      nodes: [a, b, c, node('r', ['10.0.0.9'], RR)],
      want: ['10.0.0.9 as64512 (route-reflector r)'],
    },
    {
      name: 'reflectors of another cluster id do not count',
      self: b,
      nodes: [a, b, node('r', ['10.0.0.9'], RR)],
      opts: { routeReflector: { clusterId: '10.9.9.9' } },
      want: [
        '10.0.0.1 as64512 passive (mesh a)',
        '10.0.0.9 as64512 (mesh r)',
        'fd00::1 as64512 passive (mesh a)',
      ],
    },
    {
      name: 'a reflector named in the config',
      self: c,
      nodes: [a, c, node('r', ['10.0.0.9'])],
      opts: { routeReflector: { clusterId: '10.0.0.201', nodes: ['r'] } },
      want: ['10.0.0.9 as64512 (route-reflector r)'],
    },
    {
      name: 'external peers: global, by nodeSelector, and from our annotation',
      self: node('a', ['10.0.0.1'], {
        labels: { rack: 'r1' },
        annotations: { 'nodebgp.io/peers': '[{"address":"192.0.2.1","asn":65001,"holdTime":30}]' },
      }),
      nodes: [],
      opts: {
        externalPeers: [
          { address: '192.0.2.254', asn: 65000 },
          { address: '192.0.2.11', asn: 65011, nodeSelector: { rack: 'r1' } },
          { address: '192.0.2.12', asn: 65012, nodeSelector: { rack: 'r2' } },
        ],
      },
      want: [
        '192.0.2.1 as65001 (annotation on a)',
        '192.0.2.11 as65011 (config kubernetes.peers[1])',
        '192.0.2.254 as65000 (config kubernetes.peers[0])',
      ],
    },
  ];
  for (const t of table)
    it(t.name, () => {
      const plan = desiredPeers(t.self, t.nodes, { ...base, ...t.opts });
      expect(brief(plan.peers)).toEqual(t.want);
      expect(plan.problems).toEqual([]);
    });

  const ignoredMarkers: { name: string; marker: Partial<NodeView>; problem: RegExp }[] = [
    {
      name: 'the old label, which a kubelet may set on its own Node',
      marker: { labels: { 'nodebgp.io/route-reflector': '10.0.0.1' } },
      problem:
        /node r: nodebgp.io\/route-reflector is ignored .*node-restriction.kubernetes.io\/nodebgp-route-reflector=10.0.0.1/,
    },
    {
      name: 'the old annotation',
      marker: { annotations: { 'nodebgp.io/route-reflector': '10.0.0.1' } },
      problem: /node r: nodebgp.io\/route-reflector is ignored/,
    },
    {
      name: 'a label value that is no cluster id',
      marker: { labels: { [RR_LABEL]: 'yes' } },
      problem:
        /node r: label node-restriction.kubernetes.io\/nodebgp-route-reflector: "yes" is not a cluster id/,
    },
  ];
  for (const t of ignoredMarkers)
    it(`does not make a node a reflector: ${t.name}, and says so`, () => {
      const r = { ...node('r', ['10.0.0.9']), ...t.marker } as NodeView;
      const plan = desiredPeers(c, [a, c, r], base);
      expect(brief(plan.peers)).toEqual(['10.0.0.1 as64512 passive (mesh a)', '10.0.0.9 as64512 (mesh r)']);
      expect(plan.problems).toEqual([expect.stringMatching(t.problem)]);
    });

  it('keeps an external peer’s own import rules out of the speaker’s config, beside it', () => {
    const externalPeers = kubernetesSchema.parse({
      peers: [{ address: '192.0.2.1', asn: 65001, import: [{ prefix: '10.200.0.0/16', le: 24 }] }],
    }).peers;
    const plan = desiredPeers(a, [a], { ...base, externalPeers });
    expect(plan.peers[0]).not.toHaveProperty('import');
    expect(plan.imports.get('192.0.2.1')?.map((r) => [formatPrefix(r.prefix), r.le])).toEqual([
      ['10.200.0.0/16', 24],
    ]);
  });

  it('sets the local address and one family per node session', () => {
    const [p4, p6] = desiredPeers(a, [a, b], base).peers;
    expect(p4).toMatchObject({ localAddress: '10.0.0.1', families: ['ipv4-unicast'] });
    expect(p6).toMatchObject({ address: 'fd00::2', localAddress: 'fd00::1', families: ['ipv6-unicast'] });
  });

  const bad: { annotation: string; problem: RegExp }[] = [
    { annotation: '{not json', problem: /node a: annotation nodebgp.io\/peers: not JSON/ },
    { annotation: '{"address":"192.0.2.1"}', problem: /\(root\): expected a JSON list of peers/ },
    { annotation: '[{"address":"192.0.2.1","asn":0}]', problem: /\[0\]\.asn: must be 1\.\.4294967295/ },
    {
      annotation: '[{"address":"nope","asn":65001}]',
      problem: /\[0\]\.address: not an IPv4 or IPv6 address/,
    },
    {
      annotation: '[{"address":"192.0.2.1","asn":65001,"holdTime":2}]',
      problem: /\[0\]\.holdTime: must be 0 or 3/,
    },
    { annotation: '[{"address":"192.0.2.1","asn":65001,"bogus":1}]', problem: /\[0\]: .*bogus/i },
    {
      annotation: '[{"address":"fe80::1%eth0","asn":65001}]',
      problem: /\[0\]\.address: has a zone id \(%eth0\)/,
    },
  ];
  for (const t of bad)
    it(`ignores a bad annotation and names the field: ${t.annotation}`, () => {
      const self = node('a', ['10.0.0.1'], { annotations: { 'nodebgp.io/peers': t.annotation } });
      const plan = desiredPeers(self, [self, b], base);
      expect(brief(plan.peers)).toEqual(['10.0.0.2 as64512 (mesh b)']);
      expect(plan.problems).toHaveLength(1);
      expect(plan.problems[0]).toMatch(t.problem);
    });

  it('keeps the explicit peer when an annotation names a node address, and says so', () => {
    const self = node('a', ['10.0.0.1'], {
      annotations: { 'nodebgp.io/peers': '[{"address":"10.0.0.2","asn":65002}]' },
    });
    const plan = desiredPeers(self, [self, b], base);
    expect(brief(plan.peers)).toEqual(['10.0.0.2 as65002 (annotation on a)']);
    expect(plan.problems[0]).toMatch(/node a: peer 10.0.0.2 is already configured/);
  });

  it('an IPv4-mapped annotation peer is its IPv4 peer: beside the same config peer it is reported, not added', () => {
    const self = node('a', ['10.0.0.1'], {
      annotations: {
        'nodebgp.io/peers':
          '[{"address":"::ffff:192.0.2.7","asn":65007},{"address":"::FFFF:192.0.2.1","asn":65001}]',
      },
    });
    const externalPeers = kubernetesSchema.parse({ peers: [{ address: '192.0.2.1', asn: 65001 }] }).peers;
    const plan = desiredPeers(self, [self], { ...base, externalPeers });
    expect(brief(plan.peers)).toEqual([
      '192.0.2.1 as65001 (annotation on a)',
      '192.0.2.7 as65007 (annotation on a)',
    ]);
    expect(plan.problems).toEqual([
      expect.stringMatching(/config kubernetes.peers\[0\]: peer 192.0.2.1 is already configured/),
    ]);
  });

  it('orders peers stably whatever the node order', () => {
    const nodes = [c, node('d', ['10.0.0.20']), b, node('e', ['10.0.0.100']), a];
    const one = desiredPeers(a, nodes, base).peers;
    const two = desiredPeers(a, [...nodes].reverse(), base).peers;
    expect(one).toEqual(two);
    expect(one.map((p) => p.address)).toEqual(['10.0.0.2', '10.0.0.3', '10.0.0.20', '10.0.0.100', 'fd00::2']);
  });
});

describe('compareAddresses and diffPeers', () => {
  it('compares numerically, IPv4 before IPv6', () => {
    expect(compareAddresses('10.0.0.9', '10.0.0.10')).toBe(-1);
    expect(compareAddresses('fd00::10', 'fd00::9')).toBe(1);
    expect(compareAddresses('2001:DB8::1', '2001:db8:0::1')).toBe(0);
    expect(compareAddresses('255.255.255.255', '::1')).toBe(-1);
  });

  it('reports added, removed and changed peers', () => {
    const before = desiredPeers(a, [a, b, c], base).peers;
    const after = desiredPeers(a, [a, b, node('c', ['10.0.0.3'], RR)], base).peers;
    const diff = diffPeers(before, after);
    expect(diff.remove).toEqual(['10.0.0.2', 'fd00::2']);
    expect(diff.update.map((p) => p.description)).toEqual(['route-reflector c']);
    expect(diff.add).toEqual([]);
  });
});

describe('desiredAdvertisements', () => {
  it('advertises our podCIDRs with our InternalIP of the same family as next hop', () => {
    const self = node('a', ['10.0.0.1', 'fd00::1'], { cidrs: ['10.244.1.0/24', 'fd00:244:1::/64'] });
    expect(desiredAdvertisements(self).map((x) => [formatPrefix(x.prefix), x.nextHop])).toEqual([
      ['10.244.1.0/24', '10.0.0.1'],
      ['fd00:244:1::/64', 'fd00::1'],
    ]);
  });

  it('leaves the next hop to the session when we have no address of that family', () => {
    const self = node('a', ['10.0.0.1'], { cidrs: ['fd00:244:1::/64'] });
    expect(desiredAdvertisements(self)).toEqual([{ prefix: 'fd00:244:1::/64' }]);
  });
});

describe('kubernetesSchema', () => {
  it('fills defaults', () => {
    const c = kubernetesSchema.parse({});
    expect(c).toMatchObject({
      enabled: true,
      mesh: true,
      podCIDRFromNode: true,
      peerAnnotation: 'nodebgp.io/peers',
    });
  });

  it('parses import rules and communities, and names bad fields', () => {
    const c = kubernetesSchema.parse({
      importPrefixes: [{ prefix: '10.244.0.0/16', le: 24 }],
      exportCommunities: ['65000:100'],
    });
    expect(c.importPrefixes![0]!.prefix).toBe(key('10.244.0.0/16'));
    expect(c.exportCommunities).toEqual([65000 * 65536 + 100]);
    const bad = kubernetesSchema.safeParse({
      importPrefixes: [{ prefix: '10.244.0.0/16', le: 8 }],
      routeReflector: { clusterId: 'rr1' },
    });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['importPrefixes.0.le', 'routeReflector.clusterId']));
  });
});
