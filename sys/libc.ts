/**
 * The few libc calls that Node's `net` and `dgram` do not offer (per-peer TCP-MD5 keys, IP_MINTTL, the TTL of
 * a received datagram), called through koffi. Loaded lazily: a process that never asks for them never loads
 * the FFI. Every call returns its result and errno as values; nothing here throws for a failed syscall.
 *
 * Only 64-bit Linux (x64, arm64, riscv64, ppc64, loong64): the struct layouts below (msghdr, cmsghdr, iovec)
 * are the LP64 ones. `libcAvailable()` says whether this process can use them.
 */
import { createRequire } from 'node:module';
import { getSystemErrorMap } from 'node:util';

// ---- Constants (linux/socket.h, netinet/in.h, linux/tcp.h, linux/in6.h) ----------------------------------

export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_ERROR = 4;
export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
/** linux/tcp.h: `struct tcp_md5sig` keyed by the peer's address (RFC 2385). */
export const TCP_MD5SIG = 14;
export const TCP_MD5SIG_MAXKEYLEN = 80;
export const IP_TTL = 2;
export const IP_RECVTTL = 12;
export const IP_MINTTL = 21;
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_V6ONLY = 26;
export const IPV6_RECVHOPLIMIT = 51;
/** The cmsg type that carries the hop limit of a received IPv6 packet. */
export const IPV6_HOPLIMIT = 52;
export const IPV6_MINHOPCOUNT = 73;
export const F_DUPFD_CLOEXEC = 1030;
export const MSG_DONTWAIT = 0x40;
export const EAGAIN = 11;
export const EINPROGRESS = 115;

// ---- Loading ---------------------------------------------------------------------------------------------

/** The koffi module's shape as far as we use it (its own types are not needed outside this file). */
interface Koffi {
  load(path: string): { func(definition: string): (...args: unknown[]) => unknown };
  errno(): number;
  alloc(type: string, length: number): bigint;
  free(ptr: bigint): void;
  view(ptr: bigint, length: number): ArrayBuffer;
  address(ptr: bigint): bigint;
  node: {
    poll(
      fd: number,
      opts: { readable?: boolean; writable?: boolean },
      cb: (status: number, events: { readable: boolean; writable: boolean }) => void,
    ): { close(): void; stop(): void; unref(): void; ref(): void };
  };
}

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, length: number): number;
  getsockopt(fd: number, level: number, name: number, value: Buffer, length: number[]): number;
  bind(fd: number, addr: Buffer, length: number): number;
  connect(fd: number, addr: Buffer, length: number): number;
  listen(fd: number, backlog: number): number;
  accept4(fd: number, addr: Buffer, length: number[], flags: number): number;
  getpeername(fd: number, addr: Buffer, length: number[]): number;
  getsockname(fd: number, addr: Buffer, length: number[]): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrLen: number): number;
  recvmsg(fd: number, msg: bigint, flags: number): number;
  fcntl(fd: number, cmd: number, arg: number): number;
  close(fd: number): number;
  /** 0 when there is no such interface. */
  if_nametoindex(name: string): number;
  /** The calling thread's id (a worker thread's own, for per-thread scheduling). */
  gettid(): number;
  /** PRIO_PROCESS (0) with a thread id sets that thread's nice value; -1 and errno on failure. */
  setpriority(which: number, who: number, prio: number): number;
  /** sched_setscheduler(tid, policy, &{ sched_priority }): a thread's scheduling policy. */
  sched_setscheduler(tid: number, policy: number, param: Buffer): number;
  errno(): number;
  /** Native memory that stays put (for structures holding pointers, such as msghdr). */
  alloc(length: number): { readonly address: bigint; readonly bytes: Buffer; free(): void };
  /** Watch `fd` on this thread's event loop (libuv uv_poll); `status` < 0 on an error condition. */
  poll(
    fd: number,
    opts: { readable?: boolean; writable?: boolean },
    cb: (status: number, events: { readable: boolean; writable: boolean }) => void,
  ): { close(): void; unref(): void };
}

