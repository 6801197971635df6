/**
 * Re-captures the golden BGP messages in test/fixtures/captures/ from the real reference daemons:
 *
 *   npx vite-node test/interop/capture/capture.ts [frr|bird|gobgp|exabgp|exabgp-as2 …]
 *
 * For each daemon: two namespaces joined by a veth pair (listener 10.77.0.1 / fd00:77::1, AS 65001; daemon
 * 10.77.0.2 / fd00:77::2, MAC 02:00:00:00:00:02 so its link-local is fe80::ff:fe00:2), listener.mjs on port 179
 * recording every message, the daemon configured to announce the same routes with the same attributes, then
 * told to withdraw one. `expect` of every message comes from that configuration (SCENARIO below); inspect.ts
 * only finds which message carries which prefixes and reports bytes that disagree with the configuration.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon } from '../harness/daemon.js';
import { Lab, startBird, startExabgp, startFrr, startGobgp, until, type Netns } from '../harness/index.js';
import { inspect, type Inspected } from './inspect.js';

const REPO = join(import.meta.dirname, '..', '..', '..');
const OUT_DIR = join(REPO, 'test', 'fixtures', 'captures');
const LISTENER = join(import.meta.dirname, 'listener.mjs');

/** What every daemon is configured to send. */
const SCENARIO = {
  asn: 4200000001,
  routerId: '10.77.0.2',
  holdTime: 90,
  peerAsn: 65001,
  ipv4: ['10.1.0.0/24', '10.1.1.0/24', '10.1.2.0/24'],
  ipv6: ['2001:db8:1::/48', '2001:db8:2::/48'],
  withdraw: '10.1.2.0/24',
  nextHop4: '10.77.0.2',
  nextHop6: 'fd00:77::2',
  linkLocal6: 'fe80::ff:fe00:2',
  asPath: '4200000001 4200000001',
  origin: 'igp' as const,
  med: 50,
  communities: ['65001:100', '65001:200'],
  largeCommunities: ['4200000001:1:2'],
};

interface Speaker {
  /** What the daemon is: goes into `source`. */
  readonly version: string;
  readonly description: string;
  readonly fourOctetAs: boolean;
  /** The AS the daemon puts in its OPEN (4-octet capability or My AS). */
  readonly openAsn: number;
  readonly asPath: string;
  /** Whether the daemon was expected to add a link-local IPv6 next hop (directly connected peer). */
  readonly linkLocal: boolean;
  /** The address the capture listener binds (the daemon's configured neighbour). Default 10.77.0.1. */
  readonly listen?: string;
  start(ns: Netns, dir: string): Promise<{ withdraw(): Promise<void> }>;
}

const frrNetworks = [...SCENARIO.ipv4.map((p) => `  network ${p}`)];

