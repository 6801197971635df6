// A scripted BGP peer for test/interop/malformed.test.ts, run inside a namespace with `ip netns exec`:
//   node scripted-peer.mjs REMOTE LOCAL PRE_HEX[,…] POST_HEX[,…]
// connects from LOCAL to REMOTE:179, writes the PRE messages at once and the POST messages after nodebgp's first
// KEEPALIVE, then prints one JSON line per event on stdout ({event:'msg',type,code,subcode,data} for every message
// nodebgp sends, {event:'sent'} after POST, {event:'closed'}); it exits when the socket closes or stdin ends.
import net from 'node:net';

const [remote, local, preArg = '', postArg = ''] = process.argv.slice(2);
const hexList = (s) =>
  s
    .split(',')
    .filter((h) => h.length > 0)
    .map((h) => Buffer.from(h, 'hex'));
const pre = hexList(preArg);
const post = hexList(postArg);
const emit = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

const sock = net.connect({ host: remote, port: 179, localAddress: local });
let buf = Buffer.alloc(0);
let postSent = false;
sock.on('connect', () => {
  emit({ event: 'connected' });
  for (const m of pre) sock.write(m);
  if (post.length === 0) {
    postSent = true;
    emit({ event: 'sent' });
  }
});
sock.on('data', (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  while (buf.length >= 19) {
    const len = buf.readUInt16BE(16);
    if (buf.length < len) break;
    const msg = buf.subarray(0, len);
    buf = buf.subarray(len);
    const type = msg[18];
    if (type === 3) {
      emit({ event: 'msg', type, code: msg[19], subcode: msg[20], data: msg.subarray(21).toString('hex') });
    } else {
      emit({ event: 'msg', type });
    }
    if (type === 4 && !postSent) {
      postSent = true;
      for (const m of post) sock.write(m);
      emit({ event: 'sent' });
    }
  }
});
sock.on('error', (e) => emit({ event: 'error', message: e.message }));
sock.on('close', () => {
  emit({ event: 'closed' });
  process.exit(0);
});
process.stdin.on('end', () => sock.destroy());
process.stdin.resume();
