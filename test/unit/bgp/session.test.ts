/**
 * The IO shell against a raw TCP peer on loopback: what a misbehaving or hand-driven peer gets back.
 * A Speaker listens on 127.0.0.2; raw peers connect from 127.0.0.3 (configured) or 127.0.0.9 (not).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Speaker } from '../../../bgp/speaker.js';
import type { PeerConfig } from '../../../bgp/api.js';
import { key } from '../../support/prefix.js';
import { encodeKeepalive } from '../../../bgp/wire/keepalive.js';
import { encodeOpen } from '../../../bgp/wire/open.js';
import { encodeUpdates } from '../../../bgp/wire/update-encode.js';
import { RawPeer as Raw, rawOpen as open, until } from './raw-peer.js';

const running: Speaker[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

/** Raw peers are destroyed after each test. */
const RawPeer = {
  async connect(port: number, from: string): Promise<Raw> {
    const raw = await Raw.connect(port, from);
    sockets.push(raw.socket);
    return raw;
  },
};

async function speakerWithRawPeer(over: Partial<PeerConfig> = {}): Promise<{ sp: Speaker; port: number }> {
  const sp = new Speaker({ asn: 65002, routerId: '10.0.0.2', listen: { address: '127.0.0.2', port: 0 } });
  running.push(sp);
  await sp.start();
  sp.addPeer({ address: '127.0.0.3', asn: 65003, passive: true, holdTime: 3, connectRetryTime: 1, ...over });
  return { sp, port: sp.address()!.port };
}

async function established(port: number): Promise<Raw> {
  const raw = await RawPeer.connect(port, '127.0.0.3');
  raw.socket.write(encodeOpen(open()));
  await raw.waitFor(1);
  raw.socket.write(encodeKeepalive());
  await raw.waitFor(4);
  return raw;
}

