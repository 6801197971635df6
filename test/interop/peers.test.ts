/**
 * nodebgp against each reference implementation (FRR, BIRD, GoBGP), one IPv4 eBGP session per peer with IPv6
 * unicast carried on it: routes both ways in both families, a withdrawal, hold-timer detection of a frozen
 * (SIGSTOPped) peer with the peer's routes flushed, and a peer restart that re-establishes the session.
 *
 *   peer (AS 65001) 10.7x.0.1/24 fd00:7x::1/64 ── nodebgp (AS 65002) 10.7x.0.2/24 fd00:7x::2/64
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeerStatus } from '../../bgp/api.js';
import {
  Daemon,
  Frr,
  frrArgs,
  Lab,
  nodebgpAvailable,
  startBird,
  startFrr,
  startGobgp,
  startNodebgp,
  until,
} from './harness/index.js';
import type { Bird, Gobgp, Netns, Nodebgp } from './harness/index.js';

const V4 = '10.1.0.0/24';
const V6 = '2001:db8:1::/48';
const POD4 = '10.244.2.0/24';
const POD6 = 'fd00:244:2::/64';

interface PeerUnderTest {
  established(): Promise<boolean>;
  /** Our two pod CIDRs as seen in the peer's RIB. */
  ours(): Promise<{ v4: boolean; v6: boolean }>;
  withdraw4(): Promise<void>;
  pause(): void;
  resume(): void;
  /** Stop the peer daemon and start it again (with its routes announced again). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

interface PeerKind {
  readonly name: string;
  readonly net: number;
  start(ns: Netns, dir: string, net: number): Promise<PeerUnderTest>;
}

function frrBgpd(net: number): string {
  return [
    'router bgp 65001',
    ` bgp router-id 10.${net}.0.1`,
    ' no bgp ebgp-requires-policy',
    ' no bgp network import-check',
    ` neighbor 10.${net}.0.2 remote-as 65002`,
    ` neighbor 10.${net}.0.2 timers 2 6`,
    ` neighbor 10.${net}.0.2 timers connect 1`,
    ' address-family ipv4 unicast',
    `  network ${V4}`,
    ' exit-address-family',
    ' address-family ipv6 unicast',
    `  neighbor 10.${net}.0.2 activate`,
    `  network ${V6}`,
    ' exit-address-family',
    '',
  ].join('\n');
}

/** FRR's bgpd alone, started again next to the running zebra (the arguments the harness launcher uses). */
function spawnBgpd(ns: Netns, dir: string): Daemon {
  const args = frrArgs(dir, 'bgpd', join(dir, 'zserv.api'));
  return new Daemon(
    'bgpd',
    ns,
    dir,
    ns.spawn('/usr/lib/frr/bgpd', args, { stdio: ['ignore', 'pipe', 'pipe'] }),
  );
}

type FrrRib = { routes?: Record<string, unknown> };

const frrKind: PeerKind = {
  name: 'FRR',
  net: 71,
  async start(ns, dir, net) {
    let frr = await startFrr(ns, dir, { bgpd: frrBgpd(net) });
    const peer = `10.${net}.0.2`;
    return {
      established: async () => (await frr.neighborState(peer)) === 'Established',
      ours: async () => {
        const r4 = await frr.vtyshJson<FrrRib>('show bgp ipv4 unicast json');
        const r6 = await frr.vtyshJson<FrrRib>('show bgp ipv6 unicast json');
        return { v4: r4.routes?.[POD4] !== undefined, v6: r6.routes?.[POD6] !== undefined };
      },
      withdraw4: async () => {
        await frr.vtysh(
          'configure terminal',
          'router bgp 65001',
          'address-family ipv4 unicast',
          `no network ${V4}`,
        );
      },
      pause: () => frr.bgpd.pause(),
      resume: () => frr.bgpd.resume(),
      restart: async () => {
        await frr.bgpd.stop();
        const bgpd = spawnBgpd(ns, dir);
        frr = new Frr(ns, dir, bgpd, frr.zebra, undefined);
        const f = frr;
        await until(async () => (await f.vtysh('show bgp summary')) !== undefined, {
          timeout: 15_000,
          interval: 100,
          what: 'bgpd vty after restart',
          failIf: () => (bgpd.running ? undefined : `bgpd exited: ${bgpd.log().slice(-2000)}`),
        });
      },
      stop: () => frr.stop(),
    };
  },
};

