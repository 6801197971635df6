#!/usr/bin/env node
// A fast standalone BGP sender for benchmarks, hand-encoded (no dependency on bgp/wire). It connects to a BGP
// speaker, completes OPEN/KEEPALIVE, streams COUNT IPv4 /24 prefixes (11.0.0.0/24 upwards) packed PER_UPDATE
// per UPDATE with one shared attribute set, and reports on stdout, one JSON line per event:
//   {"event":"established","t":<ms>}  {"event":"sent","t":<ms>,"count":N,"updates":U}  {"event":"closed","t":<ms>}
// Commands on stdin, one per line: `withdraw` (withdraw everything, in packed UPDATEs), `close` (drop the TCP
// session without a NOTIFICATION), `notify` (Cease, then close).
//
//   node sender.mjs --peer 10.88.0.2 --local 10.88.0.1 --asn 65001 --count 1000000 [--per-update 1000]
//                   [--port 179] [--next-hop 10.88.0.1] [--hold 240] [--router-id 10.88.0.1]
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { cliArgs, emit, KEEPALIVE, message, openMessage } from './bgp-encode.mjs';

const args = cliArgs();
const peer = args.peer;
const local = args.local;
const asn = Number(args.asn ?? 65001);
const count = Number(args.count ?? 100000);
const perUpdate = Number(args['per-update'] ?? 1000);
const port = Number(args.port ?? 179);
const nextHop = args['next-hop'] ?? local;
const hold = Number(args.hold ?? 240);
const routerId = args['router-id'] ?? local;

const ip4 = (s) => Buffer.from(s.split('.').map(Number));

const open = () => openMessage({ asn, hold, routerId: ip4(routerId) });

// ORIGIN IGP, AS_PATH (one AS_SEQUENCE of our AS, 4 octets), NEXT_HOP.
const asPath = Buffer.alloc(6);
asPath[0] = 2;
asPath[1] = 1;
asPath.writeUInt32BE(asn, 2);
const ATTRS = Buffer.concat([
  Buffer.from([0x40, 1, 1, 0]),
  Buffer.from([0x40, 2, asPath.length]),
  asPath,
  Buffer.from([0x40, 3, 4]),
  ip4(nextHop),
]);
const BASE = (11 << 24) >>> 0;

/** Prefixes [from, to) as 4-byte /24 NLRI entries. */
function nlri(from, to) {
  const b = Buffer.alloc((to - from) * 4);
  for (let i = from, o = 0; i < to; i += 1, o += 4) {
    const a = (BASE + i * 256) >>> 0;
    b[o] = 24;
    b[o + 1] = a >>> 24;
    b[o + 2] = (a >>> 16) & 0xff;
    b[o + 3] = (a >>> 8) & 0xff;
  }
  return b;
}

function updates(withdraw) {
  const out = [];
  for (let from = 0; from < count; from += perUpdate) {
    const prefixes = nlri(from, Math.min(count, from + perUpdate));
    const body = withdraw
      ? Buffer.concat([u16(prefixes.length), prefixes, u16(0)])
      : Buffer.concat([u16(0), u16(ATTRS.length), ATTRS, prefixes]);
    out.push(message(2, body));
  }
  return out;
}

function u16(n) {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** Write messages in large chunks, honouring backpressure. */
async function stream(socket, msgs) {
  const CHUNK = 256;
  for (let i = 0; i < msgs.length; i += CHUNK) {
    if (!socket.write(Buffer.concat(msgs.slice(i, i + CHUNK))))
      await new Promise((r) => socket.once('drain', r));
  }
}

const toSend = updates(false);
const socket = connect({ host: peer, port, localAddress: local });
socket.setNoDelay(true);
let pending = Buffer.alloc(0);
let state = 'OpenSent';
let keepaliveTimer;
socket.on('connect', () => socket.write(open()));
socket.on('data', (chunk) => {
  pending = Buffer.concat([pending, chunk]);
  while (pending.length >= 19) {
    const len = pending.readUInt16BE(16);
    if (pending.length < len) break;
    const type = pending[18];
    const body = pending.subarray(19, len);
    pending = pending.subarray(len);
    if (type === 3) {
      emit('notification', { code: body[0], subcode: body[1] });
    } else if (type === 1 && state === 'OpenSent') {
      state = 'OpenConfirm';
      socket.write(KEEPALIVE);
      const peerHold = body.readUInt16BE(3);
      const negotiated = Math.min(peerHold, hold);
      if (negotiated > 0)
        keepaliveTimer = setInterval(() => socket.write(KEEPALIVE), (negotiated / 3) * 1000);
    } else if (type === 4 && state === 'OpenConfirm') {
      state = 'Established';
      emit('established');
      void stream(socket, toSend).then(() => emit('sent', { count, updates: toSend.length }));
    }
  }
});
socket.on('error', (err) => emit('error', { message: err.message }));
socket.on('close', () => {
  clearInterval(keepaliveTimer);
  emit('closed');
  process.exit(0);
});

createInterface({ input: process.stdin }).on('line', async (line) => {
  const cmd = line.trim();
  if (cmd === 'withdraw') {
    await stream(socket, updates(true));
    emit('withdrawn', { count });
  } else if (cmd === 'close') {
    socket.destroy();
  } else if (cmd === 'notify') {
    socket.end(message(3, Buffer.from([6, 2])));
  }
});
