/**
 * ECMP end to end (root, namespaces, FRR 8.4): a node dual-homed to two top-of-rack routers gets one
 * multipath route to the world, and its pod keeps answering while one ToR's bgpd is killed (SIGKILL).
 *
 *                      spine (FRR, AS 65000, client address 10.90.0.1 on lo)
 *                10.91.1.0/31 /                     \ 10.91.2.0/31
 *          tor1 (FRR, AS 65001)                 tor2 (FRR, AS 65001)
 *                10.92.1.0/31 \                     / 10.92.2.0/31
 *                      node (nodebgp, AS 65010, 10.93.0.1 on lo) ── pod 10.244.7.10 (10.244.7.0/24)
 *
 * The spine pings the pod from 10.90.0.1 every 20 ms; the ToR that carries the pod's replies (the node's
 * multipath route hashes the flow onto one of them) loses its bgpd. Its sessions close at once, so the node
 * and the spine each drop it from their multipath route; the loss is the packets in flight meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, nodebgpAvailable, startFrr, startNodebgp, until } from './harness/index.js';
import type { Frr, Netns, Nodebgp } from './harness/index.js';

const CLIENT = '10.90.0.1';
const POD = '10.244.7.10';
const NODE = '10.93.0.1';

interface RouteJson {
  dst: string;
  gateway?: string;
  nexthops?: { gateway: string; dev: string }[];
}

function torBgpd(i: number): string {
  return [
    'router bgp 65001',
    ` bgp router-id 10.92.${i}.0`,
    ' no bgp ebgp-requires-policy',
    ` neighbor 10.91.${i}.0 remote-as 65000`,
    ` neighbor 10.91.${i}.0 timers 1 3`,
    ` neighbor 10.91.${i}.0 timers connect 1`,
    ` neighbor 10.92.${i}.1 remote-as 65010`,
    ` neighbor 10.92.${i}.1 timers 1 3`,
    ` neighbor 10.92.${i}.1 timers connect 1`,
    ` neighbor 10.92.${i}.1 advertisement-interval 0`,
    // The node's next hop is its loopback address (routed by staticd), not the session's: not connected.
    ` neighbor 10.92.${i}.1 disable-connected-check`,
    '',
  ].join('\n');
}

const spineBgpd = [
  'router bgp 65000',
  ' bgp router-id 10.90.0.1',
  ' no bgp ebgp-requires-policy',
  ' no bgp network import-check',
  ...[1, 2].flatMap((i) => [
    ` neighbor 10.91.${i}.1 remote-as 65001`,
    ` neighbor 10.91.${i}.1 timers 1 3`,
    ` neighbor 10.91.${i}.1 timers connect 1`,
    ` neighbor 10.91.${i}.1 advertisement-interval 0`,
  ]),
  ' address-family ipv4 unicast',
  `  network ${CLIENT}/32`,
  '  maximum-paths 4',
  ' exit-address-family',
  '',
].join('\n');

describe.skipIf(!nodebgpAvailable())('ECMP: a node with two top-of-rack routers', () => {
  const lab = new Lab();
  let spine: Netns;
  let node: Netns;
  const tors: Frr[] = [];
  let nb: Nodebgp;

  const clientRoute = (): RouteJson | undefined =>
    node.ipJson<RouteJson>('route', 'show', `${CLIENT}/32`, 'proto', 'nodebgp')[0];
  const hops = (r: RouteJson | undefined): string[] =>
    r === undefined
      ? []
      : r.nexthops
        ? r.nexthops.map((n) => n.gateway).sort()
        : r.gateway
          ? [r.gateway]
          : [];

  beforeAll(async () => {
    spine = lab.namespace('spine');
    const torNs = [lab.namespace('tor1'), lab.namespace('tor2')];
    node = lab.namespace('node');
    const pod = lab.namespace('pod');
    for (const ns of [spine, ...torNs, node])
      await ns.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.fib_multipath_hash_policy=1']);
    spine.ipSync('addr', 'add', `${CLIENT}/32`, 'dev', 'lo');
    for (const i of [1, 2]) {
      lab.link(spine, torNs[i - 1], { a: [`10.91.${i}.0/31`], b: [`10.91.${i}.1/31`] });
      lab.link(torNs[i - 1], node, { a: [`10.92.${i}.0/31`], b: [`10.92.${i}.1/31`] });
    }
    // The pod: a /32 behind a veth, default route via the node's 169.254.1.1 (as the labs' pods).
    const podLink = lab.link(node, pod, { a: ['169.254.1.1/32'], b: [`${POD}/32`] });
    pod.ipSync('route', 'add', '169.254.1.1', 'dev', podLink.b);
    pod.ipSync('route', 'add', 'default', 'via', '169.254.1.1', 'dev', podLink.b);
    node.ipSync('route', 'add', `${POD}/32`, 'dev', podLink.a);
    await startFrr(spine, lab.tempDir('spine'), { bgpd: spineBgpd });
    // The node's address (the next hop of its pod CIDR on both sessions) is on its loopback; each ToR routes it.
    node.ipSync('addr', 'add', `${NODE}/32`, 'dev', 'lo');
    for (const i of [1, 2])
      tors.push(
        await startFrr(torNs[i - 1], lab.tempDir(`tor${i}`), {
          bgpd: torBgpd(i),
          staticd: `ip route ${NODE}/32 10.92.${i}.1\n`,
        }),
      );
    nb = await startNodebgp(node, lab.tempDir('nb'), {
      asn: 65010,
      routerId: NODE,
      listen: false,
      node: { address: NODE, podCIDRs: ['10.244.7.0/24'] },
      peers: [1, 2].map((i) => ({
        address: `10.92.${i}.0`,
        asn: 65001,
        holdTime: 3,
        keepaliveTime: 1,
        families: ['ipv4-unicast'],
      })),
      kernel: { enabled: true },
    });
  }, 90_000);

  afterAll(async () => {
    await lab.teardown();
  });

  it('installs the client’s prefix as one multipath route through both ToRs', async () => {
    await until(() => hops(clientRoute()).length === 2, {
      timeout: 30_000,
      what: 'a two-way multipath route',
    });
    expect(node.ipJson<RouteJson>('route', 'show', `${CLIENT}/32`)).toHaveLength(1);
    expect(hops(clientRoute())).toEqual(['10.92.1.0', '10.92.2.0']);
    // The spine reaches the pod through both ToRs too (its own multipath).
    await until(
      () => (spine.ipJson<RouteJson>('route', 'show', '10.244.7.0/24')[0]?.nexthops?.length ?? 0) === 2,
      { timeout: 20_000, what: 'the spine’s multipath route to the pod' },
    );
    await spine.exec('ping', ['-c', '1', '-W', '2', '-I', CLIENT, POD]);
  });

  it('the pod keeps answering while the ToR carrying its replies loses its bgpd', async () => {
    // The ToR the node's route hashes the replies onto: kill that one.
    const via = /via (\S+)/.exec(node.ipSync('route', 'get', CLIENT, 'from', POD, 'iif', 'lo'))?.[1] ?? '';
    const gone = via === '10.92.2.0' ? 2 : 1;
    const left = 3 - gone;
    const ping = spine
      .exec('ping', ['-D', '-i', '0.02', '-w', '6', '-W', '1', '-I', CLIENT, POD], 15_000)
      .catch((e: unknown) => String((e as { stdout?: string }).stdout ?? e));
    await new Promise((r) => setTimeout(r, 1500));
    const killedAt = Date.now() / 1000;
    tors[gone - 1].bgpd.kill();
    await until(() => hops(clientRoute()).join() === `10.92.${left}.0`, {
      timeout: 5_000,
      interval: 20,
      what: `the multipath route down to tor${left}`,
    });
    const convergedMs = Date.now() - killedAt * 1000;
    const out = await ping;
    const sent = Number(/(\d+) packets transmitted/.exec(out)?.[1]);
    const got = Number(/(\d+) received/.exec(out)?.[1]);
    // Replies after the kill, by their timestamps ([epoch] … icmp_seq=N).
    const after = [...out.matchAll(/^\[(\d+\.\d+)\].*icmp_seq=(\d+)/gm)].filter(
      (m) => Number(m[1]) > killedAt + 1,
    );
    console.log(
      `[ecmp] killed tor${gone}'s bgpd (carried the replies via ${via}); node route down to tor${left} in ` +
        `${convergedMs} ms; ping every 20 ms for 6 s: ${sent} sent, ${got} answered, ${sent - got} lost`,
    );
    expect(sent).toBeGreaterThan(150);
    // A few packets in flight may be lost while the node and the spine drop the ToR; the pod keeps answering.
    expect(sent - got).toBeLessThan(sent * 0.1);
    expect(after.length).toBeGreaterThan(100);
    expect(hops(clientRoute())).toEqual([`10.92.${left}.0`]);
    const states = Object.fromEntries((await nb.neighbors()).map((n) => [n.address, n.state]));
    expect(states[`10.92.${left}.0`]).toBe('Established');
    expect(states[`10.92.${gone}.0`]).not.toBe('Established');
  });
});