function birdConfig(net: number): string {
  return `router id 10.${net}.0.1;
protocol device {}
protocol static s4 { ipv4; route ${V4} blackhole; }
protocol static s6 { ipv6; route ${V6} blackhole; }
protocol bgp nb {
  local 10.${net}.0.1 as 65001;
  neighbor 10.${net}.0.2 as 65002;
  hold time 6; keepalive time 2; connect delay time 1; connect retry time 2; error wait time 1, 5;
  ipv4 { import all; export all; };
  ipv6 { import all; export all; next hop address fd00:${net}::1; };
}
`;
}

const birdKind: PeerKind = {
  name: 'BIRD',
  net: 72,
  async start(ns, dir, net) {
    let bird: Bird = await startBird(ns, dir, birdConfig(net));
    return {
      established: async () => (await bird.protocolInfo('nb')).includes('Established'),
      ours: async () => {
        const out = await bird.birdc('show route protocol nb');
        return { v4: out.includes(POD4), v6: out.includes(POD6) };
      },
      withdraw4: async () => {
        await bird.birdc('disable s4');
      },
      pause: () => bird.daemon.pause(),
      resume: () => bird.daemon.resume(),
      restart: async () => {
        await bird.stop();
        bird = await startBird(ns, dir, birdConfig(net));
      },
      stop: () => bird.stop(),
    };
  },
};

function gobgpToml(net: number): string {
  return `[global.config]
  as = 65001
  router-id = "10.${net}.0.1"
  local-address-list = ["10.${net}.0.1"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.${net}.0.2"
    peer-as = 65002
  [neighbors.timers.config]
    hold-time = 6
    keepalive-interval = 2
    connect-retry = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
`;
}

const gobgpKind: PeerKind = {
  name: 'GoBGP',
  net: 73,
  async start(ns, dir, net) {
    const launch = async (): Promise<Gobgp> => {
      const g = await startGobgp(ns, dir, gobgpToml(net));
      await g.gobgp(['global', 'rib', 'add', V4, '-a', 'ipv4']);
      await g.gobgp(['global', 'rib', 'add', V6, 'nexthop', `fd00:${net}::1`, '-a', 'ipv6']);
      return g;
    };
    let g = await launch();
    const peer = `10.${net}.0.2`;
    return {
      established: async () => (await g.neighborState(peer)) === 'established',
      ours: async () => {
        const r4 = await g.gobgpJson<Record<string, unknown>>(['global', 'rib', '-a', 'ipv4']);
        const r6 = await g.gobgpJson<Record<string, unknown>>(['global', 'rib', '-a', 'ipv6']);
        return { v4: POD4 in r4, v6: POD6 in r6 };
      },
      withdraw4: async () => {
        await g.gobgp(['global', 'rib', 'del', V4, '-a', 'ipv4']);
      },
      pause: () => g.daemon.pause(),
      resume: () => g.daemon.resume(),
      restart: async () => {
        await g.stop();
        g = await launch();
      },
      stop: () => g.stop(),
    };
  },
};

const available = nodebgpAvailable();

