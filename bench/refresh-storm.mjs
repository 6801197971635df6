#!/usr/bin/env node
// A slow reader and a refresh storm (issue 10): nodebgp holds N routes from a sender and exports them to a peer
// that stops reading after its first KEEPALIVE and sends 3,000 ROUTE-REFRESH messages, while a real FRR peer
// runs beside it. Reported: nodebgp's RSS before and its peak during the storm, the longest answer of the
// control socket (`/neighbors`, asked directly over the Unix socket) and of `/livez` (asked from inside the
// daemon's namespace), and whether the FRR session ever dropped (nodebgp's establishedCount and FRR's state).
//
//   node bench/refresh-storm.mjs [--count 1000000] [--refreshes 3000] [--seconds 30]     (root; npm run build)
//
//   sender 10.88.0.1 (65001) ─┐
//   slow   10.88.0.3 (65003) ─┼─ one veth ── nodebgp 10.88.0.2 (65002)
//   FRR    10.88.0.4 (65004) ─┘
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, procStatusKb, startFrr, until, vtysh } from '../dist/toolkit/index.js';
import { controlGet } from './lib/runners.mjs';

const REPO = join(import.meta.dirname, '..');
const BIN = join(REPO, 'bin', 'nodebgp');
const SENDER = join(REPO, 'bench', 'lib', 'sender.mjs');
const ATTACKER = join(REPO, 'test', 'interop', 'isolation', 'attacker.mjs');
const args = Object.fromEntries(
  process.argv
    .slice(2)
    .reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const COUNT = Number(args.count ?? 1_000_000);
const REFRESHES = Number(args.refreshes ?? 3000);
const SECONDS = Number(args.seconds ?? 30);

const lab = new Lab();
const peers = lab.namespace('peers');
const nbNs = lab.namespace('nb');
lab.link(peers, nbNs, { a: ['10.88.0.1/24', '10.88.0.3/24', '10.88.0.4/24'], b: ['10.88.0.2/24'] });
const dir = lab.tempDir('storm');
const socket = join(dir, 'nodebgp.sock');
const conf = join(dir, 'nodebgp.yaml');

/** A child printing JSON lines. */
function child(ns, argv) {
  const proc = ns.spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
  const events = [];
  let rest = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) events.push(JSON.parse(l));
  });
  return { proc, events };
}

// The /livez prober runs inside the daemon's namespace: one GET every 50 ms, the slowest answer of every
// 500 ms printed.
const PROBE = `
const http = require('node:http');
let worst = 0, failed = 0, n = 0;
const one = () => { const t = Date.now();
  const req = http.get('http://10.88.0.2:9179/livez', (res) => { res.resume(); res.on('end', () => { worst = Math.max(worst, Date.now() - t); n++; setTimeout(one, 50); }); });
  req.setTimeout(10000, () => req.destroy()); req.on('error', () => { failed++; worst = Math.max(worst, Date.now() - t); setTimeout(one, 50); }); };
one(); setInterval(() => { process.stdout.write(JSON.stringify({ event: 'livez', worst, failed, n }) + '\\n'); worst = 0; }, 500);
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();`;