const SPEAKERS: Record<string, Speaker> = {
  frr: frrSpeaker('10.77.0.1'),
  'frr-ipv6-session': frrSpeaker('fd00:77::1'),
  bird: {
    version: 'BIRD 2.0.12 (Debian 12 package)',
    description:
      'eBGP from AS 4200000001: static routes exported through a filter setting MED 50, communities, a large community and one AS prepend; IPv6 channel over the IPv4 session (next hop address fd00:77::2; no link-local over an IPv4 session); one IPv4 prefix withdrawn by disabling its static protocol.',
    fourOctetAs: true,
    openAsn: SCENARIO.asn,
    asPath: SCENARIO.asPath,
    linkLocal: false,
    async start(ns, dir) {
      const keep = SCENARIO.ipv4.filter((p) => p !== SCENARIO.withdraw);
      const comm = SCENARIO.communities.map((c) => `bgp_community.add((${c.replace(':', ',')}));`).join(' ');
      const large = SCENARIO.largeCommunities.map(
        (c) => `bgp_large_community.add((${c.split(':').join(',')}));`,
      );
      const bird = await startBird(
        ns,
        dir,
        `router id ${SCENARIO.routerId};
protocol device {}
protocol static s4 { ipv4; ${keep.map((p) => `route ${p} blackhole;`).join(' ')} }
protocol static s4w { ipv4; route ${SCENARIO.withdraw} blackhole; }
protocol static s6 { ipv6; ${SCENARIO.ipv6.map((p) => `route ${p} blackhole;`).join(' ')} }
filter out_set {
  bgp_med = ${SCENARIO.med};
  ${comm}
  ${large.join(' ')}
  bgp_path.prepend(${SCENARIO.asn});
  accept;
}
protocol bgp capture {
  local 10.77.0.2 as ${SCENARIO.asn};
  neighbor 10.77.0.1 as ${SCENARIO.peerAsn};
  hold time ${SCENARIO.holdTime};
  connect delay time 1;
  ipv4 { import none; export filter out_set; };
  ipv6 { import none; export filter out_set; next hop address ${SCENARIO.nextHop6}; };
}
`,
      );
      return {
        withdraw: async () => {
          await bird.birdc('disable s4w');
        },
      };
    },
  },
  gobgp: {
    version: 'GoBGP 3.10.0 gobgpd (Debian 12 package)',
    description:
      'eBGP from AS 4200000001: routes added with `gobgp global rib add` carrying MED 50, communities, a large community and AS path 4200000001 (gobgpd prepends its own AS); IPv4 and IPv6 unicast over the IPv4 session; one IPv4 prefix withdrawn with `gobgp global rib del`.',
    fourOctetAs: true,
    openAsn: SCENARIO.asn,
    asPath: SCENARIO.asPath,
    linkLocal: false,
    async start(ns, dir) {
      const g = await startGobgp(
        ns,
        dir,
        `[global.config]
  as = ${SCENARIO.asn}
  router-id = "${SCENARIO.routerId}"
  local-address-list = ["10.77.0.2"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.77.0.1"
    peer-as = ${SCENARIO.peerAsn}
  [neighbors.timers.config]
    hold-time = ${SCENARIO.holdTime}
    connect-retry = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
`,
      );
      const attrs = [
        'origin',
        SCENARIO.origin,
        'aspath',
        String(SCENARIO.asn),
        'med',
        String(SCENARIO.med),
        'community',
        SCENARIO.communities.join(','),
        'large-community',
        SCENARIO.largeCommunities.join(','),
      ];
      for (const p of SCENARIO.ipv4) await g.gobgp(['global', 'rib', 'add', '-a', 'ipv4', p, ...attrs]);
      for (const p of SCENARIO.ipv6)
        await g.gobgp(['global', 'rib', 'add', '-a', 'ipv6', p, 'nexthop', SCENARIO.nextHop6, ...attrs]);
      return {
        withdraw: async () => {
          await g.gobgp(['global', 'rib', 'del', '-a', 'ipv4', SCENARIO.withdraw]);
        },
      };
    },
  },
  exabgp: exabgpSpeaker(true),
  'exabgp-as2': exabgpSpeaker(false),
};

function frrSpeaker(peer: string): Speaker {
  const v6 = peer.includes(':');
  return {
    version: 'FRR 8.4.4 bgpd (Debian 12 package)',
    description: `eBGP ${v6 ? 'over an IPv6 session (fd00:77::2 → fd00:77::1)' : 'over an IPv4 session'} from AS 4200000001: IPv4 NLRI with MED 50, communities, a large community and one AS prepend through an outbound route-map; IPv6 over MP_REACH ${v6 ? 'with global + link-local next hop (directly connected IPv6 peer)' : 'with a global next hop only (no link-local over an IPv4 session)'}; one IPv4 prefix withdrawn with \`no network\`.`,
    fourOctetAs: true,
    openAsn: SCENARIO.asn,
    asPath: SCENARIO.asPath,
    linkLocal: v6,
    listen: peer,
    async start(ns, dir) {
      const frr = await startFrr(ns, dir, {
        bgpd: [
          `router bgp ${SCENARIO.asn}`,
          ` bgp router-id ${SCENARIO.routerId}`,
          ' no bgp ebgp-requires-policy',
          ' no bgp network import-check',
          ` neighbor ${peer} remote-as ${SCENARIO.peerAsn}`,
          ` neighbor ${peer} timers 30 ${SCENARIO.holdTime}`,
          ` neighbor ${peer} timers connect 1`,
          ' address-family ipv4 unicast',
          ...frrNetworks,
          `  neighbor ${peer} route-map SET out`,
          ' exit-address-family',
          ' address-family ipv6 unicast',
          ...SCENARIO.ipv6.map((p) => `  network ${p}`),
          `  neighbor ${peer} activate`,
          `  neighbor ${peer} route-map SET out`,
          ' exit-address-family',
          'route-map SET permit 10',
          ` set metric ${SCENARIO.med}`,
          ` set community ${SCENARIO.communities.join(' ')}`,
          ` set large-community ${SCENARIO.largeCommunities.join(' ')}`,
          ` set as-path prepend ${SCENARIO.asn}`,
          '',
        ].join('\n'),
      });
      return {
        withdraw: async () => {
          await frr.vtysh(
            'configure terminal',
            `router bgp ${SCENARIO.asn}`,
            'address-family ipv4 unicast',
            `no network ${SCENARIO.withdraw}`,
          );
        },
      };
    },
  };
}

