// Runs a Fib inside a network namespace for the interop tests (Node cannot setns, so the test starts this
// under `ip netns exec <ns> node driver.mjs '<FibOptions as JSON>'`). Plain JS over the compiled dist/.
// Protocol, one JSON object per line: stdin {id, op, args}; stdout {id, result} | {id, error} | {event}.
import { createInterface } from 'node:readline';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';

const { Fib, NetlinkBackend } = await import(new URL('../../../dist/routing/index.js', import.meta.url));
// FibOptions as JSON; `netlink` holds the NetlinkBackend's options (e.g. a small recvBufferBytes).
const { netlink, ...opts } = JSON.parse(process.argv[2] ?? '{}');
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const fib = new Fib({ backend: new NetlinkBackend(netlink), ...opts, onEvent: (e) => out({ event: e }) });

const ops = {
  start: () => fib.start(),
  set: ([prefix, nexthops]) => fib.set(prefix, nexthops),
  setMany: ([prefixes, nexthops]) => fib.setMany(prefixes, nexthops),
  setRange: ([first, count, step, nexthops]) => {
    // IPv4 keys first, first + step*64, …: avoids shipping 100,000 keys over the pipe.
    const p = new Array(count),
      n = new Array(count);
    for (let i = 0; i < count; i++) {
      p[i] = first + i * step * 64;
      n[i] = nexthops;
    }
    fib.setMany(p, n);
  },
  setBlackholes: ([prefixes, kind, metric]) => fib.setBlackholes(prefixes, kind, metric),
  releaseStale: () => fib.releaseStale(),
  flushed: () => fib.flushed(),
  entries: () => fib.entries(),
  stats: () => fib.stats(),
  // Keeps this process's main thread busy (as BGP work would), e.g. while the test floods the kernel.
  busy: ([ms]) => {
    const end = Date.now() + ms;
    while (Date.now() < end);
  },
  // Closes every netlink socket of this process under the Fib's feet (as a bug or a dying namespace might):
  // the sockets' threads must report it, open new ones and catch up. Returns how many were closed.
  closeNetlinkSockets: () => {
    const inodes = new Set(
      readFileSync('/proc/self/net/netlink', 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/).pop()),
    );
    const koffi = createRequire(import.meta.url)('koffi');
    const close = koffi.load('libc.so.6').func('int close(int)');
    let n = 0;
    for (const fd of readdirSync('/proc/self/fd')) {
      let link = '';
      try {
        link = readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1]) && close(Number(fd)) === 0) n++;
    }
    return n;
  },
  close: async ([o]) => {
    await fib.close(o);
    setImmediate(() => process.exit(0));
  },
};

for await (const line of createInterface({ input: process.stdin })) {
  const { id, op, args } = JSON.parse(line);
  try {
    out({ id, result: (await ops[op](args ?? [])) ?? null });
  } catch (err) {
    out({ id, error: String(err?.stack ?? err) });
  }
}
