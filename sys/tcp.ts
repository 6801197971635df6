/**
 * TCP sockets with the options BGP needs and Node's `net` cannot set — made with libc (libc.ts), then handed to
 * Node as file descriptors:
 *
 *   connect  socket(SOCK_NONBLOCK) → TCP_MD5SIG for the peer, IP_TTL, IP_MINTTL → bind(localAddress) →
 *            connect() (EINPROGRESS) → `new net.Socket({ fd })`. Node reads and writes it like any socket: a
 *            refused or reset connection is its 'error' event (ECONNREFUSED, …). Node never learns when a
 *            connection it did not start completes, so a `dup` of the fd is polled for writability and
 *            SO_ERROR read: 0 → the socket's 'connect' event, anything else → the socket is destroyed with it.
 *            The socket is created paused and resumed after 'connect': no 'data' comes before it.
 *   listen   socket → SO_REUSEADDR → bind → listen; the listener is polled here and connections accepted with
 *            accept4(), so that each accepted socket gets its peer's TTL and IP_MINTTL before Node wraps it.
 *            Per-peer TCP-MD5 keys live on the listener (the kernel copies the matching one to each connection).
 *
 * A peer whose password is wrong (or missing on one side) is silent: the kernel drops its segments without an
 * answer. `diagnose(address)` turns that silence into words from what is known here: connection attempts that
 * were never answered, and the kernel's drop counters (netstat.ts) since the peer was last heard.
 *
 * GTSM on accepted connections (RFC 5082 §3): the listener is shared by all peers, so IP_MINTTL is set on each
 * accepted socket for its peer, as BIRD and FRR do; the three-way handshake itself is not filtered, but no
 * segment after it from a peer too far away reaches the session (it never gets past OpenSent). The listener
 * sends with TTL 255 while any peer uses TTL security, so that such a peer accepts our SYN-ACK.
 */
import net from 'node:net';
import { canonicalAddress } from '../ip/address.js';
import {
  AF_INET,
  AF_INET6,
  EAGAIN,
  EINPROGRESS,
  errnoError,
  F_DUPFD_CLOEXEC,
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  libc,
  SO_ERROR,
  SO_REUSEADDR,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  type Libc,
} from './libc.js';
import { dropsSince, readSilentDrops, type SilentDrops } from './netstat.js';
import { setIntOption, setMd5, setMinTtl, setTtl } from './options.js';
import { decodeSockaddr, encodeSockaddr, familyOf, SOCKADDR_STORAGE_LEN, zoneOf } from './sockaddr.js';

/** What a peer's sockets carry. */
export interface TcpPeerOptions {
  /** RFC 2385 TCP-MD5 key (at most 80 bytes). */
  readonly password?: string;
  /** TTL / hop limit of what we send (default: the kernel's). */
  readonly ttl?: number;
  /** The lowest TTL accepted from the peer (GTSM: 256 - hops). */
  readonly minTtl?: number;
}

export interface TcpConnectOptions extends TcpPeerOptions {
  readonly host: string;
  readonly port: number;
  readonly localAddress?: string;
}

export interface TcpListenOptions {
  /** '' or '::' for every address (dual stack), '0.0.0.0' for every IPv4 one. */
  readonly host: string;
  readonly port: number;
}

export interface TcpListenHandlers {
  connection(socket: net.Socket): void;
  error?(err: Error): void;
}

export interface TcpListener {
  address(): { address: string; port: number } | undefined;
  close(): Promise<void>;
}

interface PeerRecord {
  options: TcpPeerOptions;
  /** Our connection attempts closed before the peer answered (the session's ConnectRetry timer gave up). */
  unanswered: number;
  /** Kernel drop counters when the peer was last heard (or configured). */
  baseline: SilentDrops;
}

interface ListenerState {
  readonly fd: number;
  readonly family: number;
  readonly poll: { close(): void };
}

/** The Linux transport: a drop-in for the plain `node:net` one of bgp/transport.ts. */
export class LinuxTcpTransport {
  private readonly peers = new Map<string, PeerRecord>();
  private readonly listeners = new Set<ListenerState>();
  /**
   * The kernel's drop counters read once per synchronous run (cleared by a microtask): a thousand peers
   * configured at start, or accepted in one poll callback, share one read of /proc/net/netstat instead of one
   * each (issue 13: ~0.3 ms per read, 0.6 s of a 1000-client start).
   */
  private dropsNow: SilentDrops | undefined;

