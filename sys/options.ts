/**
 * Socket options by name, each as its `setsockopt` call; every one returns an Error value or undefined.
 *
 *   ttl     IP_TTL / IPV6_UNICAST_HOPS (-1: the kernel's default)
 *   minTtl  IP_MINTTL / IPV6_MINHOPCOUNT (RFC 5082 GTSM: 256 - hops; 0: off)
 *   md5     TCP_MD5SIG: the RFC 2385 key for one peer address (an empty key deletes it)
 *
 * `struct tcp_md5sig` (linux/tcp.h), 216 bytes:
 *   sockaddr_storage tcpm_addr (128) | u8 tcpm_flags | u8 tcpm_prefixlen | u16 tcpm_keylen | int tcpm_ifindex |
 *   u8 tcpm_key[80]
 */
import {
  AF_INET,
  AF_INET6,
  errnoError,
  IP_MINTTL,
  IP_TTL,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPV6_MINHOPCOUNT,
  IPV6_UNICAST_HOPS,
  TCP_MD5SIG,
  TCP_MD5SIG_MAXKEYLEN,
  type Libc,
} from './libc.js';
import { encodeSockaddr, SOCKADDR_STORAGE_LEN } from './sockaddr.js';

export const TCP_MD5SIG_LEN = SOCKADDR_STORAGE_LEN + 8 + TCP_MD5SIG_MAXKEYLEN;

/** The `struct tcp_md5sig` for `peer` with `key` (empty: delete), for a socket of `family`. Pure. */
export function encodeMd5sig(peer: string, key: string, family: number): Buffer | Error {
  const sa = encodeSockaddr(peer, 0, family);
  if (sa === undefined) return new Error(`TCP-MD5: ${peer} is not an address for this socket`);
  const k = Buffer.from(key, 'utf8');
  if (k.length > TCP_MD5SIG_MAXKEYLEN)
    return new Error(`TCP-MD5: the password is longer than ${TCP_MD5SIG_MAXKEYLEN} bytes`);
  const b = Buffer.alloc(TCP_MD5SIG_LEN);
  sa.copy(b, 0);
  b.writeUInt16LE(k.length, SOCKADDR_STORAGE_LEN + 2);
  k.copy(b, SOCKADDR_STORAGE_LEN + 8);
  return b;
}

/** An int-valued option; `what` names it in the error. */
export function setIntOption(
  c: Libc,
  fd: number,
  level: number,
  name: number,
  value: number,
  what: string,
): Error | undefined {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value, 0);
  if (c.setsockopt(fd, level, name, b, 4) === 0) return undefined;
  return errnoError('setsockopt', c.errno(), what);
}

/** IP_TTL (IPv4) or IPV6_UNICAST_HOPS; -1 restores the default. */
export function setTtl(c: Libc, fd: number, family: number, ttl: number): Error | undefined {
  return family === AF_INET
    ? setIntOption(c, fd, IPPROTO_IP, IP_TTL, ttl, `IP_TTL ${ttl}`)
    : setIntOption(c, fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl, `IPV6_UNICAST_HOPS ${ttl}`);
}

/**
 * IP_MINTTL / IPV6_MINHOPCOUNT: the kernel drops every segment with a lower TTL before TCP sees it. On an
 * AF_INET6 socket with IPv4 peers (dual-stack listener) both are set, since each applies to its own family.
 */
export function setMinTtl(c: Libc, fd: number, family: number, minTtl: number): Error | undefined {
  if (family === AF_INET) return setIntOption(c, fd, IPPROTO_IP, IP_MINTTL, minTtl, `IP_MINTTL ${minTtl}`);
  const v6 = setIntOption(c, fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, minTtl, `IPV6_MINHOPCOUNT ${minTtl}`);
  if (v6 !== undefined) return v6;
  // Best effort for v4-mapped peers: a v6-only socket refuses IP_MINTTL, which is fine.
  setIntOption(c, fd, IPPROTO_IP, IP_MINTTL, minTtl, `IP_MINTTL ${minTtl}`);
  return undefined;
}

/** TCP_MD5SIG for one peer; an empty key removes it (ENOENT for a key never set is not an error). */
export function setMd5(c: Libc, fd: number, family: number, peer: string, key: string): Error | undefined {
  const sig = encodeMd5sig(peer, key, family === AF_INET ? AF_INET : AF_INET6);
  if (sig instanceof Error) return sig;
  if (c.setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, sig, sig.length) === 0) return undefined;
  const errno = c.errno();
  if (key === '' && errno === 2) return undefined;
  return errnoError('setsockopt', errno, `TCP_MD5SIG for ${peer}`);
}
