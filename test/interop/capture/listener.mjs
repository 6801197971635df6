#!/usr/bin/env node
// A minimal BGP capture listener: accepts one BGP connection, answers with a hand-encoded OPEN (4-octet AS,
// multiprotocol IPv4 + IPv6 unicast, route refresh) and KEEPALIVEs, and records every message it receives,
// split by the 19-byte header, one JSON line per message ({ "t": ms, "hex": "ffff…" }) appended to OUT.
//
//   node listener.mjs ADDRESS PORT ASN BGP_ID HOLD OUT
import { appendFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

const [address, portArg, asnArg, bgpId, holdArg, out] = process.argv.slice(2);
const port = Number(portArg);
const asn = Number(asnArg);
const hold = Number(holdArg);
writeFileSync(out, '');

function header(type, body) {
  const msg = Buffer.alloc(19 + body.length, 0xff);
  msg.writeUInt16BE(19 + body.length, 16);
  msg[18] = type;
  body.copy(msg, 19);
  return msg;
}

function open() {
  const cap = (code, value) => Buffer.concat([Buffer.from([code, value.length]), value]);
  const as4 = Buffer.alloc(4);
  as4.writeUInt32BE(asn);
  const caps = Buffer.concat([
    cap(1, Buffer.from([0, 1, 0, 1])), // multiprotocol IPv4 unicast
    cap(1, Buffer.from([0, 2, 0, 1])), // multiprotocol IPv6 unicast
    cap(2, Buffer.alloc(0)), // route refresh
    cap(65, as4), // 4-octet AS
  ]);
  const body = Buffer.alloc(10);
  body[0] = 4;
  body.writeUInt16BE(asn > 0xffff ? 23456 : asn, 1);
  body.writeUInt16BE(hold, 3);
  Buffer.from(bgpId.split('.').map(Number)).copy(body, 5);
  body[9] = caps.length + 2;
  return header(1, Buffer.concat([body, Buffer.from([2, caps.length]), caps]));
}

const keepalive = header(4, Buffer.alloc(0));

const server = createServer((socket) => {
  let pending = Buffer.alloc(0);
  let opened = false;
  const timer = setInterval(() => socket.write(keepalive), Math.max(1, Math.floor(hold / 3)) * 1000);
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 19) {
      const length = pending.readUInt16BE(16);
      if (length < 19 || pending.length < length) break;
      const msg = pending.subarray(0, length);
      pending = pending.subarray(length);
      appendFileSync(out, `${JSON.stringify({ t: Date.now(), hex: msg.toString('hex') })}\n`);
      if (msg[18] === 1 && !opened) {
        opened = true;
        socket.write(open());
        socket.write(keepalive);
      }
    }
  });
  socket.on('error', () => undefined);
  socket.on('close', () => clearInterval(timer));
});
server.listen(port, address, () => console.log(`listening on ${address}:${port}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
