/**
 * The next hops FRR sends, installed into the kernel by nodebgp (root, namespaces):
 *
 * - over an IPv6 session with the extended next hop capability (RFC 8950), IPv4 routes through FRR's IPv6
 *   address (`via inet6`, an IPv6 nexthop object) and IPv6 routes through its global address;
 * - over an IPv4 session on a link where this node has no IPv6 address but its link-local one, IPv6 routes
 *   with a 32-byte next hop (FRR's global + link-local) through the link-local one on that link; once the
 *   global becomes reachable (an address on its subnet), through the global one, and back.
 *
 *   FRR (AS 65001) fd00:81::1/64 ──── A ──── fd00:81::2/64 nodebgp (AS 65002)  IPv6 session
 *                  10.82.0.1/24 fd00:82::1/64 ── B ── 10.82.0.2/24 (fe80:: only) IPv4 session
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, nodebgpAvailable, startFrr, startNodebgp, until } from './harness/index.js';
import type { Frr, Netns, Nodebgp } from './harness/index.js';

const V4 = '10.1.0.0/24';
const V6A = '2001:db8:1::/48';
const V6B = '2001:db8:2::/48';
/** FRR's link-local address on B, from its fixed MAC (EUI-64). */
const FRR_LL_B = 'fe80::ff:fe00:b1';

function bgpd(): string {
  return [
    'ipv6 prefix-list TO-A permit 2001:db8:1::/48',
    'ipv6 prefix-list TO-B permit 2001:db8:2::/48',
    'router bgp 65001',
    ' bgp router-id 10.82.0.1',
    ' no bgp ebgp-requires-policy',
    ' no bgp network import-check',
    ' no bgp default ipv4-unicast',
    ' neighbor fd00:81::2 remote-as 65002',
    ' neighbor fd00:81::2 timers 2 6',
    ' neighbor fd00:81::2 timers connect 1',
    ' neighbor fd00:81::2 capability extended-nexthop',
    ' neighbor 10.82.0.2 remote-as 65002',
    ' neighbor 10.82.0.2 timers 2 6',
    ' neighbor 10.82.0.2 timers connect 1',
    ' address-family ipv4 unicast',
    `  network ${V4}`,
    '  neighbor fd00:81::2 activate',
    ' exit-address-family',
    ' address-family ipv6 unicast',
    `  network ${V6A}`,
    `  network ${V6B}`,
    '  neighbor fd00:81::2 activate',
    '  neighbor fd00:81::2 prefix-list TO-A out',
    '  neighbor 10.82.0.2 activate',
    '  neighbor 10.82.0.2 prefix-list TO-B out',
    ' exit-address-family',
    '',
  ].join('\n');
}

interface RouteJson {
  dst: string;
  gateway?: string;
  via?: { family: string; host: string };
  dev?: string;
  nhid?: number;
}