function exabgpSpeaker(asn4: boolean): Speaker {
  // Without the 4-octet capability ExaBGP speaks as AS 65010 and sends AS_PATH "65010 23456" plus AS4_PATH
  // "65010 4200000001" (RFC 6793 §4.2.2).
  const localAs = asn4 ? SCENARIO.asn : 65010;
  const asPath = asn4 ? SCENARIO.asPath : `65010 ${SCENARIO.asn}`;
  const attrs = (nh: string): string =>
    `next-hop ${nh} origin ${SCENARIO.origin} med ${SCENARIO.med} community [${SCENARIO.communities.join(' ')}] large-community [${SCENARIO.largeCommunities.join(' ')}] as-path [${asPath}]`;
  return {
    version: 'ExaBGP 4.2.21 (Debian 12 package)',
    description: asn4
      ? 'eBGP from AS 4200000001 (4-octet AS): static routes with MED 50, communities, a large community and an explicit AS path; IPv6 over MP_REACH with a global next hop only; one IPv4 prefix withdrawn through the API.'
      : 'eBGP from AS 65010 with `capability { asn4 disable; }`: a 2-octet session, so the AS path "65010 4200000001" travels as AS_PATH "65010 23456" (AS_TRANS) plus AS4_PATH; one IPv4 prefix withdrawn through the API.',
    fourOctetAs: asn4,
    openAsn: localAs,
    asPath,
    linkLocal: false,
    async start(ns, dir) {
      const exa = await startExabgp(
        ns,
        dir,
        `neighbor 10.77.0.1 {
  router-id ${SCENARIO.routerId};
  local-address 10.77.0.2;
  local-as ${localAs};
  peer-as ${SCENARIO.peerAsn};
  hold-time ${SCENARIO.holdTime};
  family { ipv4 unicast; ipv6 unicast; }
  capability { route-refresh; ${asn4 ? '' : 'asn4 disable;'} }
  static {
${SCENARIO.ipv4.map((p) => `    route ${p} ${attrs(SCENARIO.nextHop4)};`).join('\n')}
${SCENARIO.ipv6.map((p) => `    route ${p} ${attrs(SCENARIO.nextHop6)};`).join('\n')}
  }
  api { processes [ harness ]; }
}`,
      );
      return {
        withdraw: () => exa.command(`withdraw route ${SCENARIO.withdraw} next-hop ${SCENARIO.nextHop4}`),
      };
    },
  };
}

type Expect = Record<string, unknown>;

/** The configured expectation for one captured message, or a string saying why there is none. */
function expectFor(speaker: Speaker, seen: Inspected): Expect | string {
  switch (seen.type) {
    case 'open':
      return {
        type: 'open',
        asn: speaker.openAsn,
        holdTime: SCENARIO.holdTime,
        bgpId: SCENARIO.routerId,
        capabilities: seen.capabilities,
      };
    case 'keepalive':
      return { type: 'keepalive' };
    case 'update':
      break;
    default:
      return `unexpected ${seen.type}`;
  }
  if (seen.prefixes.length === 0) {
    if (seen.withdrawn.length === 0) return { type: 'update', prefixes: [], withdrawn: [] }; // End-of-RIB
    if (seen.withdrawn.some((p) => p !== SCENARIO.withdraw)) return `withdrew ${seen.withdrawn.join(' ')}`;
    return { type: 'update', prefixes: [], withdrawn: [SCENARIO.withdraw] };
  }
  const v6 = seen.prefixes[0]?.includes(':') ?? false;
  const family = v6 ? SCENARIO.ipv6 : SCENARIO.ipv4;
  if (seen.prefixes.some((p) => !family.includes(p)))
    return `announced unconfigured ${seen.prefixes.join(' ')}`;
  return {
    type: 'update',
    prefixes: seen.prefixes,
    withdrawn: seen.withdrawn.length > 0 ? `unexpected withdrawals ${seen.withdrawn.join(' ')}` : [],
    nextHop: v6 ? SCENARIO.nextHop6 : SCENARIO.nextHop4,
    ...(v6 && speaker.linkLocal ? { nextHopLinkLocal: SCENARIO.linkLocal6 } : {}),
    asPath: speaker.asPath,
    origin: SCENARIO.origin,
    med: SCENARIO.med,
    communities: SCENARIO.communities,
    largeCommunities: SCENARIO.largeCommunities,
  };
}

function nameOf(seen: Inspected, raw: string): string {
  if (seen.type !== 'update') return seen.type;
  const v6 = (seen.prefixes[0] ?? seen.withdrawn[0] ?? '').includes(':') || raw.includes('000e') === false;
  if (seen.prefixes.length > 0) return `update-${seen.prefixes[0]?.includes(':') ? 'ipv6' : 'ipv4'}`;
  if (seen.withdrawn.length > 0) return `withdraw-${seen.withdrawn[0]?.includes(':') ? 'ipv6' : 'ipv4'}`;
  return `end-of-rib-${seen.attributeCodes.includes(15) ? 'ipv6' : v6 ? 'ipv4' : 'ipv4'}`;
}