  constructor(private readonly c: Libc) {}

  connect(opts: TcpConnectOptions): net.Socket {
    const peer = this.record(opts.host);
    const made = this.connectFd(opts);
    if (made instanceof Error) {
      const s = new net.Socket();
      process.nextTick(() => s.destroy(made));
      return s;
    }
    // Paused until connected: Node reads an fd socket from the start, and a peer that sends its OPEN as soon as
    // it accepts would otherwise hand the session data before 'connect' (an FSM error in Connect state).
    const socket = new net.Socket({ fd: made.fd, pauseOnCreate: true } as net.SocketConstructorOpts);
    let answered = false;
    const watch = this.c.fcntl(made.fd, F_DUPFD_CLOEXEC, 0);
    if (watch < 0) {
      process.nextTick(() => socket.destroy(errnoError('fcntl', this.c.errno(), 'F_DUPFD_CLOEXEC')));
      return socket;
    }
    let poll: { close(): void } | undefined = this.c.poll(watch, { writable: true }, (status) => {
      stop();
      const err = this.socketError(watch);
      this.c.close(watch);
      if (socket.destroyed) return;
      answered = true;
      if (status === 0 && err === 0) {
        if (peer !== undefined) this.heard(peer);
        socket.emit('connect');
        socket.resume();
      } else if (err !== 0) socket.destroy(errnoError('connect', err, `${opts.host} port ${opts.port}`));
    });
    const stop = () => {
      poll?.close();
      poll = undefined;
    };
    socket.once('error', () => (answered = true));
    socket.once('close', () => {
      if (poll !== undefined) {
        stop();
        this.c.close(watch);
      }
      if (!answered && peer !== undefined) peer.unanswered++;
    });
    return socket;
  }

  /** Create, configure, bind and start connecting a socket; its fd or the first failure. */
  private connectFd(opts: TcpConnectOptions): { fd: number } | Error {
    const family = familyOf(opts.host);
    if (family === undefined) return new Error(`connect: ${opts.host} is not an IP address`);
    const remote = encodeSockaddr(opts.host, opts.port, family, this.scope(opts.host));
    if (remote === undefined) return new Error(`connect: ${opts.host} is not an IP address`);
    const fd = this.c.socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return errnoError('socket', this.c.errno());
    const fail = (err: Error): Error => {
      this.c.close(fd);
      return err;
    };
    const err = this.applyOptions(fd, family, opts.host, this.optionsFor(opts), true);
    if (err !== undefined) return fail(err);
    if (opts.localAddress !== undefined) {
      const local = encodeSockaddr(opts.localAddress, 0, family, this.scope(opts.localAddress));
      if (local === undefined)
        return fail(new Error(`bind: ${opts.localAddress} is not an address of the peer's family`));
      if (this.c.bind(fd, local, local.length) !== 0)
        return fail(errnoError('bind', this.c.errno(), opts.localAddress));
    }
    if (this.c.connect(fd, remote, remote.length) !== 0) {
      const errno = this.c.errno();
      if (errno !== EINPROGRESS) return fail(errnoError('connect', errno, `${opts.host} port ${opts.port}`));
    }
    return { fd };
  }

  /** TTL, minimum TTL and (when `md5`) the peer's TCP-MD5 key on a socket of ours. */
  private applyOptions(
    fd: number,
    family: number,
    peer: string,
    o: TcpPeerOptions,
    md5: boolean,
  ): Error | undefined {
    if (md5 && o.password !== undefined && o.password !== '') {
      const e = setMd5(this.c, fd, family, peer, o.password);
      if (e !== undefined) return e;
    }
    const ttl = setTtl(this.c, fd, family, o.ttl ?? -1);
    if (ttl !== undefined) return ttl;
    if (o.minTtl !== undefined && o.minTtl > 0) return setMinTtl(this.c, fd, family, o.minTtl);
    return undefined;
  }

