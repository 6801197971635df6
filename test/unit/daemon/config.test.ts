import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { key } from '../../support/prefix.js';
import { ConfigError, configPath, loadConfig, parseConfig } from '../../../daemon/config.js';

const BASE = `asn: 65002
node: { address: 10.77.0.2, podCIDRs: [10.244.2.0/24] }
peers:
  - { address: 10.77.0.1, asn: 65001 }
`;

function errorOf(text: string): string {
  try {
    parseConfig(text, '/work/x.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('config was accepted');
}

describe('config', () => {
  it('parses deploy/example-config.yaml with every value as written', () => {
    const c = loadConfig({ config: 'deploy/example-config.yaml' }, {});
    expect(c.asn).toBe(65002);
    expect(c.routerId).toBe('10.77.0.2');
    expect(c.listen).toEqual({ address: '10.77.0.2', port: 179 });
    expect(c.node.podCIDRs).toEqual([key('10.244.2.0/24'), key('fd00:244:2::/64')]);
    expect(c.peers).toEqual([
      {
        address: '10.77.0.1',
        asn: 65001,
        holdTime: 9,
        passive: false,
        description: 'frr',
        families: ['ipv4-unicast', 'ipv6-unicast'],
      },
    ]);
    expect(c.kernel).toMatchObject({ enabled: true, table: 254, metric: 20, protocol: 202 });
    expect(c.controlSocket).toBe('/run/nodebgp/nodebgp.sock');
  });

  it('fills defaults: routerId and listen from node.address, port 179, kernel, socket, log level', () => {
    const c = parseConfig(BASE, 'x');
    expect(c.routerId).toBe('10.77.0.2');
    expect(c.listen).toEqual({ address: '10.77.0.2', port: 179 });
    expect(c.kernel).toEqual({
      enabled: true,
      table: 254,
      metric: 20,
      protocol: 202,
      blackholePodCIDRs: false,
      staleGraceSeconds: 120,
    });
    expect(c.log.level).toBe('info');
    expect(parseConfig(BASE + 'listen: false\n', 'x').listen).toBe(false);
    expect(parseConfig(BASE + 'listen: { port: 1179 }\n', 'x').listen).toEqual({
      address: '10.77.0.2',
      port: 1179,
    });
  });

  const bad: [string, string, string][] = [
    ['unknown top-level key', BASE + 'peer: []\n', 'config /work/x.yaml: peer: unknown key'],
    ['unknown peer key', BASE.replace('asn: 65001', 'asn: 65001, hold: 9'), 'peers[0].hold: unknown key'],
    [
      'bad peer address',
      BASE.replace('10.77.0.1', '10.77.0.300'),
      'peers[0].address: "10.77.0.300" is not allowed: not an IPv4 or IPv6 address',
    ],
    [
      'host bits in a podCIDR',
      BASE.replace('10.244.2.0/24', '10.244.2.1/24'),
      'node.podCIDRs[0]: "10.244.2.1/24" is not allowed: host bits are set past /24 (did you mean 10.244.2.0/24?)',
    ],
    [
      'holdTime 1',
      BASE.replace('asn: 65001', 'asn: 65001, holdTime: 1'),
      'peers[0].holdTime: 1 is not allowed: must be 0 or 3..65535',
    ],
    [
      'holdTime 2',
      BASE.replace('asn: 65001', 'asn: 65001, holdTime: 2'),
      'config /work/x.yaml: peers[0].holdTime: 2 is not allowed: must be 0 or 3..65535',
    ],
    [
      'duplicate peers',
      BASE + '  - { address: 10.77.0.1, asn: 65003 }\n',
      'peers[1].address: "10.77.0.1" is a duplicate of peers[0].address',
    ],
    [
      'duplicate IPv6 peers written differently',
      BASE + '  - { address: "fd00::1", asn: 1 }\n  - { address: "fd00:0::1", asn: 2 }\n',
      'peers[2].address: "fd00:0::1" is a duplicate of peers[1].address',
    ],
    ['asn 0', BASE.replace('asn: 65002', 'asn: 0'), 'asn: 0 is not allowed: must be 1..4294967295'],
    [
      'asn too big',
      BASE.replace('asn: 65002', 'asn: 4294967296'),
      'asn: 4294967296 is not allowed: must be 1..4294967295',
    ],
    [
      'asn as a string',
      BASE.replace('asn: 65002', 'asn: "65002"'),
      'asn: "65002" is not allowed: expected an AS number',
    ],
    [
      'passive as a string',
      BASE.replace('asn: 65001', 'asn: 65001, passive: "yes"'),
      'peers[0].passive: "yes" is not allowed: expected true or false',
    ],
    [
      'peers as a mapping',
      BASE.replace(/peers:\n.*\n/, 'peers: { a: 1 }\n'),
      'peers: a mapping is not allowed: expected a list of peers',
    ],
    ['missing asn', BASE.replace('asn: 65002\n', ''), 'asn: is required'],
    [
      'bad log level',
      BASE + 'log: { level: loud }\n',
      'log.level: "loud" is not allowed: must be one of trace, debug, info, warn, error, fatal',
    ],
    [
      'IPv6 node without routerId',
      BASE.replace('address: 10.77.0.2', 'address: "fd00::2"'),
      'routerId: is required when node.address is not IPv4',
    ],
    ['port 0', BASE + 'listen: { port: 0 }\n', 'listen.port: 0 is not allowed: must be 1..65535'],
    [
      'relative socket path',
      BASE + 'controlSocket: nodebgp.sock\n',
      'controlSocket: "nodebgp.sock" is not allowed: must be an absolute path',
    ],
    [
      'unknown family',
      BASE.replace('asn: 65001', 'asn: 65001, families: [ipv4-multicast]'),
      'peers[0].families[0]: "ipv4-multicast" is not allowed: must be ipv4-unicast or ipv6-unicast',
    ],
    ['YAML syntax', 'asn: [1\n', 'config /work/x.yaml: line 2, column 1: Flow sequence'],
    [
      'an IPv4-mapped spelling of another peer',
      BASE + '  - { address: "::ffff:10.77.0.1", asn: 65001 }\n',
      'peers[1].address: "::ffff:10.77.0.1" is a duplicate of peers[0].address',
    ],
    [
      'two spellings of one IPv6 peer',
      BASE + '  - { address: "2001:DB8::1", asn: 65001 }\n  - { address: "2001:db8:0::1", asn: 65001 }\n',
      'peers[2].address: "2001:db8:0::1" is a duplicate of peers[1].address',
    ],
    [
      'a zone id',
      BASE.replace('address: 10.77.0.1', 'address: "fe80::1%eth0"'),
      'peers[0].address: "fe80::1%eth0" is not allowed: has a zone id (%eth0): link-local sessions are not supported',
    ],
    [
      'a duplicate Kubernetes external peer',
      BASE +
        'kubernetes:\n  enabled: false\n  peers:\n    - { address: 10.1.0.1, asn: 1 }\n    - { address: "::ffff:10.1.0.1", asn: 1 }\n',
      'kubernetes.peers[1].address: "::ffff:10.1.0.1" is a duplicate of kubernetes.peers[0].address',
    ],
  ];
  it.each(bad)('%s: names the field and the value', (_name, text, message) => {
    expect(errorOf(text)).toContain(message);
  });

  it('keeps every address in its one spelling: IPv4-mapped as IPv4, IPv6 in RFC 5952 form', () => {
    const c = parseConfig(
      BASE.replace('address: 10.77.0.1', 'address: "::ffff:10.77.0.1"') +
        '  - { address: "2001:DB8:0::1", asn: 65001, localAddress: "2001:DB8::2" }\n' +
        'kubernetes: { enabled: false, peers: [{ address: "::FFFF:10.1.0.1", asn: 1 }] }\n',
      'x',
    );
    expect(c.peers.map((p) => [p.address, p.localAddress])).toEqual([
      ['10.77.0.1', undefined],
      ['2001:db8::1', '2001:db8::2'],
    ]);
    expect(c.kubernetes?.peers[0]?.address).toBe('10.1.0.1');
  });

  it('reports every problem, one per line', () => {
    const msg = errorOf(
      BASE.replace('asn: 65002', 'asn: 0').replace('asn: 65001', 'asn: 65001, holdTime: 1'),
    );
    expect(msg.split('\n')).toHaveLength(2);
  });

  it('an empty or non-mapping file is refused', () => {
    expect(errorOf('- 1\n')).toContain('must hold a mapping');
    expect(errorOf('')).toContain('asn: is required');
  });

  it('flags beat environment beat the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nodebgp-cfg-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, BASE + 'log: { level: warn }\n');
    expect(loadConfig({ config: file }, {}).log.level).toBe('warn');
    expect(loadConfig({}, { NODEBGP_CONFIG: file, NODEBGP_LOG_LEVEL: 'debug' }).log.level).toBe('debug');
    expect(loadConfig({ config: file, logLevel: 'error' }, { NODEBGP_LOG_LEVEL: 'debug' }).log.level).toBe(
      'error',
    );
    expect(loadConfig({ config: file, controlSocket: '/tmp/x.sock' }, {}).controlSocket).toBe('/tmp/x.sock');
    expect(() => loadConfig({ config: file, logLevel: 'loud' }, {})).toThrow(
      'log.level: "loud" is not allowed',
    );
    expect(configPath({}, { NODEBGP_CONFIG: '/a.yaml' })).toBe('/a.yaml');
    expect(configPath({}, {})).toBe('/etc/nodebgp/config.yaml');
  });

  it('a missing file says so with its path', () => {
    expect(() => loadConfig({ config: '/nonexistent/n.yaml' }, {})).toThrow(
      /config \/nonexistent\/n.yaml: cannot read/,
    );
  });
});

describe('config: kubernetes section', () => {
  it('is embedded from daemon/kubernetes/schema.ts and its errors name the field', () => {
    const c = parseConfig(BASE + 'kubernetes: { nodeName: node-2 }\n', 'x');
    expect(c.kubernetes).toMatchObject({ enabled: true, nodeName: 'node-2', mesh: true });
    expect(errorOf(BASE + 'kubernetes: { mesh: "yes" }\n')).toContain(
      'kubernetes.mesh: "yes" is not allowed: expected true or false',
    );
  });
});

describe('config: kubernetes.services', () => {
  it('is off unless present; present, it advertises LoadBalancer and external IPs to external peers', () => {
    expect(parseConfig(BASE + 'kubernetes: {}\n', 'x').kubernetes?.services).toBeUndefined();
    const c = parseConfig(BASE + 'kubernetes: { services: {} }\n', 'x');
    expect(c.kubernetes?.services).toEqual({
      loadBalancerIPs: true,
      externalIPs: true,
      clusterIPs: false,
      clusterIPRanges: [],
      communities: [],
    });
  });

  it('reads ranges, selector, export peers, communities and local preference', () => {
    const c = parseConfig(
      BASE +
        `kubernetes:
  services:
    clusterIPs: true
    clusterIPRanges: [10.96.0.0/12, "fd00:96::/108"]
    selector:
      matchLabels: { bgp: "yes" }
      matchExpressions: [{ key: tier, operator: In, values: [web] }, { key: internal, operator: DoesNotExist }]
    exportPeers: ["2001:DB8::1", 10.0.0.1]
    communities: ["65000:100"]
    localPreference: 200
`,
      'x',
    );
    expect(c.kubernetes?.services).toMatchObject({
      clusterIPs: true,
      clusterIPRanges: [key('10.96.0.0/12'), key('fd00:96::/108')],
      selector: {
        matchLabels: { bgp: 'yes' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['web'] },
          { key: 'internal', operator: 'DoesNotExist' },
        ],
      },
      exportPeers: ['2001:db8::1', '10.0.0.1'],
      communities: [65000 * 65536 + 100],
      localPreference: 200,
    });
  });

  it.each([
    ['clusterIPRanges: [10.96.0.1/12]', 'kubernetes.services.clusterIPRanges[0]'],
    [
      'clusterIPRanges: [0.0.0.0/0]',
      'kubernetes.services.clusterIPRanges[0]: "0.0.0.0/0" is not allowed: must not be a default route',
    ],
    [
      'loadBalancerIPs: "yes"',
      'kubernetes.services.loadBalancerIPs: "yes" is not allowed: expected true or false',
    ],
    [
      'exportPeers: [tor-1]',
      'kubernetes.services.exportPeers[0]: "tor-1" is not allowed: not an IPv4 or IPv6 address',
    ],
    ['communities: ["65000:70000"]', 'kubernetes.services.communities[0]'],
    ['localPreference: -1', 'kubernetes.services.localPreference: -1 is not allowed'],
    [
      'selector: { matchExpressions: [{ key: a, operator: In }] }',
      'kubernetes.services.selector.matchExpressions[0].values',
    ],
    [
      'selector: { matchExpressions: [{ key: a, operator: Has }] }',
      'kubernetes.services.selector.matchExpressions[0].operator: "Has" is not allowed: must be In, NotIn, Exists or DoesNotExist',
    ],
    ['advertise: all', 'kubernetes.services'],
  ])('refuses %s, naming the field and value', (line, message) => {
    expect(errorOf(BASE + `kubernetes:\n  services:\n    ${line}\n`)).toContain(message);
  });
});
