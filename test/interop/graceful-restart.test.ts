/**
 * Graceful restart end to end (RFC 4724, RFC 8538), against real FRR and BIRD in namespaces. A "pod" address
 * behind nodebgp and one behind the peer (on lo, announced), a ping every 20 ms between them for the whole of
 * each scenario, and `ip monitor route` in both kernels:
 *
 *   peer (AS 65001) 10.8x.0.1/24, pod 10.24x.1.1 on lo ── nodebgp (AS 65002) 10.8x.0.2/24, pod 10.244.x.1 on lo
 *
 * - nodebgp SIGTERM then start, and SIGKILL then start: 0 pings lost, learned routes never deleted in either
 *   kernel (the kernel keeps ours, the peer keeps our stale routes until our End-of-RIB).
 * - FRR's bgpd SIGKILLed and started again: 0 lost, nothing deleted in our kernel (we are its helper).
 * - FRR's bgpd never comes back: its routes go from our kernel after its restart time (10 s).
 * - `nodebgp shutdown --withdraw`: Hard Reset, our routes withdrawn at once in the peer's kernel, ours removed.
 * - GoBGP (graceful restart with the N bit) and another nodebgp: SIGTERM and start, 0 lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeerStatus } from '../../bgp/api.js';
import {
  Daemon,
  Frr,
  frrArgs,
  Lab,
  NODEBGP_BIN,
  nodebgpAvailable,
  run,
  startBird,
  startFrr,
  startGobgp,
  startNodebgp,
  until,
} from './harness/index.js';
import type { Bird, Gobgp, Netns, Nodebgp, NodebgpConfig } from './harness/index.js';

/** `ping -i 0.02` from one address to another inside a namespace; `stop()` gives what was lost. */
function continuousPing(
  ns: Netns,
  from: string,
  to: string,
): { stop(): Promise<{ sent: number; lost: number }> } {
  const child = ns.spawn('ping', ['-n', '-i', '0.02', '-W', '1', '-I', from, to], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    async stop() {
      // Let the last echo come back before the summary is printed.
      await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGINT');
      await exited;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      if (!m) throw new Error(`no ping summary: ${out.slice(-500)}`);
      return { sent: Number(m[1]), lost: Number(m[1]) - Number(m[2]) };
    },
  };
}

/** `ip monitor route` in a namespace: the prefixes whose routes the kernel deleted (a flap shows here). */
function deletions(ns: Netns): { stop(): string[] } {
  const child: ChildProcess = spawn('ip', ['-n', ns.name, 'monitor', 'route'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const deleted: string[] = [];
  let buf = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (buf + chunk.toString('utf8')).split('\n');
    buf = lines.pop() ?? '';
    for (const line of lines)
      if (line.startsWith('Deleted ') && !line.includes(' table local ')) deleted.push(line.split(' ')[1]!);
  });
  return {
    stop() {
      child.kill('SIGKILL');
      return deleted;
    },
  };
}

const routeIn = (ns: Netns, prefix: string): string => ns.ipSync('route', 'show', prefix).trim();
const ourRoutes = (ns: Netns): string => ns.ipSync('route', 'show', 'proto', '202').trim();

