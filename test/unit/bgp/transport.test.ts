/**
 * The speaker's transport hook (bgp/transport.ts): peers' socket options reach the transport, a session can be
 * reset from outside BGP (BFD), and with the Linux transport (sys/tcp.ts) a TCP-MD5 password decides whether
 * two speakers on loopback ever establish.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LocRibChanges, PeerConfig } from '../../../bgp/api.js';
import { Speaker } from '../../../bgp/speaker.js';
import { nodeTransport, type PeerSocketOptions, type Transport } from '../../../bgp/transport.js';
import { formatPrefix, parsePrefix, type PrefixKey } from '../../../ip/prefix.js';
import { libcAvailable } from '../../../sys/libc.js';
import { LinuxTcpTransport } from '../../../sys/tcp.js';
import { libc } from '../../../sys/libc.js';

const running: Speaker[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop('test over')));
});

function key(text: string): PrefixKey {
  const k = parsePrefix(text);
  if (k instanceof Error) throw k;
  return k;
}

async function speaker(address: string, asn: number, transport?: Transport): Promise<Speaker> {
  const s = new Speaker(
    { asn, routerId: address.replace(/^127/, '10'), listen: { address, port: 0 } },
    Date.now,
    transport,
  );
  running.push(s);
  await s.start();
  return s;
}

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const state = (s: Speaker, peer: string) => s.peers().find((p) => p.address === peer)?.state;

function peer(
  address: string,
  asn: number,
  port: number,
  local: string,
  over: Partial<PeerConfig> = {},
): PeerConfig {
  return { address, asn, port, localAddress: local, holdTime: 9, connectRetryTime: 1, ...over };
}

describe('transport hook', () => {
  it('hands each peer its socket options, and forgets them when the peer goes', async () => {
    const calls: [string, PeerSocketOptions | undefined][] = [];
    const recording: Transport = {
      ...nodeTransport,
      setPeerOptions: (address, options) => {
        calls.push([address, options]);
        return undefined;
      },
    };
    const s = await speaker('127.0.0.1', 65001, recording);
    s.addPeer(peer('127.0.0.9', 65009, 1, '127.0.0.1', { password: 'pw', ttlSecurity: 1 }));
    s.removePeer('127.0.0.9');
    expect(calls).toEqual([
      ['127.0.0.9', { password: 'pw', ttl: 255, minTtl: 255 }],
      ['127.0.0.9', undefined],
    ]);
  });

  it('refuses a password on plain node:net loudly, never silently unsigned', async () => {
    const s = await speaker('127.0.0.1', 65001);
    const logs: string[] = [];
    s.on('log', (e) => logs.push(`${e.level} ${e.event} ${'error' in e ? e.error : ''}`));
    s.addPeer(peer('127.0.0.9', 65009, 1, '127.0.0.1', { password: 'hunter2' }));
    expect(logs.find((l) => l.startsWith('error peer-socket-options'))).toMatch(/TCP-MD5/);
    expect(logs.join('\n')).not.toContain('hunter2');
  });

  it('resetPeer takes an Established session down at once, withdraws its routes, and it comes back', async () => {
    const a = await speaker('127.0.0.1', 65001);
    const b = await speaker('127.0.0.2', 65002);
    const learned = new Set<string>();
    a.on('loc-rib', (c: LocRibChanges) =>
      c.prefixes.forEach((p, i) =>
        c.nexthops[i] ? learned.add(formatPrefix(p)) : learned.delete(formatPrefix(p)),
      ),
    );
    a.addPeer(peer('127.0.0.2', 65002, b.address()!.port, '127.0.0.1'));
    b.addPeer(peer('127.0.0.1', 65001, a.address()!.port, '127.0.0.2', { passive: true }));
    b.setAdvertisements([{ prefix: key('10.244.2.0/24'), nextHop: '192.0.2.2' }]);
    await until(() => learned.has('10.244.2.0/24'), 8000, 'route at A');
    expect(a.resetPeer('127.0.0.2', 'bfd-down')).toBe(true);
    // synchronously: the session is down and the route is gone
    expect(state(a, '127.0.0.2')).toBe('Idle');
    expect(learned.has('10.244.2.0/24')).toBe(false);
    expect(a.peers()[0]).toMatchObject({ lastReason: 'bfd-down' });
    expect(a.resetPeer('127.0.0.2', 'bfd-down')).toBe(false); // already down
    expect(a.resetPeer('127.0.0.77', 'bfd-down')).toBe(false); // unknown
    await until(() => state(a, '127.0.0.2') === 'Established', 15000, 'session back');
  });
});

describe.skipIf(!libcAvailable())('TCP-MD5 between two speakers (Linux transport)', () => {
  const linux = () => new LinuxTcpTransport(libc() as Exclude<ReturnType<typeof libc>, Error>);

  async function md5Pair(passwordA: string, passwordB: string) {
    const ta = linux();
    const a = await speaker('127.0.0.1', 65001, ta);
    const b = await speaker('127.0.0.2', 65002, linux());
    a.addPeer(peer('127.0.0.2', 65002, b.address()!.port, '127.0.0.1', { password: passwordA }));
    b.addPeer(peer('127.0.0.1', 65001, a.address()!.port, '127.0.0.2', { password: passwordB }));
    return { a, b, ta };
  }

  it('the same password establishes', async () => {
    const { a, b } = await md5Pair('s3cret', 's3cret');
    await until(
      () => state(a, '127.0.0.2') === 'Established' && state(b, '127.0.0.1') === 'Established',
      10000,
      'Established',
    );
  });

  it('a different one never does, and the transport says why', async () => {
    const { a, ta } = await md5Pair('s3cret', 'other');
    await new Promise((r) => setTimeout(r, 2500));
    expect(state(a, '127.0.0.2')).not.toBe('Established');
    expect(a.peers()[0]!.establishedCount).toBe(0);
    const why = ta.diagnose('127.0.0.2') ?? '';
    expect(why).toMatch(/TCP-MD5/);
    expect(why).not.toMatch(/s3cret|other/);
  });
});