  async listen(opts: TcpListenOptions, handlers: TcpListenHandlers): Promise<TcpListener> {
    const host = opts.host === '' ? '::' : opts.host;
    const family = familyOf(host);
    if (family === undefined) throw new Error(`listen: ${opts.host} is not an IP address`);
    const fd = this.c.socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw errnoError('socket', this.c.errno());
    const fail = (err: Error): never => {
      this.c.close(fd);
      throw err;
    };
    let e = setIntOption(this.c, fd, SOL_SOCKET, SO_REUSEADDR, 1, 'SO_REUSEADDR');
    if (e === undefined && family === AF_INET6)
      e = setIntOption(this.c, fd, IPPROTO_IPV6, IPV6_V6ONLY, host === '::' ? 0 : 1, 'IPV6_V6ONLY');
    if (e !== undefined) fail(e);
    const sa = encodeSockaddr(host, opts.port, family, this.scope(host));
    if (sa === undefined) return fail(new Error(`listen: ${host} is not an IP address`));
    if (this.c.bind(fd, sa, sa.length) !== 0)
      fail(errnoError('bind', this.c.errno(), `${host} port ${opts.port}`));
    if (this.c.listen(fd, 511) !== 0) fail(errnoError('listen', this.c.errno()));
    const state: ListenerState = {
      fd,
      family,
      poll: this.c.poll(fd, { readable: true }, (status) => {
        if (status === 0) this.acceptAll(state, handlers);
        else handlers.error?.(errnoError('poll', this.socketError(fd), 'listener'));
      }),
    };
    this.listeners.add(state);
    for (const [address, p] of this.peers) {
      const err = this.listenerKey(state, address, p.options.password ?? '');
      if (err !== undefined) handlers.error?.(err);
    }
    this.listenerTtl(state);
    return {
      address: () => this.sockname(fd),
      close: async () => {
        if (!this.listeners.delete(state)) return;
        state.poll.close();
        this.c.close(fd);
      },
    };
  }

  private acceptAll(l: ListenerState, handlers: TcpListenHandlers): void {
    const sa = Buffer.alloc(SOCKADDR_STORAGE_LEN);
    for (let i = 0; i < 64; i++) {
      const len = [SOCKADDR_STORAGE_LEN];
      const fd = this.c.accept4(l.fd, sa, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        const errno = this.c.errno();
        if (errno !== EAGAIN) handlers.error?.(errnoError('accept4', errno));
        return;
      }
      const remote = decodeSockaddr(sa, len[0]);
      const peer = remote === undefined ? undefined : this.peers.get(remote.address);
      // Our listener sends TTL 255 while a peer uses GTSM; every other peer gets its own TTL (or the default).
      // A v4-mapped peer on a dual-stack listener takes the IPv4 options (IP_TTL, IP_MINTTL).
      const family = remote !== undefined ? (familyOf(remote.address) ?? l.family) : l.family;
      const err = this.applyOptions(fd, family, remote?.address ?? '', peer?.options ?? {}, false);
      if (err !== undefined) {
        this.c.close(fd);
        handlers.error?.(err);
        continue;
      }
      if (peer !== undefined) this.heard(peer);
      let socket: net.Socket;
      try {
        socket = new net.Socket({ fd });
      } catch (e) {
        this.c.close(fd);
        handlers.error?.(e as Error);
        continue;
      }
      handlers.connection(socket);
    }
  }

  /**
   * Set, change or (with undefined) forget a peer's options: its TCP-MD5 key on every listener now, and its
   * TTL, minimum TTL and key on the sockets made for it from now on. Returns the first failure (a kernel
   * without TCP-MD5 says ENOPROTOOPT), never throws.
   */
  setPeerOptions(address: string, options: TcpPeerOptions | undefined): Error | undefined {
    const key = canonical(address);
    const before = this.peers.get(key);
    if (options === undefined) this.peers.delete(key);
    else this.peers.set(key, { options, unanswered: 0, baseline: this.drops() });
    let first: Error | undefined;
    if ((before?.options.password ?? '') !== (options?.password ?? ''))
      for (const l of this.listeners) first ??= this.listenerKey(l, key, options?.password ?? '');
    for (const l of this.listeners) this.listenerTtl(l);
    return first;
  }