/** FRR's bgpd alone, started again next to the running zebra (as peers.test.ts does). */
function spawnBgpd(ns: Netns, dir: string): Daemon {
  return new Daemon(
    'bgpd',
    ns,
    dir,
    ns.spawn('/usr/lib/frr/bgpd', frrArgs(dir, 'bgpd', join(dir, 'zserv.api')), {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

const available = nodebgpAvailable();
const figures: string[] = [];

interface Setup {
  readonly lab: Lab;
  readonly nsNb: Netns;
  readonly nsPeer: Netns;
  readonly config: NodebgpConfig;
  readonly nbDir: string;
  /** Our pod address and the peer's. */
  readonly pod: string;
  readonly peerPod: string;
  /** The route to the peer's pod as our kernel shows it (the peer announces its pod address or its /24). */
  readonly peerRoute: string;
  readonly podCidr: string;
  readonly peerAddr: string;
}

function setup(net: number, peerPod: string, label: string, peerRoute = peerPod): Setup {
  const lab = new Lab();
  const nsPeer = lab.namespace(label);
  const nsNb = lab.namespace('nb');
  const peerAddr = `10.${net}.0.1`;
  lab.link(nsPeer, nsNb, { a: [`${peerAddr}/24`], b: [`10.${net}.0.2/24`] });
  const pod = `10.244.${net}.1`;
  const podCidr = `10.244.${net}.0/24`;
  nsNb.ipSync('addr', 'add', `${pod}/32`, 'dev', 'lo');
  nsPeer.ipSync('addr', 'add', `${peerPod}/32`, 'dev', 'lo');
  const config: NodebgpConfig = {
    asn: 65002,
    routerId: `10.${net}.0.2`,
    listen: { address: `10.${net}.0.2`, port: 179 },
    node: { address: `10.${net}.0.2`, podCIDRs: [podCidr] },
    peers: [{ address: peerAddr, asn: 65001, holdTime: 9, connectRetryTime: 1 }],
    gracefulRestart: { restartTime: 30, selectionDeferralTime: 10 },
    kernel: { enabled: true },
    log: { level: 'debug' },
  };
  return { lab, nsNb, nsPeer, config, nbDir: lab.tempDir('nb'), pod, peerPod, peerRoute, podCidr, peerAddr };
}

/** Up and routing both ways: our route to the peer's pod in our kernel, the peer's to ours in its kernel. */
async function routing(s: Setup, nb: Nodebgp): Promise<void> {
  await until(
    async () => (await nb.neighbors()).find((n) => n.address === s.peerAddr)?.state === 'Established',
    { timeout: 30_000, what: 'nodebgp Established' },
  );
  await until(() => ourRoutes(s.nsNb).includes(s.peerRoute), {
    timeout: 20_000,
    what: 'peer pod in our kernel',
  });
  await until(() => routeIn(s.nsPeer, s.podCidr) !== '', {
    timeout: 20_000,
    what: 'our pod in the peer kernel',
  });
}

/** A restart of ours is done once the deferral is over (our tables sent) and nothing is stale any more. */
async function settled(s: Setup, nb: Nodebgp): Promise<void> {
  await routing(s, nb);
  await until(() => nb.daemon.log().includes('graceful-restart-deferral-over'), {
    timeout: 20_000,
    what: 'selection deferral over',
  });
  await until(async () => (await nb.routes()).every((r) => r.stale !== true), {
    timeout: 20_000,
    what: 'no stale paths',
  });
  await new Promise((r) => setTimeout(r, 500)); // the peer sweeps its stale copies of ours at our End-of-RIB
}

/** One scenario under a continuous ping and both kernels' monitors. */
async function measured(
  s: Setup,
  what: string,
  scenario: () => Promise<void>,
): Promise<{ lost: number; sent: number; deletedHere: string[]; deletedThere: string[] }> {
  const mine = deletions(s.nsNb);
  const theirs = deletions(s.nsPeer);
  await new Promise((r) => setTimeout(r, 200)); // the monitors subscribe
  const ping = continuousPing(s.nsNb, s.pod, s.peerPod);
  await new Promise((r) => setTimeout(r, 300));
  await scenario();
  const { sent, lost } = await ping.stop();
  const result = { sent, lost, deletedHere: mine.stop(), deletedThere: theirs.stop() };
  figures.push(`${what}: ${lost} of ${sent} pings lost (20 ms apart)`);
  return result;
}

afterAll(() => {
  if (figures.length > 0) console.log(`[graceful-restart]\n  ${figures.join('\n  ')}`);
});

describe.skipIf(!available)('graceful restart against FRR', () => {
  const s = setup(81, '10.245.81.1', 'frr');
  let frr: Frr;
  let nb: Nodebgp;
  const frrDir = s.lab.tempDir('frr');
  const bgpd = [
    'router bgp 65001',
    ' bgp router-id 10.81.0.1',
    ' no bgp ebgp-requires-policy',
    // The pod route valid from the config on: with the import check a restarted bgpd can send End-of-RIB
    // before zebra has confirmed the address, and End-of-RIB sweeps what was not sent again.
    ' no bgp network import-check',
    ' bgp graceful-restart',
    // 10 s: long enough for a restarted bgpd to be back on a loaded CI machine (at 5 s it was not always).
    ' bgp graceful-restart restart-time 10',
    // F bit on its restart: without it RFC 4724 §4.2 has us flush its stale routes when it is back.
    ' bgp graceful-restart preserve-fw-state',
    ' neighbor 10.81.0.2 remote-as 65002',
    ' neighbor 10.81.0.2 timers 3 9',
    ' neighbor 10.81.0.2 timers connect 1',
    ' address-family ipv4 unicast',
    `  network ${s.peerPod}/32`,
    ' exit-address-family',
    '',
  ].join('\n');
  const peerNeighbor = async (): Promise<PeerStatus | undefined> =>
    (await nb.neighbors()).find((n) => n.address === s.peerAddr);

  beforeAll(async () => {
    frr = await startFrr(s.nsPeer, frrDir, { bgpd });
    nb = await startNodebgp(s.nsNb, s.nbDir, s.config);
    await routing(s, nb);
  }, 60_000);

  afterAll(async () => {
    await s.lab.teardown();
  });

  it('negotiates graceful restart with the N bit both ways', async () => {
    const gr = (await peerNeighbor())?.gracefulRestart;
    expect(gr).toMatchObject({ restartTime: 30, peer: { restartTime: 10, notification: true } });
  });

  it('nodebgp SIGTERM, then start: 0 lost, no learned route deleted in either kernel', async () => {
    const r = await measured(s, 'FRR: nodebgp SIGTERM, then start', async () => {
      await nb.stop();
      expect(ourRoutes(s.nsNb)).toContain(s.peerPod);
      expect(routeIn(s.nsPeer, s.podCidr)).not.toBe('');
      nb = await startNodebgp(s.nsNb, s.nbDir, s.config);
      await settled(s, nb);
    });
    expect(r.deletedHere).not.toContain(s.peerPod);
    expect(r.deletedThere).not.toContain(s.podCidr);
    expect(r.lost).toBe(0);
  }, 60_000);

  it('nodebgp SIGKILL, then start: the same', async () => {
    const r = await measured(s, 'FRR: nodebgp SIGKILL, then start', async () => {
      nb.daemon.kill();
      await nb.daemon.exited;
      nb = await startNodebgp(s.nsNb, s.nbDir, s.config);
      await settled(s, nb);
    });
    expect(r.deletedHere).not.toContain(s.peerPod);
    expect(r.deletedThere).not.toContain(s.podCidr);
    expect(r.lost).toBe(0);
  }, 60_000);

  it("FRR's bgpd SIGKILL, then start: we help, nothing deleted in our kernel", async () => {
    const r = await measured(s, 'FRR: bgpd SIGKILL, then start (nodebgp helps)', async () => {
      frr.bgpd.kill();
      await frr.bgpd.exited;
      await until(async () => (await peerNeighbor())?.gracefulRestart?.state === 'restarting', {
        timeout: 15_000,
        what: 'helper: restarting',
      });
      expect((await nb.routes()).find((x) => x.prefix === `${s.peerPod}/32`)?.stale).toBe(true);
      const killed = Date.now();
      frr = new Frr(s.nsPeer, frrDir, spawnBgpd(s.nsPeer, frrDir), frr.zebra, undefined);
      await routing(s, nb);
      figures.push(
        `FRR: bgpd started again and Established ${Date.now() - killed} ms after (restart time 10 s)`,
      );
      await until(async () => (await peerNeighbor())?.gracefulRestart?.state === undefined, {
        timeout: 20_000,
        what: 'stale swept at End-of-RIB',
      });
    });
    if (r.deletedHere.includes(s.peerPod))
      console.log(
        nb.daemon
          .log()
          .split('\n')
          .filter((l) => /graceful-restart|end-of-rib|peer-state|fib-route/.test(l))
          .slice(-30)
          .join('\n'),
      );
    expect(r.deletedHere).not.toContain(s.peerPod);
    expect(r.lost).toBe(0);
  }, 60_000);

  it("FRR's bgpd never comes back: its routes go after its restart time (10 s)", async () => {
    frr.bgpd.kill();
    await frr.bgpd.exited;
    const t0 = Date.now();
    await until(() => !ourRoutes(s.nsNb).includes(s.peerPod), {
      timeout: 20_000,
      interval: 50,
      what: 'stale route removed',
    });
    const took = Date.now() - t0;
    figures.push(`FRR: bgpd gone for good, its route left our kernel after ${took} ms (restart time 10 s)`);
    expect(took).toBeGreaterThan(9_000);
    expect(took).toBeLessThan(13_000);
    frr = new Frr(s.nsPeer, frrDir, spawnBgpd(s.nsPeer, frrDir), frr.zebra, undefined);
    await routing(s, nb);
  }, 60_000);

  it('nodebgp shutdown --withdraw: Hard Reset, our routes withdrawn at once everywhere', async () => {
    const asked = Date.now();
    await run([process.execPath, NODEBGP_BIN, 'shutdown', '--withdraw', '--socket', nb.socket]);
    // From the daemon's answer (the CLI's own start-up, a node process, is not the daemon's time).
    const t0 = Date.now();
    await until(() => routeIn(s.nsPeer, s.podCidr) === '', {
      timeout: 5_000,
      interval: 20,
      what: 'withdrawn',
    });
    const took = Date.now() - t0;
    figures.push(
      `FRR: shutdown --withdraw, our pod CIDR left FRR's kernel ${took} ms after the daemon answered ` +
        `(${Date.now() - asked} ms after the CLI started)`,
    );
    expect(took).toBeLessThan(1_000);
    await nb.daemon.exited;
    expect(ourRoutes(s.nsNb)).toBe('');
    expect(nb.daemon.log()).toContain('"hardReset":true');
  }, 30_000);
});

describe.skipIf(!available)('graceful restart against BIRD', () => {
  const s = setup(82, '10.245.82.1', 'bird');
  let bird: Bird;
  let nb: Nodebgp;
  const conf = `router id 10.82.0.1;
protocol device {}
protocol kernel { ipv4 { export where source = RTS_BGP; }; }
protocol static s4 { ipv4; route ${s.peerPod}/32 blackhole; }
protocol bgp nb {
  local 10.82.0.1 as 65001;
  neighbor 10.82.0.2 as 65002;
  hold time 9; keepalive time 3; connect delay time 1; connect retry time 2; error wait time 1, 5;
  graceful restart on;
  ipv4 { import all; export where source = RTS_STATIC; };
}
`;

  beforeAll(async () => {
    bird = await startBird(s.nsPeer, s.lab.tempDir('bird'), conf);
    nb = await startNodebgp(s.nsNb, s.nbDir, s.config);
    await routing(s, nb);
  }, 60_000);

  afterAll(async () => {
    void bird;
    await s.lab.teardown();
  });

  it('nodebgp SIGTERM, then start: 0 lost, no learned route deleted in either kernel', async () => {
    const r = await measured(s, 'BIRD: nodebgp SIGTERM, then start', async () => {
      await nb.stop();
      expect(ourRoutes(s.nsNb)).toContain(s.peerPod);
      nb = await startNodebgp(s.nsNb, s.nbDir, s.config);
      await settled(s, nb);
    });
    expect(r.deletedHere).not.toContain(s.peerPod);
    expect(r.deletedThere).not.toContain(s.podCidr);
    expect(r.lost).toBe(0);
  }, 60_000);
});

describe.skipIf(!available)('graceful restart against GoBGP', () => {
  const s = setup(83, '10.245.83.1', 'gobgp');
  let g: Gobgp;
  let nb: Nodebgp;
  const toml = `[global.config]
  as = 65001
  router-id = "10.83.0.1"
  local-address-list = ["10.83.0.1"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.83.0.2"
    peer-as = 65002
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
    connect-retry = 1
  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = 30
    notification-enabled = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
`;
  const ours = async () =>
    `${s.podCidr}` in (await g.gobgpJson<Record<string, unknown>>(['global', 'rib', '-a', 'ipv4']));

  beforeAll(async () => {
    g = await startGobgp(s.nsPeer, s.lab.tempDir('gobgp'), toml);
    await g.gobgp(['global', 'rib', 'add', `${s.peerPod}/32`, '-a', 'ipv4']);
    // GoBGP installs nothing in its kernel: the way back to our pod is a static route there.
    s.nsPeer.ipSync('route', 'add', s.podCidr, 'via', '10.83.0.2');
    nb = await startNodebgp(s.nsNb, s.nbDir, s.config);
    await routing(s, nb);
    await until(ours, { timeout: 20_000, what: 'GoBGP has our pod CIDR' });
  }, 60_000);

  afterAll(async () => {
    await s.lab.teardown();
  });

  it('nodebgp SIGTERM, then start: 0 lost, GoBGP keeps our route, none deleted in our kernel', async () => {
    const r = await measured(s, 'GoBGP: nodebgp SIGTERM, then start', async () => {
      await nb.stop();
      expect(ourRoutes(s.nsNb)).toContain(s.peerPod);
      await new Promise((r) => setTimeout(r, 300));
      expect(await ours()).toBe(true);
      nb = await startNodebgp(s.nsNb, s.nbDir, s.config);
      await settled(s, nb);
    });
    expect(r.deletedHere).not.toContain(s.peerPod);
    expect(await ours()).toBe(true);
    expect(r.lost).toBe(0);
  }, 60_000);
});

describe.skipIf(!available)('graceful restart between two nodebgp', () => {
  // The "peer" is another nodebgp (AS 65001) with the peer pod's /24 as its pod CIDR.
  const s = setup(84, '10.245.84.1', 'nbpeer', '10.245.84.0/24');
  let other: Nodebgp;
  let nb: Nodebgp;
  const otherConfig: NodebgpConfig = {
    asn: 65001,
    routerId: '10.84.0.1',
    listen: { address: '10.84.0.1', port: 179 },
    node: { address: '10.84.0.1', podCIDRs: ['10.245.84.0/24'] },
    peers: [{ address: '10.84.0.2', asn: 65002, holdTime: 9, connectRetryTime: 1 }],
    gracefulRestart: { restartTime: 30, selectionDeferralTime: 10 },
    kernel: { enabled: true },
    log: { level: 'debug' },
  };
  const otherDir = s.lab.tempDir('nbpeer');

  beforeAll(async () => {
    other = await startNodebgp(s.nsPeer, otherDir, otherConfig);
    nb = await startNodebgp(s.nsNb, s.nbDir, s.config);
    await routing(s, nb);
  }, 60_000);

  afterAll(async () => {
    await s.lab.teardown();
  });

  it('each side SIGTERMed and started in turn: 0 lost, no learned route deleted in either kernel', async () => {
    const r = await measured(s, 'nodebgp vs nodebgp: each SIGTERMed and started in turn', async () => {
      await nb.stop();
      nb = await startNodebgp(s.nsNb, s.nbDir, s.config);
      await settled(s, nb);
      await other.stop();
      expect(ourRoutes(s.nsNb)).toContain(s.peerRoute);
      other = await startNodebgp(s.nsPeer, otherDir, otherConfig);
      await until(() => other.daemon.log().includes('graceful-restart-deferral-over'), {
        timeout: 20_000,
        what: 'the other side: deferral over',
      });
      await until(async () => (await nb.routes()).every((x) => x.stale !== true), {
        timeout: 20_000,
        what: 'no stale paths',
      });
    });
    expect(r.deletedHere).not.toContain(s.peerRoute);
    expect(r.deletedThere).not.toContain(s.podCidr);
    expect(r.lost).toBe(0);
  }, 90_000);
});
