/**
 * nodebgp as the route reflector of 200 simulated clients (bench/lib/many-peers-sim.mjs: one process, one
 * address per client, hand-encoded) and two real FRR clients, all iBGP in AS 65000 (issue 13): every client
 * holds every other client's route with ORIGINATOR_ID = the originating client and our CLUSTER_LIST, no route
 * goes back to its originator, and a client's withdrawal reaches every other client — simulated or FRR.
 *
 *   simulator 10.89.0.1 (clients 10.90.1.0 …, a `local` route on lo) ── 10.89.0.2 ┐
 *   FRR a 10.91.1.1 (10.1.1.0/24) ───────────────────────────────────── 10.91.1.2 ├ nodebgp (RR, cluster 10.89.0.2)
 *   FRR b 10.91.2.1 (10.1.2.0/24) ───────────────────────────────────── 10.91.2.2 ┘
 *
 * Needs root and `npm run build` (the harness runs dist/).
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, nodebgpAvailable, startFrr, startNodebgp, until } from './harness/index.js';
import type { Frr, Nodebgp } from './harness/index.js';

const SIM = join(import.meta.dirname, '..', '..', 'bench', 'lib', 'many-peers-sim.mjs');
const N = 200;
const ASN = 65000;
const NB = '10.89.0.2';
const FIRST = [10, 90, 1, 0];
const clientAddress = (i: number): string => {
  const n = ((FIRST[0]! << 24) | (FIRST[1]! << 16) | (FIRST[2]! << 8) | FIRST[3]!) + i;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
};
const clientRoute = (i: number): string => `11.${i >> 8}.${i & 255}.0/24`;
const FRRS = [
  { name: 'a', address: '10.91.1.1', nb: '10.91.1.2', route: '10.1.1.0/24' },
  { name: 'b', address: '10.91.2.1', nb: '10.91.2.2', route: '10.1.2.0/24' },
] as const;

interface SimEvent {
  readonly event: string;
  readonly [k: string]: unknown;
}
interface FrrPath {
  readonly originatorId?: string;
  readonly clusterList?: { readonly list?: readonly string[] };
  readonly peer?: { readonly peerId?: string };
}
interface FrrRib {
  readonly routes?: Record<string, FrrPath[]>;
}

const lab = new Lab();
let nb: Nodebgp;
const frrs: Frr[] = [];
let sim: ChildProcess;
const events: SimEvent[] = [];

/** The next simulator event of a kind after `from`. */
const simEvent = (name: string, from: number, timeout = 30_000): Promise<SimEvent> =>
  until(() => events.slice(from).find((e) => e.event === name), {
    timeout,
    interval: 20,
    what: `simulator ${name}`,
    failIf: () => (sim.exitCode !== null ? 'simulator exited' : undefined),
  });
async function stats(): Promise<Record<string, number>> {
  const from = events.length;
  sim.stdin?.write('stats\n');
  return (await simEvent('stats', from)) as unknown as Record<string, number>;
}
const frrRib = async (f: Frr): Promise<Record<string, FrrPath[]>> =>
  (await f.vtyshJson<FrrRib>('show bgp ipv4 unicast json')).routes ?? {};

