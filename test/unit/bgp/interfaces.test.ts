import { describe, expect, it } from 'vitest';
import type { NetworkInterfaceInfo } from 'node:os';
import { ipv6Beside, type InterfaceTable } from '../../../bgp/interfaces.js';

const addr = (address: string, internal = false): NetworkInterfaceInfo =>
  (address.includes(':')
    ? { address, family: 'IPv6', internal, netmask: 'ffff:ffff:ffff:ffff::', mac: '', cidr: null, scopeid: 0 }
    : {
        address,
        family: 'IPv4',
        internal,
        netmask: '255.255.255.254',
        mac: '',
        cidr: null,
      }) as NetworkInterfaceInfo;

const table: InterfaceTable = {
  lo: [addr('127.0.0.1', true), addr('::1', true)],
  eth1: [addr('10.79.1.1'), addr('fe80::a8c1:abff:fe00:1'), addr('::ffff:10.79.1.9'), addr('FD00:79:1::2')],
  eth2: [addr('10.80.0.1'), addr('fe80::2')],
};

describe('our IPv6 next hop beside an IPv4 session address', () => {
  it('is the first global IPv6 address of the interface holding it, in RFC 5952 text', () => {
    expect(ipv6Beside(table, '10.79.1.1')).toBe('fd00:79:1::2');
  });

  it('is none on an interface with only link-local IPv6, on loopback, or for an address no interface holds', () => {
    expect(ipv6Beside(table, '10.80.0.1')).toBeUndefined();
    expect(ipv6Beside(table, '127.0.0.1')).toBeUndefined();
    expect(ipv6Beside(table, '10.99.0.1')).toBeUndefined();
    expect(ipv6Beside(table, 'not an address')).toBeUndefined();
  });
});
