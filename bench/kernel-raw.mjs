#!/usr/bin/env node
// Kernel route-install benchmark: the RAW CEILING against the FIB.
//
//   npm run build && node bench/kernel-raw.mjs [100000 1000000]
//
// (root; creates throwaway network namespaces with the toolkit's Lab and deletes them, also on failure and
// on SIGINT.)
// For each count N, in a fresh namespace with a veth whose address is 10.0.0.1/24:
//   raw-ack-each — N RTM_NEWROUTE (NLM_F_REQUEST|NLM_F_ACK|NLM_F_CREATE|NLM_F_REPLACE) for /24s under 11.0.0.0/8
//         via 10.0.0.2 dev v0, encoded BEFORE the clock starts into 64 KiB batches, sent one batch at a time
//         on a bare socket (netlink/channel.ts), timed until the last ack: one ack datagram per route;
//   raw — the same, but only the last message of each batch asks for an ack (the kernel still answers a
//         refused message with an error): the ceiling, and what the Fib does;
//   fib — the same N routes through Fib.setMany(), timed until fib.flushed(). (The Fib writes from a worker
//         thread, names a kernel nexthop object instead of carrying the gateway in every route, and writes a
//         backlog of 16k+ prefixes in random order, which the kernel's trie prefers.)
// Prints routes/s for each and the ratio fib time / raw time. The routes are counted back with a dump.
//
// Measured 2026-11-23 05:06 UTC on the 2-core dev VM (Linux 6.18), one run:
//   raw-ack-each   100,000:  1258 ms   79,483/s    1,000,000: 10766 ms   92,887/s
//   raw            100,000:   455 ms  219,910/s    1,000,000:  5232 ms  191,132/s
//   fib            100,000:   491 ms  203,609/s    1,000,000:  4061 ms  246,257/s   fib/raw 1.08x / 0.78x
// Runs vary by ±20% on this shared machine; compare the columns of one run only. (These figures predate the
// koffi transport: the raw runner then kept up to 8192 messages unanswered on the addon's socket; it now sends
// one batch at a time and reads its answers, as the writer thread does.)
import { spawnSync, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const dist = new URL('../dist/routing/', import.meta.url);

function inner(mode, n) {
  return spawnSync(
    'ip',
    [
      'netns',
      'exec',
      currentNs,
      process.execPath,
      '--max-old-space-size=4096',
      self,
      '--inner',
      mode,
      String(n),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
}

let currentNs = '';
/** A fresh namespace with a veth v0 (10.0.0.1/24) ↔ v1, both up, for one measurement. */
async function withNamespace(fn) {
  const { Lab } = await import(new URL('../dist/toolkit/index.js', import.meta.url));
  const lab = new Lab();
  try {
    const ns = lab.namespace('raw');
    ns.veth('v0', 'v1', '10.0.0.1/24');
    currentNs = ns.name;
    return fn();
  } finally {
    lab.teardownSync();
  }
}

function prefixKey(i) {
  // 11.0.0.0/24, 11.0.1.0/24, … (≤ 2^24 routes), in nodebgp's key encoding: address * 64 + length.
  return (0x0b000000 + i * 256) * 64 + 24;
}

/**
 * The ceiling: N routes encoded before the clock starts into 64 KiB batches, sent one at a time on a bare
 * socket. `ackEach`: every message asks for an ack (one datagram back per route); otherwise
 * only the last of each batch does and the kernel answers the others only if they fail (what the Fib does).
 */
async function runRaw(n, ackEach) {
  const { writeRouteMsg } = await import(new URL('netlink/encode.js', dist));
  const { RtnlChannel } = await import(new URL('netlink/channel.js', dist));
  const { channel: sock } = RtnlChannel.open();
  const ifindex = Number(execFileSync('cat', ['/sys/class/net/v0/ifindex'], { encoding: 'utf8' }));
  const gw = Buffer.from([10, 0, 0, 2]);
  const batches = [];
  const counts = [];
  let buf = Buffer.alloc(65536),
    off = 0,
    count = 0,
    lastOff = 0;
  const close = () => {
    if (!ackEach) buf.writeUInt16LE(buf.readUInt16LE(lastOff + 6) | 0x4, lastOff + 6);
    batches.push(buf.subarray(0, off));
    counts.push(count);
  };
  for (let i = 0; i < n; i++) {
    if (off + 200 > buf.length) {
      close();
      buf = Buffer.alloc(65536);
      off = 0;
      count = 0;
    }
    const dst = Buffer.alloc(4);
    dst.writeUInt32BE(0x0b000000 + i * 256);
    lastOff = off;
    off = writeRouteMsg(buf, off, 24, 0x1 | (ackEach ? 0x4 : 0) | 0x400 | 0x100, i + 1, {
      family: 2,
      dstLen: 24,
      dst,
      tos: 0,
      table: 254,
      protocol: 202,
      scope: 0,
      type: 1,
      flags: 0,
      priority: 20,
      nexthops: [{ gateway: gw, oif: ifindex, flags: 0, hops: 0 }],
    });
    count++;
  }
  close();
  // Sent as the Fib's writer thread sends: one batch at a time, its answers read before the next.
  const t0 = process.hrtime.bigint();
  let errors = 0;
  for (let i = 0, seq = 0; i < batches.length; i++) {
    const first = seq + 1;
    seq += counts[i];
    const r = sock.sendBatch(batches[i], batches[i].length, first, seq);
    if (r.lost) throw new Error(`batch lost: errno ${r.lost}`);
    errors += r.failed?.filter(([, e]) => e !== 0).length ?? 0;
  }
  sock.close();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, errors };
}

async function runFib(n) {
  const { Fib, NetlinkBackend } = await import(new URL('index.js', dist));
  const fib = new Fib({ backend: new NetlinkBackend() });
  await fib.start();
  const prefixes = new Array(n),
    nexthops = new Array(n),
    nh = ['10.0.0.2'];
  for (let i = 0; i < n; i++) {
    prefixes[i] = prefixKey(i);
    nexthops[i] = nh;
  }
  const t0 = process.hrtime.bigint();
  fib.setMany(prefixes, nexthops);
  await fib.flushed();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const s = fib.stats();
  await fib.close({ removeRoutes: false });
  return { ms, errors: s.failed + s.unresolvable + s.pending };
}

async function countRoutes() {
  const { RtnlChannel } = await import(new URL('netlink/channel.js', dist));
  const { dumpMessages } = await import(new URL('netlink/codec.js', dist));
  const { channel } = RtnlChannel.open();
  const r = channel.dump(26, 2);
  channel.close();
  return dumpMessages(r.chunks).filter((m) => m.type === 24 && m.payload[5] === 202).length;
}

if (process.argv[2] === '--inner') {
  const [mode, n] = [process.argv[3], Number(process.argv[4])];
  const r =
    mode === 'raw'
      ? await runRaw(n, false)
      : mode === 'raw-ack-each'
        ? await runRaw(n, true)
        : await runFib(n);
  r.routes = await countRoutes();
  process.stdout.write(JSON.stringify(r) + '\n');
} else {
  const sizes = process.argv.slice(2).map(Number);
  for (const n of sizes.length ? sizes : [100_000, 1_000_000]) {
    const res = {};
    for (const mode of ['raw-ack-each', 'raw', 'fib']) {
      const out = await withNamespace(() => inner(mode, n));
      if (out.status !== 0) throw new Error(`${mode} ${n} failed: ${out.stdout}`);
      res[mode] = JSON.parse(out.stdout.trim().split('\n').pop());
      const r = res[mode];
      console.log(
        `${mode.padEnd(12)} ${String(n).padStart(8)} routes: ${r.ms.toFixed(0).padStart(6)} ms  ${Math.round(
          n / (r.ms / 1000),
        )
          .toLocaleString('en')
          .padStart(9)} routes/s  errors ${r.errors}  in kernel ${r.routes}`,
      );
    }
    console.log(`fib/raw ${n}: ${(res.fib.ms / res.raw.ms).toFixed(2)}x`);
  }
}
