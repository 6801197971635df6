/**
 * The harness proves itself before nodebgp is in the picture: FRR, BIRD, GoBGP and ExaBGP, each in its own
 * namespace, in a ring of veth links, establish eBGP sessions with each other, exchange routes, and FRR's bgpd
 * installs what it learns into its own namespace's kernel table through its own zebra.
 *
 *   FRR (65001) ─10.77.1.0/24─ BIRD (65002) ─10.77.2.0/24─ GoBGP (65003) ─10.77.3.0/24─ ExaBGP (65004)
 *        └─────────────────────────────────────10.77.4.0/24─────────────────────────────────────┘
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, startBird, startExabgp, startFrr, startGobgp, until } from './harness/index.js';
import type { Bird, Exabgp, Frr, Gobgp, Netns } from './harness/index.js';

const lab = new Lab();
let nsFrr: Netns;
let frr: Frr;
let bird: Bird;
let gobgp: Gobgp;
let exa: Exabgp;

beforeAll(async () => {
  nsFrr = lab.namespace('frr');
  const nsBird = lab.namespace('bird');
  const nsGobgp = lab.namespace('gobgp');
  const nsExa = lab.namespace('exa');
  lab.link(nsFrr, nsBird, { a: ['10.77.1.1/24', 'fd00:77:1::1/64'], b: ['10.77.1.2/24', 'fd00:77:1::2/64'] });
  lab.link(nsBird, nsGobgp, { a: ['10.77.2.1/24'], b: ['10.77.2.2/24'] });
  lab.link(nsGobgp, nsExa, { a: ['10.77.3.1/24'], b: ['10.77.3.2/24'] });
  lab.link(nsFrr, nsExa, { a: ['10.77.4.1/24'], b: ['10.77.4.2/24'] });

  frr = await startFrr(nsFrr, lab.tempDir('frr'), {
    bgpd: [
      'router bgp 65001',
      ' bgp router-id 10.77.1.1',
      ' no bgp ebgp-requires-policy',
      ' no bgp network import-check',
      ' neighbor 10.77.1.2 remote-as 65002',
      ' neighbor 10.77.1.2 timers 3 9',
      ' neighbor 10.77.1.2 timers connect 1',
      ' neighbor 10.77.4.2 remote-as 65004',
      ' neighbor 10.77.4.2 timers 3 9',
      ' neighbor 10.77.4.2 timers connect 1',
      ' address-family ipv4 unicast',
      '  network 10.1.0.0/24',
      ' exit-address-family',
      '',
    ].join('\n'),
  });
  bird = await startBird(
    nsBird,
    lab.tempDir('bird'),
    `router id 10.77.1.2;
protocol device {}
protocol static s4 { ipv4; route 10.2.0.0/24 blackhole; }
template bgp peer { hold time 9; connect delay time 1; connect retry time 2; error wait time 1, 5; ipv4 { import all; export all; }; }
protocol bgp frr from peer { local 10.77.1.2 as 65002; neighbor 10.77.1.1 as 65001; }
protocol bgp gobgp from peer { local 10.77.2.1 as 65002; neighbor 10.77.2.2 as 65003; }
`,
  );
  gobgp = await startGobgp(
    nsGobgp,
    lab.tempDir('gobgp'),
    `[global.config]
  as = 65003
  router-id = "10.77.2.2"
  local-address-list = ["10.77.2.2", "10.77.3.1"]
${['10.77.2.1:65002', '10.77.3.2:65004']
  .map((p) => {
    const [addr, asn] = p.split(':');
    return `[[neighbors]]
  [neighbors.config]
    neighbor-address = "${addr}"
    peer-as = ${asn}
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
    connect-retry = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
`;
  })
  .join('')}`,
  );
  await gobgp.gobgp(['global', 'rib', 'add', '10.3.0.0/24', '-a', 'ipv4']);
  exa = await startExabgp(
    nsExa,
    lab.tempDir('exa'),
    ['10.77.3.1:10.77.3.2:65003', '10.77.4.1:10.77.4.2:65001']
      .map((p) => {
        const [peer, local, asn] = p.split(':');
        return `neighbor ${peer} {
  router-id 10.77.3.2;
  local-address ${local};
  local-as 65004;
  peer-as ${asn};
  hold-time 9;
  family { ipv4 unicast; }
  api { processes [ harness ]; }
}
`;
      })
      .join('\n'),
  );
});

afterAll(async () => {
  await lab.teardown();
});

describe('harness smoke: four reference daemons in namespaces', () => {
  it('establishes every session in the ring', async () => {
    await until(async () => (await frr.neighborState('10.77.1.2')) === 'Established', {
      timeout: 60_000,
      what: 'FRR–BIRD Established',
    });
    await until(async () => (await frr.neighborState('10.77.4.2')) === 'Established', {
      timeout: 60_000,
      what: 'FRR–ExaBGP Established',
    });
    await until(async () => (await bird.protocolInfo('gobgp')).includes('Established'), {
      timeout: 60_000,
      what: 'BIRD–GoBGP Established',
    });
    await until(async () => (await gobgp.neighborState('10.77.3.2')) === 'established', {
      timeout: 60_000,
      what: 'GoBGP–ExaBGP Established',
    });
  });

  it('propagates routes around the ring and FRR installs them into its namespace kernel via zebra', async () => {
    await exa.command('announce route 10.4.0.0/24 next-hop self community [65004:1]');
    // BIRD learns FRR's network and GoBGP's route.
    await until(async () => (await bird.birdc('show route 10.1.0.0/24')).includes('10.77.1.1'), {
      what: 'BIRD has 10.1.0.0/24 from FRR',
    });
    await until(async () => (await bird.birdc('show route 10.3.0.0/24')).includes('10.77.2.2'), {
      what: 'BIRD has 10.3.0.0/24 from GoBGP',
    });
    // GoBGP learns ExaBGP's scripted route.
    await until(async () => (await gobgp.gobgp(['global', 'rib', '-a', 'ipv4'])).includes('10.4.0.0/24'), {
      what: 'GoBGP has 10.4.0.0/24 from ExaBGP',
    });
    // FRR installs BIRD's static route and ExaBGP's route in the kernel of its namespace.
    const route2 = await until(
      async () => {
        const out = await nsFrr.ip(['route', 'show', '10.2.0.0/24']);
        return out.includes('proto bgp') && out;
      },
      { what: 'kernel route 10.2.0.0/24 in the FRR namespace' },
    );
    expect(route2).toContain('via 10.77.1.2');
    const route4 = await until(
      async () => {
        const out = await nsFrr.ip(['route', 'show', '10.4.0.0/24']);
        return out.includes('proto bgp') && out;
      },
      { what: 'kernel route 10.4.0.0/24 in the FRR namespace' },
    );
    expect(route4).toContain('via 10.77.4.2');
  });

  it('removes a withdrawn route from FRR and from the FRR namespace kernel', async () => {
    await exa.command('withdraw route 10.4.0.0/24 next-hop self');
    await until(
      async () => {
        const rib = await frr.vtyshJson<{ routes?: Record<string, unknown> }>('show bgp ipv4 unicast json');
        const path = rib.routes?.['10.4.0.0/24'] as { aspath?: { string?: string } }[] | undefined;
        // Still reachable the long way round (GoBGP → BIRD → FRR) is fine; the direct ExaBGP path must be gone.
        return !path?.some((p) => p.aspath?.string === '65004');
      },
      { what: 'FRR drops the direct path to 10.4.0.0/24' },
    );
    await until(async () => !(await nsFrr.ip(['route', 'show', '10.4.0.0/24'])).includes('via 10.77.4.2'), {
      what: 'kernel route via ExaBGP gone',
    });
  });

  it('pausing a daemon (SIGSTOP) makes its peer drop the session on hold-timer expiry', async () => {
    bird.daemon.pause();
    try {
      await until(async () => (await frr.neighborState('10.77.1.2')) !== 'Established', {
        timeout: 20_000,
        what: 'FRR notices BIRD is silent',
      });
    } finally {
      bird.daemon.resume();
    }
    await until(async () => (await frr.neighborState('10.77.1.2')) === 'Established', {
      timeout: 60_000,
      what: 'FRR–BIRD re-established',
    });
  });
});
