/**
 * Fault isolation (issue 10 item 6): an exception of ours while handling one session's message resets that
 * session only — with a NOTIFICATION and the offending octets logged — and never reaches the process.
 *
 * A Speaker listens on 127.0.0.2; two raw peers connect from 127.0.0.3 (the one that trips the fault) and
 * 127.0.0.4 (must stay Established). Faults are injected three ways: an import filter (the owner's handler)
 * that throws, a decoder that throws (through the codec's guarded `decodeMessage`), and a session `open`
 * handler that throws before the FSM sees the message.
 */
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Speaker } from '../../../bgp/speaker.js';
import type { SpeakerConfig, SpeakerLogRecord } from '../../../bgp/api.js';
import { Session } from '../../../bgp/session.js';
import { key } from '../../support/prefix.js';
import { encodeKeepalive } from '../../../bgp/wire/keepalive.js';
import { encodeOpen } from '../../../bgp/wire/open.js';
import { encodeUpdates } from '../../../bgp/wire/update-encode.js';
import { decodeShutdownCommunication } from '../../../bgp/wire/notification.js';
import { MESSAGE_NOTIFICATION, TYPE_OFFSET } from '../../../bgp/wire/iana.js';
import { RawPeer, rawOpen as open, until } from './raw-peer.js';

/** The poisoned prefix: the mocked UPDATE decoder throws when it sees it. */
const POISON = '10.66.0.0/16';

vi.mock('../../../bgp/wire/update.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../bgp/wire/update.js')>();
  return {
    ...real,
    decodeUpdate: (...args: Parameters<typeof real.decodeUpdate>) => {
      const r = real.decodeUpdate(...args);
      if (r.ok && r.message.reach.some((b) => b.prefixes.includes(key(POISON))))
        throw new TypeError('decoder bug (injected)');
      return r;
    },
  };
});

const speakers: Speaker[] = [];
const sockets: net.Socket[] = [];
const uncaught: unknown[] = [];
const onUncaught = (e: unknown): void => void uncaught.push(e);
beforeEach(() => {
  uncaught.length = 0;
  process.on('uncaughtException', onUncaught);
});
afterEach(async () => {
  process.off('uncaughtException', onUncaught);
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(speakers.splice(0).map((s) => s.stop()));
});

const CTX = { fourOctetAs: true, ibgp: false };

function update(prefix: string): Buffer {
  const [u] = encodeUpdates(
    { origin: 0, asPath: [{ type: 2, asns: [65003] }] },
    { afi: 1, safi: 1, nextHop: '192.0.2.3', prefixes: [key(prefix)] },
    CTX,
  );
  return u!;
}

async function twoPeers(extra: Partial<SpeakerConfig> = {}) {
  const sp = new Speaker({
    asn: 65002,
    routerId: '10.0.0.2',
    listen: { address: '127.0.0.2', port: 0 },
    ...extra,
  });
  speakers.push(sp);
  const logs: SpeakerLogRecord[] = [];
  sp.on('log', (r) => logs.push(r));
  await sp.start();
  sp.addPeer({ address: '127.0.0.3', asn: 65003, passive: true, holdTime: 3, connectRetryTime: 1 });
  sp.addPeer({ address: '127.0.0.4', asn: 65004, passive: true, holdTime: 3 });
  const port = sp.address()!.port;
  const up = async (from: string, asn: number, id: string): Promise<RawPeer> => {
    const raw = await RawPeer.connect(port, from);
    sockets.push(raw.socket);
    raw.socket.write(encodeOpen(open({ myAs: asn, bgpId: id, capabilities: [{ code: 65, asn }] })));
    await raw.waitFor(1);
    raw.socket.write(encodeKeepalive());
    await until(() => stateOf(sp, from) === 'Established', { what: `${from} up`, timeout: 5000 });
    return raw;
  };
  const bad = await up('127.0.0.3', 65003, '10.0.0.3');
  const good = await up('127.0.0.4', 65004, '10.0.0.4');
  good.socket.write(update('10.4.0.0/16'));
  await until(() => sp.routes().some((r) => r.prefix === '10.4.0.0/16'), {
    what: 'good route',
    timeout: 5000,
  });
  return { sp, bad, good, logs };
}

function stateOf(sp: Speaker, peer: string): string | undefined {
  return sp.peers().find((p) => p.address === peer)?.state;
}

