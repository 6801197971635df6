/**
 * UDP sockets that tell the TTL (hop limit) of every datagram they receive — what BFD's single-hop security
 * rests on (RFC 5881 §5: discard unless it is 255) and Node's `dgram` does not report. Made with libc:
 *
 *   socket(SOCK_DGRAM | SOCK_NONBLOCK) → IP_RECVTTL / IPV6_RECVHOPLIMIT → IP_TTL 255 → bind
 *   recvmsg() into one native block (msghdr, iovec, source sockaddr, control data, payload), the TTL read
 *   from the IP_TTL / IPV6_HOPLIMIT control message; polled on the calling thread's event loop.
 *
 * IPv4 and IPv6 use separate sockets (IPV6_V6ONLY), so each control message is of its own family. Errors are
 * values; a receive callback never sees a partial datagram (MSG_TRUNC: dropped and counted).
 */
import {
  AF_INET,
  AF_INET6,
  EAGAIN,
  errnoError,
  IP_RECVTTL,
  IP_TTL,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_HOPLIMIT,
  IPV6_RECVHOPLIMIT,
  IPV6_V6ONLY,
  MSG_DONTWAIT,
  SO_REUSEADDR,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOL_SOCKET,
  type Libc,
} from './libc.js';
import { setIntOption, setTtl } from './options.js';
import { decodeSockaddr, encodeSockaddr, SOCKADDR_STORAGE_LEN } from './sockaddr.js';

export interface UdpOptions {
  readonly family: typeof AF_INET | typeof AF_INET6;
  /** Bind address (default every address of the family). */
  readonly address?: string;
  /** 0 for any; a range picks a free port in it at random (RFC 5881 §4 source ports: 49152-65535). */
  readonly port: number | { readonly from: number; readonly to: number };
  /** TTL / hop limit of what we send (default the kernel's). */
  readonly ttl?: number;
  /** Report the TTL of received datagrams. */
  readonly recvTtl?: boolean;
  /** SO_REUSEADDR: let another socket bind the same port (off: a second BFD daemon is refused, not shared). */
  readonly reuseAddress?: boolean;
}

export interface Received {
  readonly bytes: Buffer;
  readonly address: string;
  readonly port: number;
  /** The IP TTL or IPv6 hop limit it arrived with; -1 when the kernel did not say. */
  readonly ttl: number;
}

const MSGHDR = 56;
const IOVEC = 16;
const CONTROL = 64;
const PAYLOAD = 2048;
const MSG_TRUNC = 0x20;

export class UdpSocket {
  private poll: { close(): void } | undefined;
  private mem: ReturnType<Libc['alloc']> | undefined;
  private closed = false;
  private drainNow: (() => void) | undefined;
  /** Datagrams dropped because they did not fit the buffer. */
  truncated = 0;

  constructor(
    private readonly c: Libc,
    readonly fd: number,
    readonly family: number,
    readonly port: number,
  ) {}

  /** Send one datagram; an Error value when the kernel refuses it (no route, ENOBUFS, …). */
  send(bytes: Uint8Array, address: string, port: number): Error | undefined {
    const sa = encodeSockaddr(address, port, this.family);
    if (sa === undefined) return new Error(`sendto: ${address} is not an address of this socket's family`);
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (this.c.sendto(this.fd, b, b.length, 0, sa, sa.length) >= 0) return undefined;
    return errnoError('sendto', this.c.errno(), address);
  }

  /** Deliver every datagram to `onDatagram` as it arrives, on this thread's event loop. */
  receive(onDatagram: (d: Received) => void, onError?: (err: Error) => void): void {
    if (this.poll !== undefined || this.closed) return;
    const mem = this.c.alloc(MSGHDR + IOVEC + SOCKADDR_STORAGE_LEN + CONTROL + PAYLOAD);
    this.mem = mem;
    const base = mem.address;
    const b = mem.bytes;
    const iov = MSGHDR;
    const name = iov + IOVEC;
    const control = name + SOCKADDR_STORAGE_LEN;
    const payload = control + CONTROL;
    // struct iovec { void *iov_base; size_t iov_len; }
    b.writeBigUInt64LE(base + BigInt(payload), iov);
    b.writeBigUInt64LE(BigInt(PAYLOAD), iov + 8);
    const arm = () => {
      // struct msghdr { msg_name, msg_namelen (+pad), msg_iov, msg_iovlen, msg_control, msg_controllen, msg_flags }
      b.writeBigUInt64LE(base + BigInt(name), 0);
      b.writeUInt32LE(SOCKADDR_STORAGE_LEN, 8);
      b.writeBigUInt64LE(base + BigInt(iov), 16);
      b.writeBigUInt64LE(1n, 24);
      b.writeBigUInt64LE(base + BigInt(control), 32);
      b.writeBigUInt64LE(BigInt(CONTROL), 40);
      b.writeInt32LE(0, 48);
    };
    this.drainNow = () => {
      for (let i = 0; i < 256 && !this.closed; i++) {
        arm();
        const n = Number(this.c.recvmsg(this.fd, base, MSG_DONTWAIT));
        if (n < 0) {
          const errno = this.c.errno();
          if (errno !== EAGAIN) onError?.(errnoError('recvmsg', errno));
          return;
        }
        if ((b.readInt32LE(48) & MSG_TRUNC) !== 0) {
          this.truncated++;
          continue;
        }
        const from = decodeSockaddr(b.subarray(name, name + SOCKADDR_STORAGE_LEN), b.readUInt32LE(8));
        if (from === undefined) continue;
        const controlLength = Number(b.readBigUInt64LE(40));
        onDatagram({
          bytes: Buffer.from(b.subarray(payload, payload + n)),
          address: from.address,
          port: from.port,
          ttl: receivedTtl(b.subarray(control, control + controlLength)),
        });
      }
    };
    this.poll = this.c.poll(this.fd, { readable: true }, (status) => {
      if (status !== 0) return onError?.(new Error(`poll on UDP socket failed (${status})`));
      this.drainNow?.();
    });
  }

