import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  formatPrefix,
  ipv4Key,
  ipv6Key,
  ipv6KeyParts,
  parsePrefix,
  prefixContains,
} from '../../../ip/prefix.js';
import {
  canonicalAddress,
  formatIpv4Bytes,
  formatIpv6,
  parseAddress,
  parseIpv4,
  parseIpv6,
} from '../../../ip/address.js';
import { key } from '../../support/prefix.js';

describe('prefix keys', () => {
  it('parses and formats IPv4 prefixes through a number key', () => {
    const key = parsePrefix('10.244.2.0/24');
    expect(typeof key).toBe('number');
    expect(formatPrefix(key as number)).toBe('10.244.2.0/24');
    expect(parsePrefix('0.0.0.0/0')).toBe(0);
    expect(formatPrefix(parsePrefix('255.255.255.255/32') as number)).toBe('255.255.255.255/32');
  });

  it('parses IPv6 prefixes into canonical RFC 5952 text', () => {
    expect(parsePrefix('FD00:0244:0002:0000::/64')).toBe('fd00:244:2::/64');
    expect(parsePrefix('2001:db8:0:0:1:0:0:0/80')).toBe('2001:db8:0:0:1::/80');
    expect(parsePrefix('::/0')).toBe('::/0');
  });

  it('refuses host bits, bad lengths and bad addresses with a message naming the input', () => {
    expect(String(parsePrefix('10.244.2.1/24'))).toMatch(/host bits.*10\.244\.2\.0\/24/);
    expect(String(parsePrefix('10.0.0.0/33'))).toMatch(/over 32/);
    expect(String(parsePrefix('fd00::1/64'))).toMatch(/host bits.*fd00::\/64/);
    expect(String(parsePrefix('10.0.0.256/32'))).toMatch(/not an IPv4 address/);
    expect(String(parsePrefix('10.0.0.0'))).toMatch(/expected ADDRESS\/LENGTH/);
    expect(String(parsePrefix('1:2:3:4:5:6:7:8:9/64'))).toMatch(/not an IPv6 address/);
  });

  it('uses the longest zero run for ::, the first one on ties, never for a single group', () => {
    expect(formatIpv6(parseIpv6('1:0:0:2:0:0:0:3')!)).toBe('1:0:0:2::3');
    expect(formatIpv6(parseIpv6('1:0:0:2:0:0:3:4')!)).toBe('1::2:0:0:3:4');
    expect(formatIpv6(parseIpv6('1:0:2:3:4:5:6:7')!)).toBe('1:0:2:3:4:5:6:7');
    expect(formatIpv6(parseIpv6('::ffff:10.1.2.3')!)).toBe('::ffff:a01:203');
  });

  it('answers containment within one family only', () => {
    const pods = key('10.244.0.0/16');
    expect(prefixContains(pods, key('10.244.7.0/24'))).toBe(true);
    expect(prefixContains(pods, key('10.245.0.0/24'))).toBe(false);
    expect(prefixContains(pods, key('10.0.0.0/8'))).toBe(false);
    expect(prefixContains(key('fd00:244::/32'), key('fd00:244:2::/64'))).toBe(true);
    expect(prefixContains(key('fd00:244::/32'), key('fd00:245::/64'))).toBe(false);
    expect(prefixContains(key('::/0'), pods)).toBe(false);
  });

  it('round-trips every IPv4 key and masks host bits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), (addr, len) => {
        const key = ipv4Key(addr, len);
        expect(parsePrefix(formatPrefix(key))).toBe(key);
        expect(key).toBeLessThan(2 ** 38);
      }),
    );
  });

  it('round-trips every IPv6 key through text and bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0, max: 128 }),
        (b, len) => {
          const key = ipv6Key(b, len);
          expect(parsePrefix(key)).toBe(key);
          const parts = ipv6KeyParts(key);
          expect(parts.len).toBe(len);
          expect(ipv6Key(parts.bytes, len)).toBe(key);
        },
      ),
    );
  });

  it('parses dotted quads strictly', () => {
    expect(parseIpv4('1.2.3.4')).toBe(0x01020304);
    expect(parseIpv4('1.2.3')).toBeUndefined();
    expect(parseIpv4('1.2.3.4.5')).toBeUndefined();
    expect(parseIpv4('1.2.3.x')).toBeUndefined();
  });
});

describe('addresses: one spelling each', () => {
  it('gives IPv4, IPv4-mapped IPv6 and IPv6 in any case one canonical text', () => {
    expect(canonicalAddress('10.0.0.5')).toBe('10.0.0.5');
    expect(canonicalAddress('::ffff:10.0.0.5')).toBe('10.0.0.5');
    expect(canonicalAddress('::FFFF:a00:5')).toBe('10.0.0.5');
    expect(canonicalAddress('2001:DB8:0:0::1')).toBe('2001:db8::1');
    expect(canonicalAddress('FE80::1%eth0')).toBe('fe80::1%eth0');
  });

  it('refuses what is not an address, an empty zone and a zone on IPv4', () => {
    for (const bad of ['10.0.0', '10.0.0.256', '1::2::3', 'fe80::1%', '10.0.0.1%eth0', '', 'x'])
      expect(canonicalAddress(bad), bad).toBeUndefined();
  });

  it('parses a zone only on IPv6 and keeps it', () => {
    expect(parseAddress('fe80::1%eth0')).toMatchObject({ version: 6, zone: 'eth0' });
    expect(parseAddress('192.0.2.1')).toMatchObject({ version: 4 });
    expect(formatIpv4Bytes(parseAddress('192.0.2.1')!.bytes)).toBe('192.0.2.1');
  });
});
