#!/usr/bin/env node
// Many BGP peers in one process, hand-encoded (no dependency on bgp/wire, so it checks the daemon
// independently). Client i connects from its own address (--first plus i, e.g. 10.90.1.0 upwards: one
// `local` route on lo makes the whole range ours), as iBGP (--asn) with router id = its address, announces one
// /24, 11.<i>>8>.<i&255>.0/24 (next hop itself), and reads everything it is sent. One timer sends every
// client's KEEPALIVEs.
//
// Events on stdout, one JSON line each:
//   {"event":"established","t","count"}        every client is Established (once)
//   {"event":"converged","t"}                  rr mode: every client holds the other N−1 clients' routes;
//                                              mesh mode: every client holds --expect-other routes not of ours;
//                                              quiet mode (clients announce nothing): every client is up
//   {"event":"reached","prefix","ms"}          after `announce i`: every other client holds client i's probe
//   {"event":"withdrawn","prefix","ms"}        after `withdraw i`: no client holds client i's route any more
//   {"event":"stats", ...}                     after `stats`: counters (see stats() below)
// Commands on stdin, one per line:
//   announce i   client i announces its probe 12.<i>>8>.<i&255>.0/24
//   withdraw i   client i withdraws its own 11.x.y.0/24
//   stats        print the counters
//
//   node many-peers-sim.mjs --peer 10.89.0.2 --first 10.90.1.0 --count 1000 [--asn 65000] [--hold 90]
//                           [--mode rr|mesh|quiet] [--expect-other 1] [--cluster-id 10.89.0.2] [--connects 256]
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { cliArgs, emit, KEEPALIVE, message, openMessage } from './bgp-encode.mjs';

const args = cliArgs();
const PEER = args.peer;
const N = Number(args.count ?? 100);
const ASN = Number(args.asn ?? 65000);
const HOLD = Number(args.hold ?? 90);
const PORT = Number(args.port ?? 179);
const MODE = args.mode ?? 'rr';
const EXPECT_OTHER = Number(args['expect-other'] ?? 1);
const CLUSTER_ID = args['cluster-id'];
/**
 * Sessions being set up at once (connected, not yet Established): a burst of a thousand SYNs overflows a listen
 * backlog (511 for Node.js) and the kernel's retransmits then add seconds that measure nothing of the daemon.
 */
const CONNECTS = Number(args.connects ?? 256);

