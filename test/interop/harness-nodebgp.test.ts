/**
 * The nodebgp launcher of the harness, against FRR: `startNodebgp` writes the YAML, runs bin/nodebgp in its
 * namespace, and its CLI wrapper sees the session and FRR's route; FRR sees nodebgp's pod subnet.
 * Skipped (with the reason in the test name) when bin/nodebgp has not been built.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, nodebgpAvailable, startFrr, startNodebgp, until } from './harness/index.js';
import type { Frr, Nodebgp } from './harness/index.js';

const available = nodebgpAvailable();
const lab = new Lab();
let frr: Frr;
let nb: Nodebgp;

describe.skipIf(!available)('harness: nodebgp launcher against FRR (needs npm run build)', () => {
  beforeAll(async () => {
    const nsFrr = lab.namespace('frr');
    const nsNb = lab.namespace('nb');
    lab.link(nsFrr, nsNb, { a: ['10.77.0.1/24'], b: ['10.77.0.2/24'] });
    frr = await startFrr(nsFrr, lab.tempDir('frr'), {
      bgpd: [
        'router bgp 65001',
        ' bgp router-id 10.77.0.1',
        ' no bgp ebgp-requires-policy',
        ' no bgp network import-check',
        ' neighbor 10.77.0.2 remote-as 65002',
        ' neighbor 10.77.0.2 timers 3 9',
        ' neighbor 10.77.0.2 timers connect 1',
        ' address-family ipv4 unicast',
        '  network 10.0.1.0/24',
        ' exit-address-family',
        '',
      ].join('\n'),
    });
    nb = await startNodebgp(nsNb, lab.tempDir('nb'), {
      asn: 65002,
      routerId: '10.77.0.2',
      listen: { address: '10.77.0.2', port: 179 },
      node: { address: '10.77.0.2', podCIDRs: ['10.244.2.0/24'] },
      peers: [{ address: '10.77.0.1', asn: 65001, holdTime: 9, passive: false }],
      kernel: { enabled: false },
    });
  });

  afterAll(async () => {
    await lab.teardown();
  });

  it('reaches Established and exchanges routes both ways', async () => {
    await until(async () => (await nb.neighbors()).some((n) => n.state === 'Established'), {
      timeout: 60_000,
      what: `nodebgp Established with FRR (log: ${nb.daemon.logFile})`,
    });
    const route = await until(async () => (await nb.routes()).find((r) => r.prefix === '10.0.1.0/24'), {
      what: 'nodebgp learns 10.0.1.0/24 from FRR',
    });
    expect(route.asPath).toBe('65001');
    await until(async () => (await frr.vtysh('show bgp ipv4 unicast 10.244.2.0/24')).includes('65002'), {
      what: 'FRR learns 10.244.2.0/24 from nodebgp',
    });
  });
});

afterAll(async () => {
  await lab.teardown();
});