  /**
   * Deliver, now, every datagram already waiting in the socket (to the `receive` callback), without waiting
   * for the event loop's poll phase. A timer that fires late runs before the poll phase of its loop turn: the
   * peer's packets that queued meanwhile must be read first, or they look missing.
   */
  drain(): void {
    this.drainNow?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.poll?.close();
    this.poll = undefined;
    this.drainNow = undefined;
    this.c.close(this.fd);
    // The native buffer may still be named by a recvmsg in this very tick's loop: free it on the next one.
    const mem = this.mem;
    this.mem = undefined;
    if (mem !== undefined) setImmediate(() => mem.free());
  }
}

/**
 * The TTL from the control messages of a msghdr (struct cmsghdr { size_t cmsg_len; int cmsg_level; int
 * cmsg_type; } then the data, each message aligned to 8 bytes). Pure.
 */
export function receivedTtl(control: Buffer): number {
  let off = 0;
  while (off + 16 <= control.length) {
    const len = Number(control.readBigUInt64LE(off));
    if (len < 16 || off + len > control.length) break;
    const level = control.readInt32LE(off + 8);
    const type = control.readInt32LE(off + 12);
    if ((level === IPPROTO_IP && type === IP_TTL) || (level === IPPROTO_IPV6 && type === IPV6_HOPLIMIT))
      return control.readInt32LE(off + 16);
    off += (len + 7) & ~7;
  }
  return -1;
}

/** Open, configure and bind a UDP socket; an Error value for the first failure. */
export function openUdp(c: Libc, o: UdpOptions): UdpSocket | Error {
  const fd = c.socket(o.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errnoError('socket', c.errno());
  const fail = (err: Error): Error => {
    c.close(fd);
    return err;
  };
  const v6 = o.family === AF_INET6;
  let e = o.reuseAddress ? setIntOption(c, fd, SOL_SOCKET, SO_REUSEADDR, 1, 'SO_REUSEADDR') : undefined;
  if (e === undefined && v6) e = setIntOption(c, fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, 'IPV6_V6ONLY');
  if (e === undefined && o.recvTtl)
    e = v6
      ? setIntOption(c, fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, 'IPV6_RECVHOPLIMIT')
      : setIntOption(c, fd, IPPROTO_IP, IP_RECVTTL, 1, 'IP_RECVTTL');
  if (e === undefined && o.ttl !== undefined) e = setTtl(c, fd, o.family, o.ttl);
  if (e !== undefined) return fail(e);
  const address = o.address ?? (v6 ? '::' : '0.0.0.0');
  const ports =
    typeof o.port === 'number' ? [o.port] : shuffledRange(o.port.from, o.port.to, 64 /* attempts */);
  let lastErr: Error | undefined;
  for (const port of ports) {
    const sa = encodeSockaddr(address, port, o.family);
    if (sa === undefined) return fail(new Error(`bind: ${address} is not an address of this family`));
    if (c.bind(fd, sa, sa.length) === 0) {
      const bound = boundPort(c, fd);
      return new UdpSocket(c, fd, o.family, bound ?? port);
    }
    lastErr = errnoError('bind', c.errno(), `${address} port ${port}`);
  }
  return fail(lastErr ?? new Error('bind: no port to try'));
}

function boundPort(c: Libc, fd: number): number | undefined {
  const sa = Buffer.alloc(SOCKADDR_STORAGE_LEN);
  const len = [SOCKADDR_STORAGE_LEN];
  if (c.getsockname(fd, sa, len) !== 0) return undefined;
  return decodeSockaddr(sa, len[0])?.port;
}

function shuffledRange(from: number, to: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(from + Math.floor(Math.random() * (to - from + 1)));
  return out;
}

export { AF_INET, AF_INET6 };