describe.skipIf(!nodebgpAvailable())('route reflector: 200 simulated clients and two FRR clients', () => {
  beforeAll(async () => {
    const nsSim = lab.namespace('sim');
    const nsNb = lab.namespace('rr');
    lab.link(nsSim, nsNb, { a: ['10.89.0.1/24'], b: [`${NB}/24`] });
    nsSim.ipSync('route', 'add', 'local', '10.90.0.0/16', 'dev', 'lo', 'table', 'local');
    nsNb.ipSync('route', 'add', '10.90.0.0/16', 'via', '10.89.0.1');
    for (const f of FRRS) {
      const ns = lab.namespace(`frr${f.name}`);
      lab.link(ns, nsNb, { a: [`${f.address}/24`], b: [`${f.nb}/24`] });
      frrs.push(
        await startFrr(ns, lab.tempDir(`frr${f.name}`), {
          withZebra: false,
          bgpd: [
            `router bgp ${ASN}`,
            ` bgp router-id ${f.address}`,
            ' no bgp network import-check',
            ` neighbor ${f.nb} remote-as ${ASN}`,
            ` neighbor ${f.nb} timers 3 9`,
            ` neighbor ${f.nb} timers connect 1`,
            ' address-family ipv4 unicast',
            `  network ${f.route}`,
            ' exit-address-family',
            '',
          ].join('\n'),
        }),
      );
    }
    nb = await startNodebgp(nsNb, lab.tempDir('rr'), {
      asn: ASN,
      routerId: NB,
      listen: { address: '0.0.0.0', port: 179 },
      node: { address: NB, podCIDRs: [] },
      peers: [
        ...FRRS.map((f) => ({
          address: f.address,
          asn: ASN,
          localAddress: f.nb,
          holdTime: 9,
          connectRetryTime: 1,
          routeReflectorClient: true,
        })),
        ...Array.from({ length: N }, (_, i) => ({
          address: clientAddress(i),
          asn: ASN,
          holdTime: 90,
          passive: true,
          routeReflectorClient: true,
        })),
      ],
      importPrefixes: [{ prefix: '0.0.0.0/0', le: 32 }],
      kernel: { enabled: false },
    });
    sim = nsSim.spawn(
      process.execPath,
      [
        SIM,
        '--peer',
        NB,
        '--first',
        clientAddress(0),
        '--count',
        String(N),
        '--asn',
        String(ASN),
        '--cluster-id',
        NB,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let rest = '';
    sim.stdout?.setEncoding('utf8');
    sim.stdout?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) events.push(JSON.parse(l) as SimEvent);
    });
    await simEvent('converged', 0, 60_000);
  }, 90_000);

  afterAll(async () => {
    sim?.stdin?.end();
    await lab.teardown();
  });

  it('every simulated client holds the other 199 routes and both FRR routes, reflected, none of its own', async () => {
    await until(async () => (await stats()).othersMin === FRRS.length, {
      timeout: 30_000,
      what: 'FRR routes at every client',
    });
    const s = await stats();
    expect(s.established).toBe(N);
    expect(s.heldTotal).toBe(N * (N - 1));
    expect(s.backToOriginator).toBe(0);
    expect(s.missingOriginatorId).toBe(0);
    expect(s.badOriginatorId).toBe(0);
    expect(s.missingClusterList).toBe(0);
    expect(s.badClusterList).toBe(0);
    expect(s.resets).toBe(0);
  });

  it("FRR gets every client's route with ORIGINATOR_ID and CLUSTER_LIST, and never its own back", async () => {
    for (const [k, f] of frrs.entries()) {
      const other = FRRS[1 - k]!;
      const rib = await until(
        async () => {
          const r = await frrRib(f);
          return Object.keys(r).length >= N + 2 ? r : undefined;
        },
        { timeout: 30_000, what: `FRR ${FRRS[k]!.name}: ${N} reflected routes` },
      );
      for (const [prefix, originator] of [
        ...[0, 57, N - 1].map((i) => [clientRoute(i), clientAddress(i)] as const),
        [other.route, other.address] as const,
      ]) {
        const detail = await f.vtyshJson<{ paths?: FrrPath[] }>(`show bgp ipv4 unicast ${prefix} json`);
        const path = detail.paths?.[0];
        expect(path?.originatorId, JSON.stringify(detail)).toBe(originator);
        expect(path?.clusterList?.list).toEqual([NB]);
      }
      // Its own network: only its local path, nothing from the reflector.
      const own = rib[FRRS[k]!.route]!;
      expect(own.filter((p) => p.peer?.peerId === FRRS[k]!.nb)).toEqual([]);
    }
    const views = await nb.neighbors();
    expect(views.filter((v) => v.state === 'Established')).toHaveLength(N + FRRS.length);
  });

  it("a simulated client's withdrawal reaches every other client, FRR included", async () => {
    const from = events.length;
    sim.stdin?.write('withdraw 7\n');
    await simEvent('withdrawn', from);
    for (const f of frrs)
      await until(async () => !(clientRoute(7) in (await frrRib(f))), {
        timeout: 20_000,
        what: `FRR without ${clientRoute(7)}`,
      });
  });

  it("an FRR client's withdrawal reaches every simulated client and the other FRR", async () => {
    await frrs[0]!.vtysh(
      'configure terminal',
      `router bgp ${ASN}`,
      'address-family ipv4 unicast',
      `no network ${FRRS[0].route}`,
    );
    await until(async () => (await stats()).othersMax === FRRS.length - 1, {
      timeout: 20_000,
      what: `${FRRS[0].route} gone from every simulated client`,
    });
    await until(async () => !(FRRS[0].route in (await frrRib(frrs[1]!))), {
      timeout: 20_000,
      what: `${FRRS[0].route} gone from FRR b`,
    });
    const s = await stats();
    expect(s.backToOriginator).toBe(0);
    expect(s.resets).toBe(0);
  });
});
