/** The runner's containerlab subset: what it accepts, and that it refuses everything else by name. */
import { describe, expect, it } from 'vitest';
import { parseTopology, splitCommand, TopologyError } from '../../../labs/runner/topology.js';
import { enabledDaemons } from '../../../labs/runner/frr.js';

const FILE = '/labs/t/t.clab.yml';

const ok = `
name: t
mgmt: { network: custom, ipv4-subnet: 172.20.20.0/24 }
topology:
  defaults: { env: { A: "1" } }
  kinds:
    linux: { image: ghcr.io/nodebgp/nodebgp:latest, env: { B: 2 } }
  nodes:
    sw: { kind: bridge }
    r1:
      kind: linux
      image: quay.io/frrouting/frr:8.4.1
      binds: [r1/frr.conf:/etc/frr/frr.conf, /abs/daemons:/etc/frr/daemons:ro]
      mgmt-ipv4: 172.20.20.2
      sysctls: { net.ipv6.conf.all.accept_dad: 0, net.ipv4.conf.eth1.rp_filter: "2" }
    n1:
      kind: linux
      env: { C: true }
      exec:
        - ip addr add 10.0.0.1/24 dev eth1
        - ip netns add t-n1-pod1
        - sh -c 'echo "a b"'
    h1: { kind: linux, image: alpine:3 }
  links:
    - endpoints: ["r1:eth1", "sw:sw-r1"]
    - endpoints: ["n1:eth1", "sw:sw-n1"]
`;

function refuse(text: string, message: string): void {
  expect(() => parseTopology(text, FILE)).toThrow(TopologyError);
  expect(() => parseTopology(text, FILE)).toThrow(message);
}

describe('parseTopology: accepted subset', () => {
  const topo = parseTopology(ok, FILE);
  const node = (name: string) => topo.nodes.find((n) => n.name === name);

  it('derives roles from kind and image', () => {
    expect(topo.nodes.map((n) => [n.name, n.role])).toEqual([
      ['sw', 'bridge'],
      ['r1', 'frr'],
      ['n1', 'nodebgp'],
      ['h1', 'linux'],
    ]);
  });

  it('resolves binds against the topology directory, keeps absolute ones', () => {
    expect(node('r1')?.binds).toEqual([
      { source: '/labs/t/r1/frr.conf', target: '/etc/frr/frr.conf' },
      { source: '/abs/daemons', target: '/etc/frr/daemons' },
    ]);
  });

  it('merges env from defaults, kinds and the node', () => {
    expect(node('n1')?.env).toEqual({ A: '1', B: '2', C: 'true' });
  });

  it("keeps a node's network sysctls, as strings", () => {
    expect(node('r1')?.sysctls).toEqual({
      'net.ipv6.conf.all.accept_dad': '0',
      'net.ipv4.conf.eth1.rp_filter': '2',
    });
    expect(node('n1')?.sysctls).toEqual({});
  });

  it('splits exec lines into argv and records pod namespaces', () => {
    expect(node('n1')?.exec[2]).toEqual(['sh', '-c', 'echo "a b"']);
    expect(node('n1')?.podNamespaces).toEqual(['t-n1-pod1']);
  });

  it('reads links as node/interface pairs', () => {
    expect(topo.links[1]).toEqual({ a: { node: 'n1', iface: 'eth1' }, b: { node: 'sw', iface: 'sw-n1' } });
  });
});