function notificationData(raw: RawPeer): Buffer {
  const n = raw.received.find((m) => m[TYPE_OFFSET] === MESSAGE_NOTIFICATION)!;
  return n.subarray(TYPE_OFFSET + 3);
}

describe('one session fault resets that session only', () => {
  it('an import filter that throws for one peer: that peer gets Cease 6/4, the other stays Established', async () => {
    const { sp, bad, good, logs } = await twoPeers({
      importFilter: (peer) => {
        if (peer === '127.0.0.3') throw new Error('policy bug (injected)');
        return true;
      },
    });
    bad.socket.write(update('10.3.0.0/16'));
    await bad.waitFor(MESSAGE_NOTIFICATION);
    expect(bad.notification()).toEqual([6, 4]);
    expect(decodeShutdownCommunication(notificationData(bad))).toContain('internal error');
    await until(() => bad.closed, { what: 'bad peer closed', timeout: 5000 });
    expect(sp.peers().find((p) => p.address === '127.0.0.3')?.lastReason).toBe('internal-error');
    expect(logs.some((l) => l.event === 'handler-error' && l.peer === '127.0.0.3')).toBe(true);
    // The other session: still up, its route still there, and it still gets KEEPALIVEs.
    const keepalives = good.types().filter((t) => t === 4).length;
    await until(() => good.types().filter((t) => t === 4).length > keepalives, {
      what: 'a later keepalive',
      timeout: 3000,
    });
    expect(stateOf(sp, '127.0.0.4')).toBe('Established');
    expect(sp.routes().map((r) => r.prefix)).toEqual(['10.4.0.0/16']);
    expect(uncaught).toEqual([]);
  });

  it("a decoder that throws on one peer's UPDATE: a NOTIFICATION to it, the other stays Established", async () => {
    const { sp, bad, logs } = await twoPeers();
    bad.socket.write(update(POISON));
    await bad.waitFor(MESSAGE_NOTIFICATION);
    // decodeMessage reports a decoder exception as a malformed message (header error 1/2).
    expect(bad.notification()?.[0]).toBe(1);
    await until(() => bad.closed, { what: 'bad peer closed', timeout: 5000 });
    const err = logs.find((l) => l.event === 'update-error' && l.peer === '127.0.0.3');
    expect(err).toMatchObject({ code: 'BGP_ERR_INTERNAL' });
    expect(stateOf(sp, '127.0.0.4')).toBe('Established');
    expect(sp.routes().map((r) => r.prefix)).toEqual(['10.4.0.0/16']);
    expect(uncaught).toEqual([]);
  });
});

describe('the session shell', () => {
  it('an exception in its own handling of a message: Cease 6/4, the octets logged as hex, nothing escapes', async () => {
    const logs: SpeakerLogRecord[] = [];
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.2', r));
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const port = (server.address() as net.AddressInfo).port;
    const raw = await RawPeer.connect(port, '127.0.0.3');
    sockets.push(raw.socket);
    const socket = await accepted;
    sockets.push(socket);
    server.close();
    const session = new Session(
      {
        fsm: {
          localAsn: 65002,
          routerId: '10.0.0.2',
          holdTime: 90,
          connectRetryTime: 5,
          passive: true,
          capabilities: [{ code: 65, asn: 65002 }],
        },
        peerAddress: '127.0.0.3',
        expect: { peerAs: 65003, localBgpId: '10.0.0.2', localAs: 65002 },
      },
      {
        open: () => {
          throw new Error('collision bug (injected)');
        },
        log: (level, event, fields) => logs.push({ level, event, ...fields } as SpeakerLogRecord),
      },
    );
    session.start(true);
    session.accept(socket);
    const openMsg = encodeOpen(open());
    raw.socket.write(openMsg);
    await raw.waitFor(MESSAGE_NOTIFICATION);
    expect(raw.notification()).toEqual([6, 4]);
    expect(session.state.state).toBe('Idle');
    expect(session.state.autoRestart).toBe(true);
    const failed = logs.find((l) => l.event === 'message-failed');
    expect(failed).toMatchObject({
      peer: '127.0.0.3',
      messageType: 1,
      length: openMsg.length,
      bytes: openMsg.subarray(0, 64).toString('hex'),
    });
    expect(failed && 'error' in failed ? failed.error : '').toContain('collision bug');
    session.dispose();
    expect(uncaught).toEqual([]);
  });
});
