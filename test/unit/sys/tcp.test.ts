/**
 * The Linux transport on loopback (no privileges needed): TCP-MD5 keys, IP_MINTTL, errors as events. The
 * kernel is the judge: a wrong key or a low TTL is dropped before TCP sees it, so those connections must never
 * complete, while the right ones do.
 */
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { libcAvailable } from '../../../sys/libc.js';
import { LinuxTcpTransport, linuxTcpTransport, type TcpListener } from '../../../sys/tcp.js';

const available = libcAvailable();
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function transport(): LinuxTcpTransport {
  const t = linuxTcpTransport();
  if (t instanceof Error) throw t;
  return t;
}

async function listener(t: LinuxTcpTransport, onData?: (d: Buffer) => void): Promise<TcpListener> {
  const l = await t.listen(
    { host: '127.0.0.1', port: 0 },
    {
      connection: (s) => {
        cleanups.push(() => s.destroy());
        s.on('error', () => undefined);
        s.on('data', (d) => {
          onData?.(d);
          s.write(d);
        });
      },
    },
  );
  cleanups.push(() => l.close());
  return l;
}

/** 'connect' (then an echo), an error code, or 'silence' after `ms`. */
function outcome(s: net.Socket, ms: number): Promise<string> {
  cleanups.push(() => s.destroy());
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('silence'), ms);
    s.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      resolve(e.code ?? e.message);
    });
    s.on('connect', () => s.write('ping'));
    s.on('data', (d) => {
      clearTimeout(t);
      resolve(`echo ${d.toString()}`);
    });
  });
}

describe.skipIf(!available)('LinuxTcpTransport', () => {
  it('connects with the right TCP-MD5 password and never with a wrong one, and says why', async () => {
    const server = transport();
    server.setPeerOptions('127.0.0.1', { password: 'right horse' });
    const l = await listener(server);
    const port = l.address()!.port;
    expect(
      await outcome(transport().connect({ host: '127.0.0.1', port, password: 'right horse' }), 3000),
    ).toBe('echo ping');
    expect(await outcome(transport().connect({ host: '127.0.0.1', port, password: 'wrong' }), 1200)).toBe(
      'silence',
    );
    // unsigned: also dropped (the listener has a key for 127.0.0.1)
    expect(await outcome(net.connect({ host: '127.0.0.1', port }), 1200)).toBe('silence');
    const why = server.diagnose('127.0.0.1') ?? '';
    expect(why).toMatch(/TCP-MD5 signature mismatch|does not sign/);
    expect(why).not.toContain('right horse');
  });

  it('counts unanswered attempts of its own and guesses the password', async () => {
    const server = transport();
    server.setPeerOptions('127.0.0.1', { password: 'a' });
    const port = (await listener(server)).address()!.port;
    const client = transport();
    client.setPeerOptions('127.0.0.1', { password: 'b' });
    const s = client.connect({ host: '127.0.0.1', port });
    expect(await outcome(s, 800)).toBe('silence');
    s.destroy();
    await new Promise((r) => setImmediate(r));
    expect(client.diagnose('127.0.0.1')).toMatch(/^(no answer: 1 connection attempts timed out|TCP-MD5)/);
  });

  it("emits no data before 'connect', though the peer writes the moment it accepts", async () => {
    // A BGP peer sends its OPEN at once; data ahead of 'connect' is an FSM error in Connect state. The peer runs
    // on its own thread, and this one blocks right after connect(): completion and data are then both ready in
    // the same turn of the event loop, whichever order Node's watchers report them in.
    const peer = new Worker(
      `const net = require('node:net'); const { parentPort } = require('node:worker_threads');
       const server = net.createServer((s) => s.end('OPEN'));
       server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));`,
      { eval: true },
    );
    cleanups.push(() => peer.terminate());
    const port = await new Promise<number>((r) => peer.once('message', r));
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 10; i++) {
      const s = transport().connect({ host: '127.0.0.1', port });
      cleanups.push(() => s.destroy());
      Atomics.wait(pause, 0, 0, 100);
      const order: string[] = [];
      await new Promise<void>((resolve, reject) => {
        s.on('connect', () => order.push('connect'));
        s.on('data', (d) => order.push(`data ${d.toString()}`));
        s.on('error', reject);
        s.on('end', resolve);
      });
      expect(order).toEqual(['connect', 'data OPEN']);
    }
  });

  it('reports a refused connection as an error event, never a throw', async () => {
    expect(await outcome(transport().connect({ host: '127.0.0.1', port: 1 }), 2000)).toBe('ECONNREFUSED');
    expect(await outcome(transport().connect({ host: 'nonsense', port: 179 }), 2000)).toMatch(/not an IP/);
  });

  it('GTSM: TTL 255 passes IP_MINTTL 255; a default TTL (64) never reaches a socket that wants 255', async () => {
    const server = transport();
    server.setPeerOptions('127.0.0.1', { ttl: 255, minTtl: 255 });
    const port = (await listener(server)).address()!.port;
    expect(await outcome(transport().connect({ host: '127.0.0.1', port, ttl: 255, minTtl: 255 }), 3000)).toBe(
      'echo ping',
    );
    // Node's own socket sends TTL 64: the accepted socket drops its data, so nothing is echoed.
    expect(await outcome(net.connect({ host: '127.0.0.1', port }), 1200)).toBe('silence');
    // and our SYN to a plain listener is answered with TTL 64, below our minimum: never connected
    const plain = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    cleanups.push(() => plain.close());
    const plainPort = (plain.address() as net.AddressInfo).port;
    expect(
      await outcome(transport().connect({ host: '127.0.0.1', port: plainPort, minTtl: 255 }), 1200),
    ).toBe('silence');
  });
});