describe('parseTopology: refusals by name', () => {
  const base = (nodes: string, links = '') => `name: t\ntopology:\n  nodes:\n${nodes}\n${links}`;

  it('refuses unsupported kinds', () =>
    refuse(
      base('    spine1: { kind: ceos }'),
      "topology.nodes.spine1.kind 'ceos' is not supported by the namespace runner",
    ));
  it('refuses unsupported node fields', () =>
    refuse(
      base('    a: { kind: linux, startup-config: x.cfg }'),
      'topology.nodes.a.startup-config is not supported',
    ));
  it('refuses unsupported top-level fields', () =>
    refuse(`name: t\nprefix: ""\ntopology: { nodes: {} }`, '(file).prefix is not supported'));
  it('refuses groups', () =>
    refuse(`name: t\ntopology: { nodes: {}, groups: {} }`, 'topology.groups is not supported'));
  it('refuses unsupported kinds sections', () =>
    refuse(`name: t\ntopology: { nodes: {}, kinds: { srl: {} } }`, 'topology.kinds.srl is not supported'));
  it('refuses extended links', () =>
    refuse(
      base('    a: { kind: linux }', '  links:\n    - { endpoints: ["a:eth1", "a:eth2"], mtu: 9000 }'),
      'topology.links[0].mtu is not supported',
    ));
  it('refuses links to unknown nodes', () =>
    refuse(base('    a: { kind: linux }', '  links:\n    - endpoints: ["a:eth1", "b:eth1"]'), "no node 'b'"));
  it('refuses an endpoint used twice', () =>
    refuse(
      base(
        '    a: { kind: linux }\n    b: { kind: linux }',
        '  links:\n    - endpoints: ["a:eth1", "b:eth1"]\n    - endpoints: ["a:eth1", "b:eth2"]',
      ),
      'endpoint a:eth1 is used by two links',
    ));
  it('refuses interface names the kernel would refuse', () =>
    refuse(
      base('    a: { kind: linux }', '  links:\n    - endpoints: ["a:averyverylongname0", "a:eth1"]'),
      'is not a valid name',
    ));
  it('refuses pod namespaces not prefixed with lab and node', () =>
    refuse(
      base('    a: { kind: linux, exec: ["ip netns add pod1"] }'),
      "pod namespace 'pod1' must start with 't-a-'",
    ));
  it('refuses sysctls outside the network namespace, and values a shell could make more of', () => {
    refuse(
      base('    a: { kind: linux, sysctls: { kernel.pid_max: 4096 } }', ''),
      "'kernel.pid_max' is not a network sysctl",
    );
    refuse(
      base('    a: { kind: linux, sysctls: { net.ipv4.ip_forward: "1; reboot" } }', ''),
      'is not a plain word',
    );
    refuse(
      base('    sw: { kind: bridge, sysctls: { net.ipv4.ip_forward: 1 } }', ''),
      'a bridge node takes no exec',
    );
  });
  it('refuses exec lines that need a shell', () =>
    refuse(base('    a: { kind: linux, exec: ["ip route | grep x"] }'), "'|' needs a shell"));
  it('refuses exec on bridges', () =>
    refuse(base('    a: { kind: bridge, exec: ["true"] }'), 'a bridge node takes no exec, binds or sysctls'));
  it('refuses a missing kind', () => refuse(base('    a: { image: x }'), 'topology.nodes.a.kind is missing'));
  it('refuses bad lab names', () => refuse('name: Bad_Name\ntopology: { nodes: {} }', 'name: must be'));
});

describe('splitCommand', () => {
  it('handles quotes and spaces', () => {
    expect(splitCommand(`ip  link  set "a b" up ''`, 'x')).toEqual(['ip', 'link', 'set', 'a b', 'up', '']);
  });
  it('refuses unterminated quotes', () =>
    expect(() => splitCommand(`echo "x`, 'x')).toThrow('unterminated quote'));
});

describe('enabledDaemons', () => {
  it('reads a daemons file', () => {
    expect(enabledDaemons('zebra=yes\nbgpd=yes\nstaticd=no\nvtysh_enable=yes\n')).toEqual(['bgpd']);
  });
  it('starts bfdd before bgpd, whatever the order of the file', () => {
    expect(enabledDaemons('bgpd=yes\nbfdd=yes\nstaticd=no\n')).toEqual(['bfdd', 'bgpd']);
  });
  it('refuses daemons the runner cannot start', () => {
    expect(() => enabledDaemons('bgpd=yes\nospfd=yes\n')).toThrow('daemons ospfd are not supported');
  });
});
