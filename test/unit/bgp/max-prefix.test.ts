/**
 * Max-prefix per peer (issue 10 item 4): the guard's rules, the config rules (library and file alike), and a
 * raw peer on loopback that sends more than its limit — Cease 6/1 with the RFC 4486 data, held down for
 * `restartAfter`, then back; with `warningOnly` only a log line.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MaxPrefixGuard, maxPrefixData, maxPrefixesProblem } from '../../../bgp/max-prefix.js';
import { validatePeerConfig } from '../../../bgp/peer-config.js';
import { Speaker } from '../../../bgp/speaker.js';
import type { PeerConfig, SpeakerLogRecord } from '../../../bgp/api.js';
import { parseConfig } from '../../../daemon/config.js';
import { key } from '../../support/prefix.js';
import { encodeKeepalive } from '../../../bgp/wire/keepalive.js';
import { encodeOpen } from '../../../bgp/wire/open.js';
import { encodeUpdates } from '../../../bgp/wire/update-encode.js';
import {
  MESSAGE_KEEPALIVE,
  MESSAGE_NOTIFICATION,
  MESSAGE_OPEN,
  TYPE_OFFSET,
} from '../../../bgp/wire/iana.js';
import { RawPeer, rawOpen as open, until } from './raw-peer.js';

describe('MaxPrefixGuard', () => {
  it('warns once at 75 %, resets over the limit, or warns once with warningOnly', () => {
    const g = new MaxPrefixGuard();
    const limit = { limit: 100 };
    expect(g.check(limit, 74)).toBe('ok');
    expect(g.check(limit, 75)).toBe('threshold');
    expect(g.check(limit, 90)).toBe('ok');
    expect(g.check(limit, 100)).toBe('ok');
    expect(g.check(limit, 101)).toBe('cease');
    const w = new MaxPrefixGuard();
    const warn = { limit: 100, warningOnly: true };
    expect(w.check(warn, 200)).toBe('over-warning');
    expect(w.check(warn, 300)).toBe('ok');
    expect(new MaxPrefixGuard().check(undefined, 1e9)).toBe('ok');
  });

  it('carries AFI, SAFI and the limit as RFC 4486 §4 data', () => {
    expect(Buffer.from(maxPrefixData(2, 1, 1000)).toString('hex')).toBe('00020100' + '0003e8');
  });

  it('is one rule for the library and the config file', () => {
    expect(maxPrefixesProblem({ limit: 0 })).toBe('limit must be 1..4294967295');
    expect(maxPrefixesProblem({ limit: 10, restartAfter: -1 })).toBe('restartAfter must be 0..65535 seconds');
    expect(maxPrefixesProblem({ limit: 10, extra: 1 })).toContain('unknown key "extra"');
    expect(maxPrefixesProblem({ limit: 10, warningOnly: true, restartAfter: 0 })).toBeUndefined();
    const bad: PeerConfig = { address: '10.0.0.1', asn: 65001, maxPrefixes: { limit: 0 } };
    expect(validatePeerConfig(bad)).toBe(
      'maxPrefixes {"limit":0} is not allowed: limit must be 1..4294967295',
    );
    const file = (mp: unknown) => () =>
      parseConfig(
        JSON.stringify({ asn: 65002, node: { address: '10.77.0.2' }, peers: [{ ...bad, maxPrefixes: mp }] }),
        'x.yaml',
      );
    expect(file({ limit: 0 })).toThrow(/peers\[0\]\.maxPrefixes\.limit/);
    expect(file({ limit: 5, restartAfter: 30 })().peers[0]!.maxPrefixes).toEqual({
      limit: 5,
      restartAfter: 30,
    });
  });
});

const speakers: Speaker[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(speakers.splice(0).map((s) => s.stop()));
});

function update(count: number, from = 0): Buffer[] {
  const prefixes = Array.from({ length: count }, (_, i) => key(`10.${from + i}.0.0/16`));
  return encodeUpdates(
    { origin: 0, asPath: [{ type: 2, asns: [65003] }] },
    { afi: 1, safi: 1, nextHop: '192.0.2.3', prefixes },
    { fourOctetAs: true, ibgp: false },
  );
}

async function setup(maxPrefixes: PeerConfig['maxPrefixes']) {
  const sp = new Speaker({ asn: 65002, routerId: '10.0.0.2', listen: { address: '127.0.0.2', port: 0 } });
  speakers.push(sp);
  const logs: SpeakerLogRecord[] = [];
  sp.on('log', (r) => logs.push(r));
  await sp.start();
  sp.addPeer({ address: '127.0.0.3', asn: 65003, passive: true, holdTime: 30, maxPrefixes });
  const port = sp.address()!.port;
  const connect = async (): Promise<RawPeer> => {
    const raw = await RawPeer.connect(port, '127.0.0.3');
    sockets.push(raw.socket);
    raw.socket.write(encodeOpen(open({ holdTime: 30 })));
    raw.socket.write(encodeKeepalive());
    await raw.waitFor(MESSAGE_KEEPALIVE);
    return raw;
  };
  return { sp, logs, connect, view: () => sp.peers()[0]! };
}

describe('a peer over its max-prefix', () => {
  it('gets Cease 6/1 with AFI/SAFI/limit, is held down for restartAfter, then comes back', async () => {
    const { sp, logs, connect, view } = await setup({ limit: 10, restartAfter: 2 });
    const raw = await connect();
    for (const u of update(8)) raw.socket.write(u);
    await until(() => view().received === 8, { what: '8 routes', timeout: 5000 });
    expect(logs.some((l) => l.event === 'max-prefixes' && l.action === 'threshold')).toBe(true);
    for (const u of update(3, 100)) raw.socket.write(u);
    await raw.waitFor(MESSAGE_NOTIFICATION);
    expect(raw.notification()).toEqual([6, 1]);
    const n = raw.received.find((m) => m[TYPE_OFFSET] === MESSAGE_NOTIFICATION)!;
    expect(n.subarray(TYPE_OFFSET + 3).toString('hex')).toBe('0001010000000a');
    await until(() => view().state === 'Idle', { what: 'down', timeout: 5000 });
    expect(view().lastReason).toBe('max-prefixes');
    expect(sp.routes()).toEqual([]);
    // At once: refused.
    const early = await RawPeer.connect(sp.address()!.port, '127.0.0.3');
    sockets.push(early.socket);
    await until(() => early.closed, { what: 'refused while held', timeout: 2000 });
    expect(early.types()).not.toContain(MESSAGE_OPEN);
    // After restartAfter: accepted again.
    await new Promise((r) => setTimeout(r, 2100));
    await connect();
    await until(() => view().state === 'Established', { what: 'back', timeout: 5000 });
  });

  it('with warningOnly: one warning, the session and the routes stay', async () => {
    const { logs, connect, view } = await setup({ limit: 5, warningOnly: true });
    const raw = await connect();
    for (const u of update(8)) raw.socket.write(u);
    for (const u of update(8, 50)) raw.socket.write(u);
    await until(() => view().received === 16, { what: 'all routes', timeout: 5000 });
    expect(view().state).toBe('Established');
    expect(logs.filter((l) => l.event === 'max-prefixes' && l.action === 'over-warning')).toHaveLength(1);
    expect(raw.types()).not.toContain(MESSAGE_NOTIFICATION);
  });

  it('with restartAfter 0: stays down until its configuration changes', async () => {
    const { sp, connect, view } = await setup({ limit: 2, restartAfter: 0 });
    const raw = await connect();
    for (const u of update(3)) raw.socket.write(u);
    await raw.waitFor(MESSAGE_NOTIFICATION);
    await until(() => view().state === 'Idle', { what: 'down', timeout: 5000 });
    expect(sp.peers()[0]!.lastReason).toBe('max-prefixes');
    sp.updatePeer({
      address: '127.0.0.3',
      asn: 65003,
      passive: true,
      holdTime: 30,
      maxPrefixes: { limit: 100 },
    });
    await connect();
    await until(() => view().state === 'Established', { what: 'back after reconfiguration', timeout: 5000 });
  });
});
