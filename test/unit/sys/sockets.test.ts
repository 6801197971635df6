import { describe, expect, it } from 'vitest';
import { AF_INET, AF_INET6 } from '../../../sys/libc.js';
import { dropsSince, parseNetstat } from '../../../sys/netstat.js';
import { encodeMd5sig, TCP_MD5SIG_LEN } from '../../../sys/options.js';
import { decodeSockaddr, encodeSockaddr, familyOf } from '../../../sys/sockaddr.js';
import { peerSocketOptions } from '../../../bgp/transport.js';

describe('sockaddr', () => {
  it('writes sockaddr_in with the port in network order', () => {
    const b = encodeSockaddr('10.77.0.2', 179)!;
    // family 2 (little endian) | port 179 (big endian) | 10.77.0.2 | 8 zero bytes
    expect(b.toString('hex')).toBe('0200' + '00b3' + '0a4d0002' + '0000000000000000');
    expect(decodeSockaddr(b)).toEqual({ address: '10.77.0.2', port: 179 });
  });

  it('writes sockaddr_in6, and an IPv4 peer of an AF_INET6 socket as v4-mapped', () => {
    const b = encodeSockaddr('fd00:77::1', 3784)!;
    expect(b.length).toBe(28);
    expect(b.readUInt16LE(0)).toBe(AF_INET6);
    expect(decodeSockaddr(b)).toEqual({ address: 'fd00:77::1', port: 3784 });
    const mapped = encodeSockaddr('10.0.0.5', 179, AF_INET6)!;
    expect(mapped.subarray(8, 24).toString('hex')).toBe('00000000000000000000ffff0a000005');
    // decoded back as the plain IPv4 address, the one spelling peers are keyed by
    expect(decodeSockaddr(mapped)).toEqual({ address: '10.0.0.5', port: 179 });
  });

  it('keeps the scope of a link-local address and refuses what does not fit', () => {
    const b = encodeSockaddr('fe80::1%eth0', 179, AF_INET6, 7)!;
    expect(b.readUInt32LE(24)).toBe(7);
    expect(familyOf('fe80::1%eth0')).toBe(AF_INET6);
    expect(encodeSockaddr('fd00::1', 179, AF_INET)).toBeUndefined();
    expect(encodeSockaddr('not-an-address', 179)).toBeUndefined();
    expect(familyOf('10.1.2.3')).toBe(AF_INET);
  });
});

describe('tcp_md5sig', () => {
  it('carries the peer address, the key length and the key', () => {
    const b = encodeMd5sig('10.77.0.1', 'secret', AF_INET) as Buffer;
    expect(b.length).toBe(TCP_MD5SIG_LEN);
    expect(b.readUInt16LE(0)).toBe(AF_INET);
    expect(b.subarray(4, 8).toString('hex')).toBe('0a4d0001');
    expect(b.readUInt16LE(130)).toBe(6); // tcpm_keylen
    expect(b.subarray(136, 142).toString()).toBe('secret');
    // an empty key (delete) has length 0
    expect((encodeMd5sig('10.77.0.1', '', AF_INET) as Buffer).readUInt16LE(130)).toBe(0);
  });

  it('refuses a key over 80 bytes without putting the key in the message', () => {
    const err = encodeMd5sig('10.77.0.1', 'k'.repeat(81), AF_INET);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).not.toContain('kkkk');
  });
});

describe('netstat', () => {
  const text = [
    'TcpExt: SyncookiesSent TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure TCPMinTTLDrop',
    'TcpExt: 0 3 1 7 2',
    'IpExt: InNoRoutes',
    'IpExt: 0',
  ].join('\n');

  it('reads the silent-drop counters', () => {
    const d = parseNetstat(text);
    expect(d).toEqual({ md5NotFound: 3, md5Unexpected: 1, md5Failure: 7, minTtlDrop: 2 });
    expect(dropsSince(d, { md5NotFound: 1, md5Unexpected: 1, md5Failure: 0, minTtlDrop: 2 })).toEqual({
      md5NotFound: 2,
      md5Unexpected: 0,
      md5Failure: 7,
      minTtlDrop: 0,
    });
  });

  it('gives zeros for counters a kernel does not have', () => {
    expect(parseNetstat('TcpExt: SyncookiesSent\nTcpExt: 5\n')).toEqual({
      md5NotFound: 0,
      md5Unexpected: 0,
      md5Failure: 0,
      minTtlDrop: 0,
    });
  });
});

describe('peerSocketOptions', () => {
  it('turns ttlSecurity hops into TTL 255 sent and 256 - hops accepted', () => {
    expect(peerSocketOptions({ ttlSecurity: 1 })).toEqual({ ttl: 255, minTtl: 255 });
    expect(peerSocketOptions({ ttlSecurity: 2, password: 'x' })).toEqual({
      password: 'x',
      ttl: 255,
      minTtl: 254,
    });
    expect(peerSocketOptions({ ttl: 5 })).toEqual({ ttl: 5 });
    expect(peerSocketOptions({})).toEqual({});
  });
});