const LP64_ARCHES = new Set(['x64', 'arm64', 'riscv64', 'ppc64', 'loong64']);

let cached: Libc | Error | undefined;

/** The bindings, or an Error saying why this process cannot have them. */
export function libc(): Libc | Error {
  cached ??= load();
  return cached;
}

export function libcAvailable(): boolean {
  return !(libc() instanceof Error);
}

function load(): Libc | Error {
  if (process.platform !== 'linux')
    return new Error(`socket options need Linux (this is ${process.platform})`);
  if (!LP64_ARCHES.has(process.arch))
    return new Error(`socket options need a 64-bit Linux (this is ${process.arch})`);
  let k: Koffi;
  try {
    k = createRequire(import.meta.url)('koffi') as Koffi;
  } catch (err) {
    return new Error(`cannot load koffi: ${(err as Error).message}`);
  }
  let lib: ReturnType<Koffi['load']>;
  try {
    lib = k.load('libc.so.6');
  } catch (err) {
    return new Error(`cannot load libc.so.6: ${(err as Error).message}`);
  }
  const f = (definition: string) => lib.func(definition);
  const fns = {
    socket: f('int socket(int, int, int)'),
    setsockopt: f('int setsockopt(int, int, int, const void *, uint32_t)'),
    getsockopt: f('int getsockopt(int, int, int, _Out_ void *, _Inout_ uint32_t *)'),
    bind: f('int bind(int, const void *, uint32_t)'),
    connect: f('int connect(int, const void *, uint32_t)'),
    listen: f('int listen(int, int)'),
    accept4: f('int accept4(int, _Out_ void *, _Inout_ uint32_t *, int)'),
    getpeername: f('int getpeername(int, _Out_ void *, _Inout_ uint32_t *)'),
    getsockname: f('int getsockname(int, _Out_ void *, _Inout_ uint32_t *)'),
    sendto: f('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)'),
    recvmsg: f('intptr_t recvmsg(int, void *, int)'),
    fcntl: f('int fcntl(int, int, int)'),
    close: f('int close(int)'),
    if_nametoindex: f('unsigned int if_nametoindex(const char *)'),
    gettid: f('int gettid(void)'),
    setpriority: f('int setpriority(int, unsigned int, int)'),
    sched_setscheduler: f('int sched_setscheduler(int, int, const void *)'),
  };
  return {
    ...(fns as unknown as Omit<Libc, 'errno' | 'alloc' | 'poll'>),
    errno: () => k.errno(),
    alloc(length) {
      const ptr = k.alloc('uint8_t', length);
      const bytes = Buffer.from(k.view(ptr, length));
      bytes.fill(0);
      return { address: k.address(ptr), bytes, free: () => k.free(ptr) };
    },
    poll: (fd, opts, cb) => k.node.poll(fd, opts, cb),
  };
}

// ---- Errors as values ------------------------------------------------------------------------------------

let errorMap: Map<number, [string, string]> | undefined;

/** `ECONNREFUSED` for 111. */
export function errnoName(errno: number): string {
  errorMap ??= getSystemErrorMap();
  return errorMap.get(-errno)?.[0] ?? `errno ${errno}`;
}

/** An Error shaped like Node's own socket errors (`code`, `errno`, `syscall`), to hand to a net.Socket. */
export function errnoError(syscall: string, errno: number, detail?: string): NodeJS.ErrnoException {
  errorMap ??= getSystemErrorMap();
  const [code, message] = errorMap.get(-errno) ?? [`errno ${errno}`, 'unknown error'];
  const err = new Error(
    `${syscall} ${code}${detail ? ` ${detail}` : ''}: ${message}`,
  ) as NodeJS.ErrnoException;
  err.code = code;
  err.errno = -errno;
  err.syscall = syscall;
  return err;
}