describe('the session shell against a raw peer', () => {
  it('handshake fed one byte at a time reaches Established', async () => {
    const { sp, port } = await speakerWithRawPeer();
    const raw = await RawPeer.connect(port, '127.0.0.3');
    const bytes = Buffer.concat([encodeOpen(open()), encodeKeepalive()]);
    for (const b of bytes) {
      raw.socket.write(Buffer.of(b));
      await new Promise((r) => setImmediate(r));
    }
    await until(() => sp.peers()[0]!.state === 'Established', { what: 'Established', timeout: 5000 });
    expect(raw.types().slice(0, 2)).toEqual([1, 4]);
  });

  it('an OPEN with the wrong AS gets 2/2 Bad Peer AS', async () => {
    const { sp, port } = await speakerWithRawPeer();
    const raw = await RawPeer.connect(port, '127.0.0.3');
    raw.socket.write(encodeOpen(open({ myAs: 65099, capabilities: [{ code: 65, asn: 65099 }] })));
    await raw.waitFor(3);
    expect(raw.notification()).toEqual([2, 2]);
    await until(() => raw.closed, { what: 'close', timeout: 5000 });
    expect(sp.peers()[0]).toMatchObject({ lastReason: 'open-error' });
    expect(sp.peers()[0]!.lastError).toContain('sent 2/2');
  });

  it('an OPEN with hold time 1 gets 2/6 Unacceptable Hold Time', async () => {
    const { port } = await speakerWithRawPeer();
    const raw = await RawPeer.connect(port, '127.0.0.3');
    raw.socket.write(encodeOpen(open({ holdTime: 1 })));
    await raw.waitFor(3);
    expect(raw.notification()).toEqual([2, 6]);
  });

  it('garbage gets 1/1 Connection Not Synchronized; another peer stays Established', async () => {
    const { sp, port } = await speakerWithRawPeer();
    sp.addPeer({ address: '127.0.0.4', asn: 65004, passive: true, holdTime: 3 });
    const good = await RawPeer.connect(port, '127.0.0.4');
    good.socket.write(encodeOpen(open({ myAs: 65004, bgpId: '10.0.0.4', capabilities: [] })));
    await good.waitFor(1);
    good.socket.write(encodeKeepalive());
    await until(() => sp.peers().find((p) => p.address === '127.0.0.4')?.state === 'Established', {
      what: 'good peer up',
      timeout: 5000,
    });

    const bad = await RawPeer.connect(port, '127.0.0.3');
    bad.socket.write(Buffer.alloc(40, 0x42));
    await bad.waitFor(3);
    expect(bad.notification()).toEqual([1, 1]);
    await until(() => bad.closed, { what: 'close', timeout: 5000 });
    expect(sp.peers().find((p) => p.address === '127.0.0.4')?.state).toBe('Established');
    expect(sp.peers().find((p) => p.address === '127.0.0.3')?.lastReason).toBe('header-error');
  });

  it('a bad message length gets 1/2', async () => {
    const { port } = await speakerWithRawPeer();
    const raw = await RawPeer.connect(port, '127.0.0.3');
    const msg = encodeKeepalive();
    msg.writeUInt16BE(5000, 16);
    raw.socket.write(msg);
    await raw.waitFor(3);
    expect(raw.notification()).toEqual([1, 2]);
  });

  it('an UPDATE before Established gets RFC 6608 5/1', async () => {
    const { port } = await speakerWithRawPeer();
    const raw = await RawPeer.connect(port, '127.0.0.3');
    await raw.waitFor(1); // our OPEN: we are in OpenSent
    const [update] = encodeUpdates(
      { origin: 0, asPath: [{ type: 2, asns: [65003] }] },
      { afi: 1, safi: 1, nextHop: '192.0.2.3', prefixes: [key('10.1.0.0/16')] },
      { fourOctetAs: true, ibgp: false },
    );
    raw.socket.write(update!);
    await raw.waitFor(3);
    expect(raw.notification()).toEqual([5, 1]);
  });

  it('routes from a raw peer; a malformed UPDATE gets 3/1 and the routes go', async () => {
    const { sp, port } = await speakerWithRawPeer();
    const raw = await established(port);
    const ctx = { fourOctetAs: true, ibgp: false };
    const [update] = encodeUpdates(
      { origin: 0, asPath: [{ type: 2, asns: [65003] }] },
      { afi: 1, safi: 1, nextHop: '192.0.2.3', prefixes: [key('10.1.0.0/16'), key('10.2.0.0/16')] },
      ctx,
    );
    raw.socket.write(update!);
    await until(() => sp.routes().length === 2, { what: 'routes', timeout: 5000 });
    // Withdrawn Routes Length pointing past the end of the message: 3/1 Malformed Attribute List.
    const broken = Buffer.from(encodeKeepalive());
    const body = Buffer.of(0x00, 0x50, 0x00, 0x00);
    const msg = Buffer.concat([broken.subarray(0, 16), Buffer.of(0, 19 + body.length, 2), body]);
    raw.socket.write(msg);
    await raw.waitFor(3);
    expect(raw.notification()).toEqual([3, 1]);
    await until(() => sp.routes().length === 0, { what: 'routes withdrawn', timeout: 5000 });
    expect(sp.peers()[0]!.lastReason).toBe('update-error');
  });

  it('an attribute error handled by RFC 7606 is counted and the session stays up', async () => {
    const { sp, port } = await speakerWithRawPeer();
    const raw = await established(port);
    const [update] = encodeUpdates(
      { origin: 0, asPath: [{ type: 2, asns: [65003] }] },
      { afi: 1, safi: 1, nextHop: '192.0.2.3', prefixes: [key('10.3.0.0/16')] },
      { fourOctetAs: true, ibgp: false },
    );
    const bad = Buffer.from(update!);
    // ORIGIN is the first attribute: flags, type 1, length 1, value — set the value to 7 (undefined).
    const attrStart = 19 + 2 + 2;
    expect(bad[attrStart + 1]).toBe(1);
    bad[attrStart + 3] = 7;
    raw.socket.write(bad);
    await until(() => sp.peers()[0]!.attributeErrors === 1, {
      what: 'attribute error counted',
      timeout: 5000,
    });
    expect(sp.peers()[0]!.state).toBe('Established');
    expect(sp.routes()).toHaveLength(0); // treat-as-withdraw
  });

  it('RFC 7606 §4: an attribute overrunning the section withdraws the NLRI; the session stays up', async () => {
    const { sp, port } = await speakerWithRawPeer();
    const raw = await established(port);
    const [update] = encodeUpdates(
      { origin: 0, asPath: [{ type: 2, asns: [65003] }] },
      { afi: 1, safi: 1, nextHop: '192.0.2.3', prefixes: [key('10.5.0.0/16')] },
      { fourOctetAs: true, ibgp: false },
    );
    raw.socket.write(update!);
    await until(() => sp.routes().length === 1, { what: 'route', timeout: 5000 });
    // The same UPDATE with MED appended whose length (9) overruns the attribute section by 5 octets: the Total
    // Path Attribute Length and the message length grow by the 7 octets added, the NLRI stays last.
    const u = Buffer.from(update!);
    const attrLenAt = 19 + 2;
    const attrLen = u.readUInt16BE(attrLenAt);
    const nlri = u.subarray(attrLenAt + 2 + attrLen);
    const med = Buffer.from('8004090000', 'hex');
    const attrsBytes = Buffer.concat([u.subarray(attrLenAt + 2, attrLenAt + 2 + attrLen), med]);
    const body = Buffer.concat([
      Buffer.of(0, 0, attrsBytes.length >> 8, attrsBytes.length & 0xff),
      attrsBytes,
      nlri,
    ]);
    const msg = Buffer.concat([u.subarray(0, 16), Buffer.of(0, 19 + body.length, 2), body]);
    raw.socket.write(msg);
    await until(() => sp.routes().length === 0, { what: 'route withdrawn', timeout: 5000 });
    expect(sp.peers()[0]).toMatchObject({ state: 'Established', attributeErrors: 1 });
    expect(raw.types()).not.toContain(3);
  });

  it('a connection from an unknown address is closed without a word', async () => {
    const { sp, port } = await speakerWithRawPeer();
    const logs: string[] = [];
    sp.on('log', (e) => logs.push(e.event));
    const raw = await RawPeer.connect(port, '127.0.0.9');
    await until(() => raw.closed, { what: 'close', timeout: 5000 });
    expect(raw.received).toEqual([]);
    expect(logs).toContain('connection-refused');
  });

  it('a second connection while Established gets Cease 6/5 and the first stays', async () => {
    const { sp, port } = await speakerWithRawPeer();
    const first = await established(port);
    await until(() => sp.peers()[0]!.state === 'Established', { what: 'Established', timeout: 5000 });
    const second = await RawPeer.connect(port, '127.0.0.3');
    await second.waitFor(3);
    expect(second.notification()).toEqual([6, 5]);
    expect(first.closed).toBe(false);
    expect(sp.peers()[0]!.state).toBe('Established');
  });

  it('keepalives flow and the hold timer is respected on the real clock shell', async () => {
    const { sp, port } = await speakerWithRawPeer();
    const raw = await established(port);
    await until(() => raw.types().filter((t) => t === 4).length >= 2, {
      what: 'a keepalive after 1 s',
      timeout: 3000,
    });
    expect(sp.peers()[0]!.state).toBe('Established');
  });

  it('a refused connection goes to Idle with connect-failed and retries after the idle hold time', async () => {
    const sp = new Speaker({ asn: 65002, routerId: '10.0.0.2', listen: false });
    running.push(sp);
    await sp.start();
    // A port nobody listens on: bind one, note it, close it.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.3', r));
    const deadPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const states: string[] = [];
    sp.on('peer-state', (e) => states.push(`${e.to}:${e.reason}`));
    sp.addPeer({
      address: '127.0.0.3',
      asn: 65003,
      port: deadPort,
      connectRetryTime: 1,
      localAddress: '127.0.0.2',
    });
    await until(() => states.filter((x) => x === 'Connect:idle-hold-expired').length >= 1, {
      what: 'a retry',
      timeout: 5000,
    });
    expect(states.slice(0, 3)).toEqual(['Connect:start', 'Idle:connect-failed', 'Connect:idle-hold-expired']);
    expect(sp.peers()[0]!.lastError).toBe('tcp: ECONNREFUSED');
  });
});