  /**
   * Why a peer might be silent, in words for `nodebgp neighbors` — or undefined when nothing points anywhere.
   * The kernel's counters are per network namespace, so a drop is blamed on a silent peer whose settings it
   * fits (a wrong-signature drop on a peer with a password, an unexpected signature on one without).
   */
  diagnose(address: string): string | undefined {
    const p = this.peers.get(canonical(address));
    if (p === undefined) return undefined;
    const d = dropsSince(this.drops(), p.baseline);
    const o = p.options;
    const password = o.password !== undefined && o.password !== '';
    const hints: string[] = [];
    if (password && d.md5Failure > 0)
      hints.push(`TCP-MD5 signature mismatch: the kernel dropped ${d.md5Failure} segments (wrong password?)`);
    if (password && d.md5NotFound > 0)
      hints.push(`the peer does not sign with TCP-MD5 (${d.md5NotFound} unsigned segments dropped)`);
    if (!password && d.md5Unexpected > 0)
      hints.push(
        `the peer signs with TCP-MD5 but no password is set here (${d.md5Unexpected} segments dropped)`,
      );
    if (o.minTtl !== undefined && o.minTtl > 0 && d.minTtlDrop > 0)
      hints.push(
        `${d.minTtlDrop} segments dropped below TTL ${o.minTtl} (ttlSecurity): peer too far away or not sending TTL 255?`,
      );
    if (hints.length > 0) return hints.join('; ');
    if (p.unanswered === 0) return undefined;
    const guess = [
      password ? 'TCP-MD5 signature mismatch?' : '',
      o.minTtl !== undefined && o.minTtl > 0 ? 'TTL security (peer too far away)?' : '',
    ].filter(Boolean);
    return `no answer: ${p.unanswered} connection attempts timed out${guess.length > 0 ? `: ${guess.join(' or ')}` : ''}`;
  }

  // ---- Internals ----------------------------------------------------------------------------------------

  private record(host: string): PeerRecord | undefined {
    return this.peers.get(canonical(host));
  }

  /** The peer's recorded options, overridden by those given to `connect`. */
  private optionsFor(opts: TcpConnectOptions): TcpPeerOptions {
    const o = { ...this.record(opts.host)?.options };
    if (opts.password !== undefined) o.password = opts.password;
    if (opts.ttl !== undefined) o.ttl = opts.ttl;
    if (opts.minTtl !== undefined) o.minTtl = opts.minTtl;
    return o;
  }

  private heard(p: PeerRecord): void {
    p.unanswered = 0;
    p.baseline = this.drops();
  }

  private drops(): SilentDrops {
    if (this.dropsNow === undefined) {
      this.dropsNow = readSilentDrops();
      queueMicrotask(() => (this.dropsNow = undefined));
    }
    return this.dropsNow;
  }

  private listenerKey(l: ListenerState, address: string, password: string): Error | undefined {
    // A peer of the other family cannot reach an AF_INET listener; on AF_INET6 an IPv4 key is v4-mapped.
    if (l.family === AF_INET && familyOf(address) !== AF_INET) return undefined;
    return setMd5(this.c, l.fd, l.family, address, password);
  }

  private listenerTtl(l: ListenerState): void {
    const gtsm = [...this.peers.values()].some((p) => (p.options.minTtl ?? 0) > 0);
    setTtl(this.c, l.fd, l.family, gtsm ? 255 : -1);
    if (l.family === AF_INET6) setTtl(this.c, l.fd, AF_INET, gtsm ? 255 : -1); // v4-mapped peers
  }

  private socketError(fd: number): number {
    const v = Buffer.alloc(4);
    if (this.c.getsockopt(fd, SOL_SOCKET, SO_ERROR, v, [4]) !== 0) return this.c.errno();
    return v.readInt32LE(0);
  }

  private sockname(fd: number): { address: string; port: number } | undefined {
    const sa = Buffer.alloc(SOCKADDR_STORAGE_LEN);
    const len = [SOCKADDR_STORAGE_LEN];
    if (this.c.getsockname(fd, sa, len) !== 0) return undefined;
    return decodeSockaddr(sa, len[0]);
  }

  private scope(address: string): number {
    const zone = zoneOf(address);
    if (zone === undefined) return 0;
    return /^\d+$/.test(zone) ? Number(zone) : this.c.if_nametoindex(zone);
  }
}

function canonical(address: string): string {
  return canonicalAddress(address) ?? address;
}

/** The Linux transport, or the reason this process cannot have it (not Linux, no koffi). */
export function linuxTcpTransport(): LinuxTcpTransport | Error {
  const c = libc();
  return c instanceof Error ? c : new LinuxTcpTransport(c);
}
