/**
 * The few libc calls a netlink socket needs, through koffi (an FFI library whose npm package carries
 * prebuilt binaries; nothing is compiled on install). Every call returns what the kernel said — a count, or
 * -1 and the errno read right after it on the same thread — and never throws: a socket error is a value
 * for the caller to act on, not an exception inside a native callback (the `netlink` addon this replaces
 * aborted the whole process on an ENOBUFS).
 *
 * `send`/`recv` rather than `sendmsg`/`recvmsg`: an unconnected netlink socket sends to the kernel by
 * default, and `recv` with MSG_TRUNC returns a datagram's full length, so no msghdr or iovec is built per call.
 *
 * The calls block where the socket blocks; blocking ones are made on the worker threads (writer, monitor),
 * never on the main thread, which only ever asks with MSG_DONTWAIT or a zero poll timeout.
 */
import { createRequire } from 'node:module';

/** A call's outcome: `n` ≥ 0 on success; `n` = -1 and `errno` ≠ 0 on failure. */
export interface SysResult {
  n: number;
  errno: number;
}

export interface Libc {
  socket(domain: number, type: number, protocol: number): SysResult;
  bind(fd: number, addr: Buffer): SysResult;
  setsockoptInt(fd: number, level: number, name: number, value: number): SysResult;
  getsockoptInt(fd: number, level: number, name: number): SysResult;
  /** getsockname() of a netlink socket: `n` is its port id (nl_pid), or -1 with the errno. */
  netlinkPortId(fd: number): SysResult;
  send(fd: number, buf: Uint8Array, length: number, flags: number): SysResult;
  recv(fd: number, buf: Uint8Array, length: number, flags: number): SysResult;
  /** poll() on one fd; `n` is the revents bits (0 on timeout). */
  poll(fd: number, events: number, timeoutMs: number): SysResult;
  close(fd: number): SysResult;
}

export const AF_NETLINK = 16;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SOL_NETLINK = 270;
export const NETLINK_ADD_MEMBERSHIP = 1;
export const NETLINK_DROP_MEMBERSHIP = 2;
/** Error answers carry only the header of the refused message, not all of it. */
export const NETLINK_CAP_ACK = 10;
export const NETLINK_GET_STRICT_CHK = 12;
export const MSG_PEEK = 0x2;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const POLLIN = 0x1;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const POLLNVAL = 0x20;

export const EINTR = 4;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOBUFS = 105;

let loaded: Libc | undefined;

/** libc, bound once per thread (koffi binds per isolate). Throws only if koffi or libc cannot be loaded. */
export function libc(): Libc {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  const socket = lib.func('int socket(int, int, int)');
  const bind = lib.func('int bind(int, void *, uint32_t)');
  const setsockopt = lib.func('int setsockopt(int, int, int, void *, uint32_t)');
  const getsockopt = lib.func('int getsockopt(int, int, int, void *, void *)');
  const getsockname = lib.func('int getsockname(int, void *, void *)');
  const send = lib.func('intptr_t send(int, void *, uintptr_t, int)');
  const recv = lib.func('intptr_t recv(int, void *, uintptr_t, int)');
  const poll = lib.func('int poll(void *, uint64_t, int)');
  const close = lib.func('int close(int)');
  const result = (n: number): SysResult => ({ n, errno: n < 0 ? koffi.errno() : 0 });
  const int = Buffer.alloc(4);
  const len = Buffer.alloc(4);
  const pollfd = Buffer.alloc(8);
  loaded = {
    socket: (d, t, p) => result(socket(d, t, p) as number),
    bind: (fd, addr) => result(bind(fd, addr, addr.length) as number),
    setsockoptInt: (fd, level, name, value) => {
      int.writeInt32LE(value | 0, 0);
      return result(setsockopt(fd, level, name, int, 4) as number);
    },
    getsockoptInt: (fd, level, name) => {
      len.writeUInt32LE(4, 0);
      const r = result(getsockopt(fd, level, name, int, len) as number);
      return r.n < 0 ? r : { n: int.readInt32LE(0), errno: 0 };
    },
    netlinkPortId: (fd) => {
      const sa = Buffer.alloc(12);
      len.writeUInt32LE(12, 0);
      const r = result(getsockname(fd, sa, len) as number);
      if (r.n < 0) return r;
      return sa.readUInt16LE(0) === AF_NETLINK
        ? { n: sa.readUInt32LE(4), errno: 0 }
        : { n: -1, errno: EBADF };
    },
    send: (fd, buf, length, flags) => result(Number(send(fd, buf, length, flags))),
    recv: (fd, buf, length, flags) => result(Number(recv(fd, buf, length, flags))),
    poll: (fd, events, timeoutMs) => {
      pollfd.writeInt32LE(fd, 0);
      pollfd.writeInt16LE(events, 4);
      pollfd.writeInt16LE(0, 6);
      const r = result(poll(pollfd, 1, timeoutMs) as number);
      return r.n < 0 ? r : { n: r.n === 0 ? 0 : pollfd.readUInt16LE(6), errno: 0 };
    },
    close: (fd) => result(close(fd) as number),
  };
  return loaded;
}