describe.skipIf(!nodebgpAvailable())('next hops from FRR in the kernel (RFC 8950, link-local)', () => {
  const lab = new Lab();
  let nsNb: Netns;
  let frr: Frr;
  let nb: Nodebgp;
  let devA: string;
  let devB: string;

  const ours = (family: '-4' | '-6'): Record<string, RouteJson> =>
    Object.fromEntries(
      nsNb.ipJson<RouteJson>(family, 'route', 'show', 'proto', 'nodebgp').map((r) => [r.dst, r]),
    );

  beforeAll(async () => {
    const nsFrr = lab.namespace('frr');
    nsNb = lab.namespace('nb');
    // FRR sends router advertisements where the extended next hop capability is configured: a SLAAC address
    // would become our session's source, which FRR does not know as its neighbour's.
    await nsNb.exec('sysctl', ['-qw', 'net.ipv6.conf.default.accept_ra=0', 'net.ipv6.conf.all.accept_ra=0']);
    // FRR puts its link-local next hop in an UPDATE only once that address is usable; still tentative (DAD,
    // about a second) when a fast session comes up, the UPDATE carries the global one alone. No DAD here.
    for (const ns of [nsFrr, nsNb])
      await ns.exec('sysctl', [
        '-qw',
        'net.ipv6.conf.default.accept_dad=0',
        'net.ipv6.conf.all.accept_dad=0',
      ]);
    devA = lab.link(nsFrr, nsNb, { a: ['fd00:81::1/64'], b: ['fd00:81::2/64'] }).b;
    devB = lab.link(nsFrr, nsNb, {
      a: ['10.82.0.1/24', 'fd00:82::1/64'],
      b: ['10.82.0.2/24'],
      macA: '02:00:00:00:00:b1',
    }).b;
    frr = await startFrr(nsFrr, lab.tempDir('frr'), { bgpd: bgpd() });
    nb = await startNodebgp(nsNb, lab.tempDir('nb'), {
      asn: 65002,
      routerId: '10.82.0.2',
      listen: false,
      node: { address: '10.82.0.2', podCIDRs: ['10.244.2.0/24'] },
      peers: [
        { address: 'fd00:81::1', asn: 65001, holdTime: 6, families: ['ipv4-unicast', 'ipv6-unicast'] },
        { address: '10.82.0.1', asn: 65001, holdTime: 6, families: ['ipv6-unicast'] },
      ],
      kernel: { enabled: true },
    });
    await until(async () => (await nb.neighbors()).filter((n) => n.state === 'Established').length === 2, {
      timeout: 30_000,
      what: 'both sessions Established',
    });
  }, 60_000);

  afterAll(async () => {
    await lab.teardown();
  });

  it('negotiates the extended next hop capability on the IPv6 session', async () => {
    const body = await frr.vtyshJson<Record<string, { neighborCapabilities?: Record<string, unknown> }>>(
      'show bgp neighbors fd00:81::2 json',
    );
    expect(JSON.stringify(body['fd00:81::2']?.neighborCapabilities?.extendedNexthop)).toMatch(
      /advertisedAndReceived/,
    );
  });

  it('installs an IPv4 route through FRR’s IPv6 address (RFC 8950) and its IPv6 route through the global one', async () => {
    const [v4, v6] = await until(
      () => {
        const r4 = ours('-4')[V4];
        const r6 = ours('-6')[V6A];
        return r4 && r6 ? [r4, r6] : undefined;
      },
      { timeout: 20_000, what: `${V4} and ${V6A} in the kernel` },
    );
    expect(v4).toMatchObject({ via: { family: 'inet6', host: 'fd00:81::1' }, dev: devA });
    expect(v4.nhid).toBeGreaterThan(0);
    expect(v6).toMatchObject({ gateway: 'fd00:81::1', dev: devA });
    // The forwarding lookup the kernel would make for a packet to the route.
    expect(nsNb.ipSync('route', 'get', '10.1.0.1')).toMatch(/via inet6 fd00:81::1 dev \S+/);
  });

  it('uses the link-local next hop on the session’s link while the global one is off every subnet of ours', async () => {
    const r = await until(() => ours('-6')[V6B], { timeout: 20_000, what: `${V6B} in the kernel` });
    expect(r).toMatchObject({ gateway: FRR_LL_B, dev: devB });
    const fib = await nb.cli<{ prefix: string; status: string; kernel: { nexthops: string[] } | null }[]>([
      'fib',
    ]);
    expect(fib.find((e) => e.prefix === V6B)).toMatchObject({
      status: 'installed',
      kernel: { nexthops: [`${FRR_LL_B}%${devB}`] },
    });
  });

  it('moves to the global next hop when it becomes reachable, and back when it goes', async () => {
    nsNb.ipSync('addr', 'add', 'fd00:82::2/64', 'dev', devB, 'nodad');
    await until(() => ours('-6')[V6B]?.gateway === 'fd00:82::1', {
      timeout: 15_000,
      what: `${V6B} via the global fd00:82::1`,
    });
    expect(ours('-6')[V6B]).toMatchObject({ dev: devB });
    nsNb.ipSync('addr', 'del', 'fd00:82::2/64', 'dev', devB);
    await until(() => ours('-6')[V6B]?.gateway === FRR_LL_B, {
      timeout: 15_000,
      what: `${V6B} back via ${FRR_LL_B}`,
    });
  });
});
