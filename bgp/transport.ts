/**
 * Where the speaker's TCP connections come from: a narrow, injectable boundary so that the library stays free
 * of any operating system. The default is plain `node:net`, which cannot sign segments (TCP-MD5, RFC 2385) or
 * set TTLs (RFC 5082 GTSM): with it, `PeerConfig.password`, `ttl` and `ttlSecurity` are refused (see
 * `Transport.setPeerOptions`). A transport that can (the daemon's Linux one) implements every member.
 *
 * The contract, for any implementation:
 *   - `connect` returns at once a `net.Socket` that emits 'connect' once the connection is established and
 *     'error' (then 'close') when it fails; it never throws for a network failure. No 'data' before 'connect'.
 *   - `listen` resolves once bound, and hands every accepted connection to `connection`.
 *   - `setPeerOptions(address, …)` is called when a peer is added or changed, before any of its connections,
 *     and with `undefined` when it is removed.
 */
import net from 'node:net';

/** What a peer's sockets carry. */
export interface PeerSocketOptions {
  /** RFC 2385 TCP-MD5 key. */
  readonly password?: string;
  /** TTL (hop limit) of every segment we send to the peer; default the system's. */
  readonly ttl?: number;
  /** RFC 5082: segments from the peer with a lower TTL are dropped (256 - hops). */
  readonly minTtl?: number;
}

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly localAddress?: string;
}

export interface ListenOptions {
  /** '' or '::' for every address. */
  readonly host: string;
  readonly port: number;
}

export interface ListenHandlers {
  connection(socket: net.Socket): void;
  /** An error after listening started (e.g. accept failing with EMFILE); the listener keeps going. */
  error?(err: Error): void;
}

export interface Listener {
  /** The address actually bound (with the real port when 0 was asked for). */
  address(): { address: string; port: number } | undefined;
  close(): Promise<void>;
}

export interface Transport {
  connect(opts: ConnectOptions): net.Socket;
  /** Rejects when it cannot bind. */
  listen(opts: ListenOptions, handlers: ListenHandlers): Promise<Listener>;
  /** Returns an Error (never throws) when the options cannot be applied: the caller reports it. */
  setPeerOptions?(address: string, options: PeerSocketOptions | undefined): Error | undefined;
}

/** The socket options a peer configuration asks for: GTSM sends TTL 255 and accepts `256 - hops` and above. */
export function peerSocketOptions(c: {
  readonly password?: string;
  readonly ttl?: number;
  readonly ttlSecurity?: number;
}): PeerSocketOptions {
  return {
    ...(c.password !== undefined ? { password: c.password } : {}),
    ...(c.ttlSecurity !== undefined
      ? { ttl: 255, minTtl: 256 - c.ttlSecurity }
      : c.ttl !== undefined
        ? { ttl: c.ttl }
        : {}),
  };
}

/** Plain `node:net`: no signatures, no TTLs. */
export const nodeTransport: Transport = {
  connect: (o) =>
    net.connect({
      host: o.host,
      port: o.port,
      ...(o.localAddress !== undefined ? { localAddress: o.localAddress } : {}),
    }),
  async listen(o, handlers) {
    const server = net.createServer((socket) => handlers.connection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: o.host === '' ? undefined : o.host, port: o.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => handlers.error?.(err));
    return {
      address: () => {
        const a = server.address();
        return a !== null && typeof a === 'object' ? { address: a.address, port: a.port } : undefined;
      },
      close: () => new Promise<void>((r) => server.close(() => r())),
    };
  },
  setPeerOptions(address, options) {
    if (options === undefined) return undefined;
    if (options.password !== undefined)
      return new Error(`peer ${address}: password (TCP-MD5) needs a transport that can sign segments`);
    if (options.minTtl !== undefined || (options.ttl !== undefined && options.ttl !== 64))
      return new Error(`peer ${address}: ttl / ttlSecurity need a transport that can set TTLs`);
    return undefined;
  },
};