describe.skipIf(!available).each([frrKind, birdKind, gobgpKind])('nodebgp against $name', (kind) => {
  const lab = new Lab();
  const net = kind.net;
  const peerAddr = `10.${net}.0.1`;
  const peerAddr6 = `fd00:${net}::1`;
  let peer: PeerUnderTest;
  let nb: Nodebgp;

  const neighbor = async (): Promise<PeerStatus | undefined> =>
    (await nb.neighbors()).find((n) => n.address === peerAddr);
  const established = async (): Promise<PeerStatus | false> => {
    const n = await neighbor();
    return n?.state === 'Established' ? n : false;
  };
  const peerRoutes = async (prefix: string) =>
    (await nb.routes()).filter((r) => r.prefix === prefix && r.peer === peerAddr);

  beforeAll(async () => {
    const nsPeer = lab.namespace(kind.name.toLowerCase());
    const nsNb = lab.namespace('nb');
    lab.link(nsPeer, nsNb, {
      a: [`${peerAddr}/24`, `${peerAddr6}/64`],
      b: [`10.${net}.0.2/24`, `fd00:${net}::2/64`],
    });
    peer = await kind.start(nsPeer, lab.tempDir(kind.name.toLowerCase()), net);
    nb = await startNodebgp(nsNb, lab.tempDir('nb'), {
      asn: 65002,
      routerId: `10.${net}.0.2`,
      listen: { address: `10.${net}.0.2`, port: 179 },
      node: { address: `10.${net}.0.2`, address6: `fd00:${net}::2`, podCIDRs: [POD4, POD6] },
      peers: [{ address: peerAddr, asn: 65001, holdTime: 6, passive: false }],
      kernel: { enabled: false },
    });
  });

  afterAll(async () => {
    await lab.teardown();
  });

  it('establishes the session (both views)', async () => {
    await until(established, { timeout: 30_000, what: `nodebgp Established with ${kind.name}` });
    await until(() => peer.established(), { timeout: 15_000, what: `${kind.name} sees Established` });
  });

  it("learns the peer's IPv4 and IPv6 prefixes with the right next hops", async () => {
    const r4 = await until(async () => (await peerRoutes(V4))[0], { what: `${V4} from ${kind.name}` });
    expect(r4.nexthops).toContain(peerAddr);
    expect(r4.asPath).toBe('65001');
    const r6 = await until(async () => (await peerRoutes(V6))[0], { what: `${V6} from ${kind.name}` });
    expect(r6.nexthops).toContain(peerAddr6);
  });

  it('advertises both pod CIDRs into the peer RIB', async () => {
    await until(
      async () => {
        const o = await peer.ours();
        return o.v4 && o.v6;
      },
      { timeout: 20_000, what: `${kind.name} has ${POD4} and ${POD6}` },
    );
  });

  it('removes a route the peer withdraws', async () => {
    await peer.withdraw4();
    await until(async () => (await peerRoutes(V4)).length === 0, { what: `${V4} withdrawn` });
    expect((await peerRoutes(V6)).length).toBe(1);
  });

  it('detects a frozen peer by hold-timer expiry and flushes its routes', async () => {
    const before = await established();
    expect(before).toBeTruthy();
    const t0 = Date.now();
    peer.pause();
    let down: PeerStatus;
    try {
      down = await until(
        async () => {
          const n = await neighbor();
          return n && n.state !== 'Established' ? n : undefined;
        },
        { timeout: 15_000, interval: 100, what: `nodebgp notices ${kind.name} is silent` },
      );
      const took = Date.now() - t0;
      console.log(`[peers] ${kind.name}: hold-timer detection took ${took} ms (hold time 6 s)`);
      const byReason = down.lastReason === 'hold-timer-expired';
      const byError = /hold timer expired/i.test(down.lastError ?? '');
      expect(byReason || byError, `lastReason=${down.lastReason} lastError=${down.lastError}`).toBe(true);
      expect(took).toBeLessThan(9_000);
      await until(async () => (await peerRoutes(V6)).length === 0, {
        what: `${kind.name}'s routes flushed`,
      });
    } finally {
      peer.resume();
    }
    await until(established, { timeout: 30_000, what: `re-established with ${kind.name} after resume` });
  });

  it('re-establishes after a peer restart and relearns its routes', async () => {
    const before = await until(established, { timeout: 30_000, what: 'Established before restart' });
    await peer.restart();
    await until(
      async () => {
        const n = await established();
        return n && n.establishedCount > before.establishedCount;
      },
      { timeout: 40_000, what: `re-established with restarted ${kind.name}` },
    );
    await until(async () => (await peerRoutes(V4)).length === 1 && (await peerRoutes(V6)).length === 1, {
      timeout: 20_000,
      what: `${kind.name}'s routes back after restart`,
    });
    await until(() => peer.established(), { timeout: 15_000, what: `${kind.name} sees Established` });
  });
});
