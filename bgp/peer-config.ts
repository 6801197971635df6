/** Checks of a `PeerConfig` (api.ts): each failure names the field and the bad value. */
import type { PeerConfig } from './api.js';
import { isIpAddress } from '../ip/address.js';

function intIn(v: number | undefined, lo: number, hi: number): boolean {
  return v === undefined || (Number.isInteger(v) && v >= lo && v <= hi);
}

/** Why `c` is unusable, or undefined. `Speaker.addPeer` / `updatePeer` throw with this message. */
export function validatePeerConfig(c: PeerConfig): string | undefined {
  if (!isIpAddress(c.address)) return `address "${c.address}" is not an IP address`;
  if (!intIn(c.asn, 1, 0xffffffff) || c.asn === undefined)
    return `asn ${c.asn} is not an AS number (1..4294967295)`;
  if (!intIn(c.port, 1, 65535)) return `port ${c.port} is not a TCP port`;
  // RFC 4271 §4.2: "Hold Time MUST be either zero or at least three seconds."
  if (!intIn(c.holdTime, 0, 65535) || c.holdTime === 1 || c.holdTime === 2)
    return `holdTime ${c.holdTime} must be 0 or 3..65535 seconds`;
  if (!intIn(c.keepaliveTime, 0, 21845)) return `keepaliveTime ${c.keepaliveTime} must be 0..21845 seconds`;
  if (!intIn(c.connectRetryTime, 1, 65535))
    return `connectRetryTime ${c.connectRetryTime} must be 1..65535 seconds`;
  for (const k of ['localAddress', 'localAddressIpv4', 'localAddressIpv6'] as const) {
    const v = c[k];
    if (v !== undefined && !isIpAddress(v)) return `${k} "${v}" is not an IP address`;
  }
  if (c.localAddressIpv4 !== undefined && c.localAddressIpv4.includes(':'))
    return `localAddressIpv4 "${c.localAddressIpv4}" is not IPv4`;
  if (c.localAddressIpv6 !== undefined && !c.localAddressIpv6.includes(':'))
    return `localAddressIpv6 "${c.localAddressIpv6}" is not IPv6`;
  if (!intIn(c.ttl, 1, 255)) return `ttl ${c.ttl} must be 1..255`;
  if (!intIn(c.ttlSecurity, 1, 254)) return `ttlSecurity ${c.ttlSecurity} must be 1..254 hops`;
  if (c.ttl !== undefined && c.ttlSecurity !== undefined)
    return 'ttl and ttlSecurity exclude each other (ttlSecurity sends TTL 255)';
  // The value itself is never put into a message.
  if (c.password !== undefined && (c.password === '' || Buffer.byteLength(c.password) > 80))
    return 'password must be 1..80 bytes';
  // RFC 4724 §3: the Restart Time is 12 bits.
  if (!intIn(c.gracefulRestartTime, 0, 4095))
    return `gracefulRestartTime ${c.gracefulRestartTime} must be 0..4095`;
  if (c.families !== undefined && c.families.length === 0) return 'families must not be empty';
  return undefined;
}