/** Fields of `expect` that the bytes contradict (the configuration did not come through as configured). */
function disagreements(expect: Expect, seen: Inspected): string[] {
  const out: string[] = [];
  for (const [key, want] of Object.entries(expect)) {
    if (key === 'type') continue;
    const got = (seen as unknown as Record<string, unknown>)[key];
    const norm = (x: unknown): string => JSON.stringify(Array.isArray(x) ? [...(x as string[])].sort() : x);
    if (norm(got) !== norm(want))
      out.push(`${key}: configured ${JSON.stringify(want)}, sent ${JSON.stringify(got)}`);
  }
  if (
    seen.type === 'update' &&
    seen.prefixes.length > 0 &&
    expect.nextHopLinkLocal === undefined &&
    seen.nextHopLinkLocal
  )
    out.push(`nextHopLinkLocal: not configured, sent ${seen.nextHopLinkLocal}`);
  return out;
}

async function captureOne(key: string, speaker: Speaker): Promise<void> {
  const lab = new Lab();
  try {
    const nsL = lab.namespace('lis');
    const nsD = lab.namespace(key.slice(0, 8));
    lab.link(nsL, nsD, {
      a: ['10.77.0.1/24', 'fd00:77::1/64'],
      b: ['10.77.0.2/24', 'fd00:77::2/64'],
      macA: '02:00:00:00:00:01',
      macB: '02:00:00:00:00:02',
    });
    const dir = lab.tempDir(`capture-${key}`);
    const recording = join(dir, 'messages.jsonl');
    const listener = new Daemon(
      'listener',
      nsL,
      dir,
      nsL.spawn(
        process.execPath,
        [
          LISTENER,
          speaker.listen ?? '10.77.0.1',
          '179',
          String(SCENARIO.peerAsn),
          '10.77.0.1',
          String(SCENARIO.holdTime),
          recording,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    await until(() => listener.log().includes('listening'), { what: 'capture listener' });
    const daemon = await speaker.start(nsD, join(dir, key));
    const read = (): { hex: string; seen: Inspected }[] =>
      readFileSync(recording, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          const hex = (JSON.parse(l) as { hex: string }).hex;
          return { hex, seen: inspect(hex, speaker.fourOctetAs) };
        });
    const announced = (): Set<string> => new Set(read().flatMap((m) => m.seen.prefixes));
    await until(() => [...SCENARIO.ipv4, ...SCENARIO.ipv6].every((p) => announced().has(p)), {
      timeout: 60_000,
      what: `${key}: every configured prefix announced`,
    });
    await daemon.withdraw();
    await until(() => read().some((m) => m.seen.withdrawn.includes(SCENARIO.withdraw)), {
      timeout: 30_000,
      what: `${key}: ${SCENARIO.withdraw} withdrawn`,
    });
    const messages: { name: string; hex: string; expect: Expect }[] = [];
    const names = new Map<string, number>();
    let keepalives = 0;
    const problems: string[] = [];
    for (const { hex, seen } of read()) {
      if (seen.type === 'keepalive' && ++keepalives > 1) continue;
      const expect = expectFor(speaker, seen);
      const base = nameOf(seen, hex);
      const n = (names.get(base) ?? 0) + 1;
      names.set(base, n);
      const name = n === 1 ? base : `${base}-${n}`;
      if (typeof expect === 'string') {
        problems.push(`${name}: ${expect}`);
        continue;
      }
      for (const d of disagreements(expect, seen)) problems.push(`${name}: ${d}`);
      messages.push({ name, hex, expect });
    }
    const date = new Date().toISOString().slice(0, 10);
    const fixture = {
      source: `${speaker.version}, captured ${date} by test/interop/capture/capture.ts (re-run: sudo npx vite-node test/interop/capture/capture.ts ${key})`,
      description: speaker.description,
      context: { fourOctetAs: speaker.fourOctetAs, ibgp: false },
      messages,
    };
    mkdirSync(OUT_DIR, { recursive: true });
    const file = join(OUT_DIR, `${key}-ebgp-ipv4-ipv6.json`);
    writeFileSync(file, `${JSON.stringify(fixture, null, 2)}\n`);
    console.log(`${key}: ${messages.length} messages → ${file}`);
    for (const p of problems) console.log(`  ! ${p}`);
  } finally {
    await lab.teardown();
  }
}

const wanted = process.argv.slice(2);
for (const [key, speaker] of Object.entries(SPEAKERS)) {
  if (wanted.length > 0 && !wanted.includes(key)) continue;
  try {
    await captureOne(key, speaker);
  } catch (err) {
    console.log(`${key}: FAILED ${(err as Error).message}`);
  }
}
