/**
 * The peer rules live once, in bgp/peer-config.ts: `Speaker.addPeer` and the daemon's config file refuse the
 * same values for the same reason, and the config error still names the field path and the bad value.
 */
import { describe, expect, it } from 'vitest';
import { validatePeerConfig } from '../../../bgp/peer-config.js';
import type { PeerConfig } from '../../../bgp/api.js';
import { parseConfig } from '../../../daemon/config.js';

const GOOD: PeerConfig = { address: '10.77.0.1', asn: 65001 };

/** The config file's message for the same peer, or undefined when the file accepts it. */
function fileProblem(peer: Record<string, unknown>): string | undefined {
  const text = JSON.stringify({ asn: 65002, node: { address: '10.77.0.2' }, peers: [peer] });
  try {
    parseConfig(text, 'x.yaml');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

// [field, bad value, the problem both report]
const BAD: [keyof PeerConfig, unknown, string][] = [
  ['address', '10.77.0.300', 'not an IPv4 or IPv6 address'],
  ['asn', 0, 'must be 1..4294967295'],
  ['asn', 4294967296, 'must be 1..4294967295'],
  ['asn', 1.5, 'expected an AS number'],
  ['port', 0, 'must be 1..65535'],
  ['holdTime', 1, 'must be 0 or 3..65535'],
  ['holdTime', 2, 'must be 0 or 3..65535'],
  ['holdTime', 65536, 'must be 0 or 3..65535'],
  ['holdTime', 4.5, 'expected seconds'],
  ['keepaliveTime', 21846, 'must be 0..21845'],
  ['connectRetryTime', 0, 'must be 1..65535'],
  ['ttl', 256, 'must be 1..255'],
  ['gracefulRestartTime', 4096, 'must be 0..4095'],
  ['localAddress', 'nope', 'not an IPv4 or IPv6 address'],
  ['families', [], 'must name at least one family'],
];

const EDGES: [keyof PeerConfig, unknown][] = [
  ['holdTime', 0],
  ['holdTime', 3],
  ['holdTime', 65535],
  ['keepaliveTime', 0],
  ['keepaliveTime', 21845],
  ['asn', 4294967295],
  ['gracefulRestartTime', 4095],
  ['ttl', 255],
  ['families', ['ipv6-unicast']],
  ['address', 'fd00::1'],
];

describe('peer rules, once for the library and the config file', () => {
  it.each(BAD)('%s %j: both refuse it, for the same reason', (field, value, why) => {
    const peer = { ...GOOD, [field]: value };
    expect(validatePeerConfig(peer as PeerConfig)).toBe(`${field} ${show(value)} is not allowed: ${why}`);
    // The file's messages call a list "a list" (config.ts showValue).
    const shown = Array.isArray(value) ? 'a list' : show(value);
    expect(fileProblem(peer)).toBe(`config x.yaml: peers[0].${field}: ${shown} is not allowed: ${why}`);
  });

  it.each(EDGES)('%s %j: both accept it', (field, value) => {
    const peer = { ...GOOD, [field]: value };
    expect(validatePeerConfig(peer as PeerConfig)).toBeUndefined();
    expect(fileProblem(peer)).toBeUndefined();
  });

  it('refuses a family the speaker cannot negotiate, and addresses of the wrong family', () => {
    expect(validatePeerConfig({ ...GOOD, families: ['l2vpn-evpn' as 'ipv4-unicast'] })).toBe(
      'families ["l2vpn-evpn"] is not allowed: "l2vpn-evpn" is not one of ipv4-unicast, ipv6-unicast',
    );
    expect(validatePeerConfig({ ...GOOD, localAddressIpv6: '10.0.0.1' })).toBe(
      'localAddressIpv6 "10.0.0.1" is not allowed: not an IPv6 address',
    );
    expect(validatePeerConfig({ ...GOOD, localAddressIpv4: 'fd00::1' })).toBe(
      'localAddressIpv4 "fd00::1" is not allowed: not an IPv4 address',
    );
  });
});

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return v.length === 0 ? '[]' : `[${v.map(show).join(', ')}]`;
  return String(v);
}
