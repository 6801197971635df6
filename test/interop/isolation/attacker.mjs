// A hostile BGP peer for test/interop/isolation.test.ts, run inside a namespace with `ip netns exec`:
//   node attacker.mjs MODE REMOTE LOCAL ASN [ARG…]
// MODE
//   storm N            establish, stop reading, send N ROUTE-REFRESH; stay connected
//   flood N            open N TCP connections from LOCAL that never send a byte; report how many were closed
//   silent N           open N TCP connections that never send a byte; stay connected
//   flap COUNT MS R    COUNT times: connect, establish, announce R prefixes, close; MS between the starts
// It prints one JSON line per event on stdout and exits when stdin ends (or, for flap, when done).
import net from 'node:net';

const [mode, remote, local, asnArg, ...rest] = process.argv.slice(2);
const asn = Number(asnArg);
const emit = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const sockets = [];
process.stdin.on('end', () => {
  for (const s of sockets) s.destroy();
  process.exit(0);
});
process.stdin.resume();

const u16 = (n) => Buffer.from([n >> 8, n & 255]);
const u32 = (n) => Buffer.from([n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255]);
const ip4 = (a) => Buffer.from(a.split('.').map(Number));
const message = (type, body) =>
  Buffer.concat([Buffer.alloc(16, 0xff), u16(19 + body.length), Buffer.from([type]), body]);
const KEEPALIVE = message(4, Buffer.alloc(0));
const REFRESH = message(5, Buffer.from([0, 1, 0, 1]));
function open(hold = 90) {
  const caps = Buffer.concat([
    Buffer.from([1, 4, 0, 1, 0, 1]),
    Buffer.from([2, 0]),
    Buffer.from([65, 4]),
    u32(asn),
  ]);
  const params = Buffer.concat([Buffer.from([2, caps.length]), caps]);
  return message(
    1,
    Buffer.concat([
      Buffer.from([4]),
      u16(asn > 0xffff ? 23456 : asn),
      u16(hold),
      ip4(local),
      Buffer.from([params.length]),
      params,
    ]),
  );
}
const attr = (flags, type, value) => Buffer.concat([Buffer.from([flags, type, value.length]), value]);
/** UPDATEs announcing `count` /24s of 10.200.0.0/16 and up, each at most ~4 KB. */
function updates(count) {
  const attrs = Buffer.concat([
    attr(0x40, 1, Buffer.from([0])),
    attr(0x40, 2, Buffer.concat([Buffer.from([2, 1]), u32(asn)])),
    attr(0x40, 3, ip4(local)),
  ]);
  const out = [];
  for (let i = 0; i < count; i += 900) {
    const nlri = [];
    for (let j = i; j < Math.min(count, i + 900); j++)
      nlri.push(Buffer.from([24, 10, 200 + (j >> 8), j & 255]));
    out.push(message(2, Buffer.concat([u16(0), u16(attrs.length), attrs, ...nlri])));
  }
  return out;
}

/** Frame what the speaker sends; call `onMessage(type, msg)` for each. */
function reader(sock, onMessage) {
  let buf = Buffer.alloc(0);
  sock.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 19) {
      const len = buf.readUInt16BE(16);
      if (buf.length < len) break;
      const msg = buf.subarray(0, len);
      buf = buf.subarray(len);
      onMessage(msg[18], msg);
    }
  });
}

function connect(allowHalfOpen = false) {
  const sock = net.connect({ host: remote, port: 179, localAddress: local, allowHalfOpen });
  sock.on('error', () => undefined);
  sockets.push(sock);
  return sock;
}

if (mode === 'storm') {
  const n = Number(rest[0] ?? 3000);
  const sock = connect();
  sock.on('connect', () => sock.write(Buffer.concat([open(), KEEPALIVE])));
  let done = false;
  reader(sock, (type) => {
    if (type !== 4 || done) return;
    done = true;
    sock.pause(); // reads nothing more: what nodebgp sends piles up in the kernel, then in nodebgp
    sock.write(Buffer.concat(Array.from({ length: n }, () => REFRESH)));
    emit({ event: 'sent', refreshes: n });
  });
  sock.on('close', () => emit({ event: 'closed' }));
} else if (mode === 'flood' || mode === 'silent') {
  const n = Number(rest[0] ?? 2000);
  let opened = 0;
  let closed = 0;
  let failed = 0;
  const batch = async (from) => {
    await Promise.all(
      Array.from({ length: Math.min(100, n - from) }, () => {
        const sock = connect(true);
        return new Promise((resolve) => {
          sock.once('connect', () => {
            opened++;
            resolve();
          });
          sock.resume(); // read (and drop) what nodebgp sends, so its FIN is seen as 'end'
          sock.once('error', () => {
            failed++;
            resolve();
          });
          let counted = false;
          const gone = () => {
            if (!counted) {
              counted = true;
              closed++;
            }
          };
          sock.once('end', gone);
          sock.once('close', gone);
        });
      }),
    );
  };
  for (let i = 0; i < n; i += 100) await batch(i);
  emit({ event: 'opened', opened, failed });
  setInterval(() => emit({ event: 'count', opened, closed, failed }), 500);
} else if (mode === 'flap') {
  const count = Number(rest[0] ?? 15);
  const every = Number(rest[1] ?? 1000);
  const routes = updates(Number(rest[2] ?? 2000));
  const start = Date.now();
  for (let i = 0; i < count; i++) {
    const at = start + i * every;
    await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
    const result = await new Promise((resolve) => {
      const sock = connect();
      let up = false;
      const timer = setTimeout(() => {
        sock.destroy();
        resolve('timeout');
      }, every - 50);
      sock.on('connect', () => sock.write(Buffer.concat([open(), KEEPALIVE])));
      reader(sock, (type) => {
        if (type === 4 && !up) {
          up = true;
          for (const u of routes) sock.write(u);
          setTimeout(() => sock.destroy(), 200);
        }
      });
      sock.on('close', () => {
        clearTimeout(timer);
        resolve(up ? 'established' : 'refused');
      });
    });
    emit({ event: 'flap', i, result });
  }
  emit({ event: 'done' });
  process.exit(0);
} else {
  emit({ event: 'error', message: `unknown mode ${mode}` });
  process.exit(2);
}
