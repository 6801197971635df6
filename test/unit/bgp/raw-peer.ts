/** A hand-driven BGP peer over loopback for the shell tests: a raw socket, framed messages, a few waits. */
import net from 'node:net';
import { messageLength } from '../../../bgp/wire/header.js';
import { MESSAGE_NOTIFICATION, TYPE_OFFSET } from '../../../bgp/wire/iana.js';
import type { OpenMessage } from '../../../bgp/wire/types.js';
import { until } from '../../../toolkit/index.js';

export { until };

export class RawPeer {
  readonly received: Buffer[] = [];
  closed = false;
  /** The speaker ended its side (FIN received). */
  ended = false;
  private buf = Buffer.alloc(0);
  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (;;) {
        const len = messageLength(this.buf, 0);
        if (typeof len !== 'number' || len < 0 || this.buf.length < len) break;
        this.received.push(this.buf.subarray(0, len));
        this.buf = this.buf.subarray(len);
      }
    });
    socket.on('end', () => (this.ended = true));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  /** Connect to `host:port` from `from`; `allowHalfOpen` keeps our side open after the speaker's FIN. */
  static async connect(
    port: number,
    from: string,
    host = '127.0.0.2',
    allowHalfOpen = false,
  ): Promise<RawPeer> {
    const socket = net.connect({ host, port, localAddress: from, allowHalfOpen });
    await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
    return new RawPeer(socket);
  }

  types(): number[] {
    return this.received.map((m) => m[TYPE_OFFSET]!);
  }

  /** [code, subcode] of the first NOTIFICATION received. */
  notification(): [number, number] | undefined {
    const n = this.received.find((m) => m[TYPE_OFFSET] === MESSAGE_NOTIFICATION);
    return n === undefined ? undefined : [n[TYPE_OFFSET + 1]!, n[TYPE_OFFSET + 2]!];
  }

  async waitFor(type: number): Promise<void> {
    await until(() => this.types().includes(type), { timeout: 5000, what: `message type ${type}` });
  }
}

/** The raw peer's OPEN: AS 65003, hold time 3, IPv4 unicast and 4-octet AS. */
export function rawOpen(over: Partial<OpenMessage> = {}): OpenMessage {
  return {
    type: 1,
    version: 4,
    myAs: 65003,
    holdTime: 3,
    bgpId: '10.0.0.3',
    capabilities: [
      { code: 1, afi: 1, safi: 1 },
      { code: 65, asn: 65003 },
    ],
    ...over,
  };
}