const ip4n = (s) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);
const ip4s = (n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const FIRST = ip4n(args.first ?? '10.90.1.0');
const T0 = Date.now();

const u16 = (n) => Buffer.from([n >> 8, n & 255]);
const u32 = (n) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
const open = (routerId) => openMessage({ asn: ASN, hold: HOLD, routerId: u32(routerId) });

/** Slot of a prefix we track: 11.x.y.0/24 → client (x<<8|y), 12.x.y.0/24 → N + client; else -1. */
function slotOf(a, b, c) {
  const j = (b << 8) | c;
  if (j >= N) return -1;
  if (a === 11) return j;
  if (a === 12) return N + j;
  return -1;
}
const prefixText = (slot) => `${slot < N ? 11 : 12}.${slot % N >> 8}.${slot % N & 255}.0/24`;

/** An UPDATE announcing (or with `withdraw` withdrawing) slot's /24 with us as next hop. */
function update(client, slot, withdraw) {
  const j = slot % N;
  const nlri = Buffer.from([24, slot < N ? 11 : 12, j >> 8, j & 255]);
  if (withdraw) return message(2, Buffer.concat([u16(4), nlri, u16(0)]));
  const attrs = Buffer.concat([
    Buffer.from([0x40, 1, 1, 0]), // ORIGIN IGP
    Buffer.from([0x40, 2, 0]), // AS_PATH empty (iBGP, our own route)
    Buffer.from([0x40, 3, 4]),
    u32(client.address), // NEXT_HOP
    Buffer.from([0x40, 5, 4]),
    u32(100), // LOCAL_PREF
  ]);
  return message(2, Buffer.concat([u16(0), u16(attrs.length), attrs, nlri]));
}

// holders[slot]: how many clients hold that prefix now.
const holders = new Int32Array(2 * N);
let heldTotal = 0; // rr: sum over clients of tracked base routes held (converged at N(N−1))
let otherHeldClients = 0; // mesh: clients holding >= EXPECT_OTHER untracked prefixes
const counters = {
  updates: 0,
  announced: 0,
  withdrawnSeen: 0,
  backToOriginator: 0,
  badOriginatorId: 0,
  missingOriginatorId: 0,
  badClusterList: 0,
  missingClusterList: 0,
  notifications: 0,
  resets: 0,
  connectErrors: 0,
};
const watches = new Map(); // slot → { kind: 'reached' | 'withdrawn', since }

const clients = [];
let established = 0;
let establishedEmitted = false;
let convergedEmitted = false;

class Client {
  constructor(i) {
    this.i = i;
    this.address = (FIRST + i) >>> 0;
    this.held = new Uint8Array(2 * N);
    this.others = new Set(); // untracked prefixes, as text
    this.announced = new Set(MODE === 'quiet' ? [] : [i]);
    this.socket = undefined;
    this.state = 'Idle';
    this.rest = undefined;
  }

  connect() {
    settingUp++;
    this.state = 'Connect';
    const s = connect({ host: PEER, port: PORT, localAddress: ip4s(this.address) });
    this.socket = s;
    s.setNoDelay(true);
    s.on('connect', () => {
      this.state = 'OpenSent';
      s.write(open(this.address));
    });
    s.on('data', (chunk) => this.data(chunk));
    s.on('error', () => {
      if (this.state === 'Connect') counters.connectErrors++;
    });
    s.on('close', () => this.closed());
  }

  closed() {
    if (this.state === 'Established') {
      established--;
      counters.resets++;
    } else if (this.state !== 'Idle') {
      settingUp--;
      connectMore();
    }
    this.state = 'Idle';
    this.socket = undefined;
    this.rest = undefined;
    for (let slot = 0; slot < 2 * N; slot++) if (this.held[slot]) this.drop(slot);
    if (this.others.size >= EXPECT_OTHER) otherHeldClients--;
    this.others.clear();
    setTimeout(() => retry.push(this) && connectMore(), 1000);
  }

  data(chunk) {
    let buf = this.rest === undefined ? chunk : Buffer.concat([this.rest, chunk]);
    let off = 0;
    while (buf.length - off >= 19) {
      const len = buf.readUInt16BE(off + 16);
      if (buf.length - off < len) break;
      this.message(buf[off + 18], buf.subarray(off + 19, off + len));
      off += len;
    }
    this.rest = off === buf.length ? undefined : Buffer.from(buf.subarray(off));
  }

  message(type, body) {
    if (type === 3) {
      counters.notifications++;
      emit('notification', { client: this.i, code: body[0], subcode: body[1] });
    } else if (type === 1 && this.state === 'OpenSent') {
      this.state = 'OpenConfirm';
      this.socket.write(KEEPALIVE);
    } else if (type === 4 && this.state === 'OpenConfirm') {
      this.state = 'Established';
      settingUp--;
      connectMore();
      for (const slot of this.announced) this.socket.write(update(this, slot, false));
      established++;
      if (established === N && !establishedEmitted) {
        establishedEmitted = true;
        emit('established', { count: N, ms: Date.now() - T0 });
      }
    } else if (type === 2 && this.state === 'Established') this.update(body);
  }

  update(body) {
    counters.updates++;
    const wlen = body.readUInt16BE(0);
    this.nlri(body.subarray(2, 2 + wlen), false, undefined);
    const alen = body.readUInt16BE(2 + wlen);
    const attrs = body.subarray(4 + wlen, 4 + wlen + alen);
    const reach = body.subarray(4 + wlen + alen);
    let originatorId;
    let clusterList;
    for (let o = 0; o < attrs.length; ) {
      const flags = attrs[o];
      const code = attrs[o + 1];
      const ext = (flags & 0x10) !== 0;
      const l = ext ? attrs.readUInt16BE(o + 2) : attrs[o + 2];
      const v = attrs.subarray(o + (ext ? 4 : 3), o + (ext ? 4 : 3) + l);
      o += (ext ? 4 : 3) + l;
      if (code === 9) originatorId = v.readUInt32BE(0);
      else if (code === 10) clusterList = Array.from({ length: l / 4 }, (_, k) => v.readUInt32BE(k * 4));
      else if (code === 14 && v.readUInt16BE(0) === 1 && v[2] === 1) {
        const nh = v[3];
        this.nlri(v.subarray(5 + nh), true, { originatorId, clusterList }, true);
      } else if (code === 15 && v.readUInt16BE(0) === 1 && v[2] === 1) this.nlri(v.subarray(3), false);
    }
    if (reach.length > 0) this.nlri(reach, true, { originatorId, clusterList });
  }

  /** NLRI entries: announce (with the route's reflection attributes) or withdraw. */
  nlri(b, announce, attrs, lateAttrs) {
    for (let o = 0; o < b.length; ) {
      const bits = b[o];
      const bytes = (bits + 7) >> 3;
      const a0 = b[o + 1] ?? 0;
      const a1 = bytes > 1 ? b[o + 2] : 0;
      const a2 = bytes > 2 ? b[o + 3] : 0;
      const a3 = bytes > 3 ? b[o + 4] : 0;
      o += 1 + bytes;
      const slot = bits === 24 ? slotOf(a0, a1, a2) : -1;
      if (slot < 0) {
        const text = `${a0}.${a1}.${a2}.${a3}/${bits}`;
        const before = this.others.size;
        if (announce) this.others.add(text);
        else this.others.delete(text);
        if (before < EXPECT_OTHER && this.others.size >= EXPECT_OTHER) otherHeldClients++;
        if (before >= EXPECT_OTHER && this.others.size < EXPECT_OTHER) otherHeldClients--;
        continue;
      }
      if (!announce) {
        counters.withdrawnSeen++;
        if (this.held[slot]) this.drop(slot);
        continue;
      }
      counters.announced++;
      if (slot % N === this.i) {
        counters.backToOriginator++; // counted, never held: convergence is over the others' routes
        continue;
      }
      if (!lateAttrs) this.check(slot, attrs);
      if (!this.held[slot]) {
        this.held[slot] = 1;
        holders[slot]++;
        if (slot < N) heldTotal++;
        changed(slot);
      }
    }
  }

  /** ORIGINATOR_ID is the originating client's router id; CLUSTER_LIST holds the reflector's cluster id. */
  check(slot, { originatorId, clusterList }) {
    const origin = (FIRST + (slot % N)) >>> 0;
    if (originatorId === undefined) counters.missingOriginatorId++;
    else if (originatorId !== origin) counters.badOriginatorId++;
    if (clusterList === undefined) counters.missingClusterList++;
    else if (CLUSTER_ID !== undefined && !clusterList.includes(ip4n(CLUSTER_ID))) counters.badClusterList++;
  }

  drop(slot) {
    this.held[slot] = 0;
    holders[slot]--;
    if (slot < N) heldTotal--;
    changed(slot);
  }
}

function changed(slot) {
  const w = watches.get(slot);
  if (w !== undefined) {
    const done = w.kind === 'reached' ? holders[slot] >= N - 1 : holders[slot] === 0;
    if (done) {
      watches.delete(slot);
      emit(w.kind, { prefix: prefixText(slot), ms: Date.now() - w.since });
    }
  }
}

function checkConverged() {
  if (convergedEmitted) return;
  const done =
    MODE === 'rr' ? heldTotal === N * (N - 1) : MODE === 'quiet' ? established === N : otherHeldClients === N;
  if (done) {
    convergedEmitted = true;
    const cpu = process.cpuUsage();
    emit('converged', { ms: Date.now() - T0, cpuMs: Math.round((cpu.user + cpu.system) / 1000) });
  }
}
setInterval(checkConverged, 5).unref();

function stats() {
  const states = {};
  for (const c of clients) states[c.state] = (states[c.state] ?? 0) + 1;
  const othersMin = Math.min(...clients.map((c) => c.others.size));
  const othersMax = Math.max(...clients.map((c) => c.others.size));
  const cpu = process.cpuUsage();
  const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
  return { ...counters, established, heldTotal, states, othersMin, othersMax, ms: Date.now() - T0, cpuMs };
}

// One timer for every client's KEEPALIVE.
setInterval(
  () => {
    for (const c of clients) if (c.state === 'Established') c.socket.write(KEEPALIVE);
  },
  (HOLD / 3) * 1000,
);

for (let i = 0; i < N; i++) clients.push(new Client(i));
let next = 0;
let settingUp = 0;
/** Clients whose session closed, waiting to connect again. */
const retry = [];
function connectMore() {
  while (settingUp < CONNECTS && (retry.length > 0 || next < N)) (retry.shift() ?? clients[next++]).connect();
}
connectMore();

createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  const c = clients[Number(arg)];
  if (cmd === 'stats') return emit('stats', stats());
  if (c === undefined) return;
  if (cmd === 'announce') {
    const slot = N + c.i;
    c.announced.add(slot);
    watches.set(slot, { kind: 'reached', since: Date.now() });
    c.socket?.write(update(c, slot, false));
  } else if (cmd === 'withdraw') {
    c.announced.delete(c.i);
    watches.set(c.i, { kind: 'withdrawn', since: Date.now() });
    c.socket?.write(update(c, c.i, true));
  }
});
process.stdin.on('end', () => process.exit(0));