try {
  const frrDir = lab.tempDir('frr');
  await startFrr({
    ns: peers.name,
    dir: frrDir,
    zebra: false,
    configs: {
      bgpd: [
        'router bgp 65004',
        ' bgp router-id 10.88.0.4',
        ' no bgp ebgp-requires-policy',
        ' neighbor 10.88.0.2 remote-as 65002',
        ' neighbor 10.88.0.2 update-source 10.88.0.4',
        ' neighbor 10.88.0.2 timers 3 9',
        ' neighbor 10.88.0.2 timers connect 1',
        '',
      ].join('\n'),
    },
  });
  writeFileSync(
    conf,
    [
      'asn: 65002',
      'routerId: 10.88.0.2',
      'listen: { address: 10.88.0.2, port: 179 }',
      'node: { address: 10.88.0.2, podCIDRs: [10.244.2.0/24] }',
      'peers:',
      '  - { address: 10.88.0.1, asn: 65001, holdTime: 240, passive: true }',
      '  - { address: 10.88.0.3, asn: 65003, holdTime: 240, passive: true }',
      '  - { address: 10.88.0.4, asn: 65004, holdTime: 9, localAddress: 10.88.0.2 }',
      'importPrefixes: [ { prefix: 0.0.0.0/0, le: 32 } ]',
      'kernel: { enabled: false }',
      'health: { address: 10.88.0.2, port: 9179 }',
      `controlSocket: ${socket}`,
      'log: { level: warn }',
      '',
    ].join('\n'),
  );
  // NODEBGP_BENCH_NODE_ARGS: extra Node.js options for the daemon (e.g. '--cpu-prof --cpu-prof-dir=DIR').
  const nodeArgs = (process.env.NODEBGP_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const nb = nbNs.spawn(process.execPath, [...nodeArgs, BIN, 'run', '--config', conf], { stdio: 'ignore' });
  const pid = nb.pid;
  const neighbors = () => controlGet(socket, '/neighbors');
  const find = async (a) => (await neighbors()).find((n) => n.address === a);
  await until(async () => (await find('10.88.0.4').catch(() => undefined))?.state === 'Established', {
    timeout: 60_000,
    interval: 200,
    what: 'FRR Established',
  });
  const sender = child(peers, [
    SENDER,
    '--peer',
    '10.88.0.2',
    '--local',
    '10.88.0.1',
    '--asn',
    '65001',
    '--count',
    String(COUNT),
  ]);
  const loadStart = Date.now();
  await until(async () => (await find('10.88.0.1'))?.accepted === COUNT, {
    timeout: 600_000,
    interval: 250,
    what: `${COUNT} routes from the sender`,
  });
  const loadSeconds = (Date.now() - loadStart) / 1000;
  // The FRR peer gets the full table too; let that export finish before the baseline.
  await until(async () => (await find('10.88.0.4'))?.exportPending === 0, {
    timeout: 600_000,
    interval: 250,
  });
  const frrBefore = await find('10.88.0.4');
  const rssBefore = procStatusKb(pid, 'VmRSS');
  const probe = nbNs.spawn(process.execPath, ['-e', PROBE], { stdio: ['pipe', 'pipe', 'inherit'] });
  const probeEvents = [];
  probe.stdout.setEncoding('utf8');
  probe.stdout.on('data', (c) => {
    for (const l of c.split('\n')) if (l.trim()) probeEvents.push(JSON.parse(l));
  });
  let rssPeak = rssBefore;
  let frrDropped = false;
  /** The slowest control-socket answer over `seconds`, watching RSS and the FRR session meanwhile. */
  const watch = async (seconds) => {
    let worst = 0;
    const end = Date.now() + seconds * 1000;
    while (Date.now() < end) {
      const t = Date.now();
      const f = await find('10.88.0.4');
      worst = Math.max(worst, Date.now() - t);
      if (f?.state !== 'Established' || f.establishedCount !== frrBefore.establishedCount) frrDropped = true;
      rssPeak = Math.max(rssPeak, procStatusKb(pid, 'VmRSS'));
      await new Promise((r) => setTimeout(r, 100));
    }
    return worst;
  };
  // The same measurements with no storm first: on a shared machine the scheduler alone costs some of this.
  const controlQuiet = await watch(Math.max(5, SECONDS / 3));
  const worstOf = (events) => Math.max(0, ...events.map((e) => e.worst));
  const livezQuiet = worstOf(probeEvents);
  const slow = child(peers, [ATTACKER, 'storm', '10.88.0.2', '10.88.0.3', '65003', String(REFRESHES)]);
  const probeFrom = probeEvents.length;
  const controlWorst = await watch(SECONDS);
  const slowView = await find('10.88.0.3');
  const frrState = JSON.parse(
    await vtysh(peers.name, frrDir, 'show bgp neighbors 10.88.0.2 json').catch(() => '{}'),
  );
  const livez = { worst: worstOf(probeEvents.slice(probeFrom)), failed: probeEvents.at(-1)?.failed ?? 0 };
  const result = {
    count: COUNT,
    refreshes: REFRESHES,
    loadSeconds,
    stormSent: slow.events.some((e) => e.event === 'sent'),
    rssBeforeMb: Math.round(rssBefore / 1024),
    rssPeakMb: Math.round(rssPeak / 1024),
    rssRiseMb: Math.round((rssPeak - rssBefore) / 1024),
    controlQuietWorstMs: controlQuiet,
    controlWorstMs: controlWorst,
    livezQuietWorstMs: livezQuiet,
    livezWorstMs: livez.worst,
    livezFailed: livez.failed,
    frrDropped,
    frrStateAtEnd: frrState['10.88.0.2']?.bgpState,
    slowPeer: {
      state: slowView?.state,
      outputQueued: slowView?.outputQueued,
      exportPending: slowView?.exportPending,
      refreshesCoalesced: slowView?.refreshesCoalesced,
      updatesOut: slowView?.updatesOut,
    },
  };
  console.log(JSON.stringify(result, null, 2));
  probe.stdin.end();
  slow.proc.stdin.end();
  sender.proc.stdin.end();
} finally {
  await lab.teardown();
}
