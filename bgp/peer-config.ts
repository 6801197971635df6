/**
 * The rules of a `PeerConfig` (api.ts), once: `validatePeerConfig` applies them for `Speaker.addPeer` /
 * `updatePeer`, and a configuration schema (the daemon's zod schema) refines its fields with the same
 * `peerFieldProblem`, so a limit is written here and nowhere else. A problem is a short phrase without the
 * field or the value ("must be 0 or 3..65535"); whoever reports it names both.
 */
import type { PeerConfig } from './api.js';
import { isIpAddress, parseIpv4, parseIpv6 } from '../ip/address.js';
import { MAX_AS, MAX_HOLD_TIME, MAX_RESTART_TIME, MIN_HOLD_TIME } from './wire/iana.js';
import { maxPrefixesProblem } from './max-prefix.js';

/** RFC 4271 §10: "The suggested default value for the HoldTime is 90 seconds." */
export const DEFAULT_HOLD_TIME = 90;
/** Seconds between connection attempts (RFC 4271 §10 suggests 120; a node restarting wants its peers sooner). */
export const DEFAULT_CONNECT_RETRY_TIME = 5;

/** The address families a peer may negotiate, by their configuration names. */
export const PEER_FAMILIES = ['ipv4-unicast', 'ipv6-unicast'] as const;
export type PeerFamily = (typeof PEER_FAMILIES)[number];

/** An integer field: allowed when inside one of `ranges` (inclusive); `what` names the kind of number. */
export interface IntegerRule {
  readonly ranges: readonly (readonly [number, number])[];
  readonly what: string;
}

type IntegerField =
  | 'asn'
  | 'port'
  | 'holdTime'
  | 'keepaliveTime'
  | 'connectRetryTime'
  | 'ttl'
  | 'ttlSecurity'
  | 'gracefulRestartTime';

export const PEER_INTEGER_RULES: { readonly [K in IntegerField]: IntegerRule } = {
  // RFC 6793: 4-octet AS numbers; AS 0 is reserved (RFC 7607).
  asn: { ranges: [[1, MAX_AS]], what: 'an AS number' },
  port: { ranges: [[1, 65535]], what: 'a TCP port' },
  // RFC 4271 §4.2: "Hold Time MUST be either zero or at least three seconds."
  holdTime: {
    ranges: [
      [0, 0],
      [MIN_HOLD_TIME, MAX_HOLD_TIME],
    ],
    what: 'seconds',
  },
  // A third of the largest hold time (RFC 4271 §4.4).
  keepaliveTime: { ranges: [[0, Math.floor(MAX_HOLD_TIME / 3)]], what: 'seconds' },
  connectRetryTime: { ranges: [[1, 65535]], what: 'seconds' },
  ttl: { ranges: [[1, 255]], what: 'an integer' },
  // RFC 5082 GTSM: packets from up to this many hops away (TTL 255 sent, at least 256 - hops accepted).
  ttlSecurity: { ranges: [[1, 254]], what: 'hops' },
  // RFC 4724 §3: the Restart Time is 12 bits.
  gracefulRestartTime: { ranges: [[0, MAX_RESTART_TIME]], what: 'seconds' },
};

/** "must be 1..65535", "must be 0 or 3..65535"; "expected seconds" for a non-integer. */
export function integerProblem(rule: IntegerRule, v: number): string | undefined {
  if (!Number.isInteger(v)) return `expected ${rule.what}`;
  if (rule.ranges.some(([lo, hi]) => v >= lo && v <= hi)) return undefined;
  return `must be ${rule.ranges.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}..${hi}`)).join(' or ')}`;
}

/** An address field: any IP address, or one of a family. */
export function addressProblem(v: string, family?: 4 | 6): string | undefined {
  if (!isIpAddress(v)) return 'not an IPv4 or IPv6 address';
  if (family === 4 && parseIpv4(v) === undefined) return 'not an IPv4 address';
  if (family === 6 && (!v.includes(':') || parseIpv6(v) === undefined)) return 'not an IPv6 address';
  return undefined;
}

export function familiesProblem(families: readonly string[]): string | undefined {
  if (families.length === 0) return 'must name at least one family';
  const bad = families.find((f) => !(PEER_FAMILIES as readonly string[]).includes(f));
  return bad === undefined ? undefined : `"${bad}" is not one of ${PEER_FAMILIES.join(', ')}`;
}

/** Why `value` is not allowed in `field`, or undefined (also for fields without a rule). */
export function peerFieldProblem(field: keyof PeerConfig, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  switch (field) {
    case 'asn':
    case 'port':
    case 'holdTime':
    case 'keepaliveTime':
    case 'connectRetryTime':
    case 'ttl':
    case 'ttlSecurity':
    case 'gracefulRestartTime':
      return typeof value === 'number'
        ? integerProblem(PEER_INTEGER_RULES[field], value)
        : `expected ${PEER_INTEGER_RULES[field].what}`;
    case 'address':
    case 'localAddress':
      return typeof value === 'string' ? addressProblem(value) : 'expected an IP address';
    case 'localAddressIpv4':
      return typeof value === 'string' ? addressProblem(value, 4) : 'expected an IPv4 address';
    case 'localAddressIpv6':
      return typeof value === 'string' ? addressProblem(value, 6) : 'expected an IPv6 address';
    case 'families':
      return Array.isArray(value) ? familiesProblem(value as string[]) : 'expected a list';
    // RFC 2385: the key is at most 80 bytes (TCP_MD5SIG_MAXKEYLEN). The value itself is never in a message.
    case 'password':
      if (typeof value !== 'string') return 'expected text';
      if (value === '') return 'must not be empty';
      return Buffer.byteLength(value) <= 80
        ? undefined
        : 'must be at most 80 bytes (the kernel limit for TCP-MD5)';
    case 'maxPrefixes':
      return maxPrefixesProblem(value);
    case 'passive':
    case 'routeReflectorClient':
    case 'dampPeerOscillations':
    case 'description':
      return undefined;
    default: {
      const never: never = field;
      return never;
    }
  }
}

const CHECKED: readonly (keyof PeerConfig)[] = [
  'address',
  'asn',
  'port',
  'holdTime',
  'keepaliveTime',
  'connectRetryTime',
  'localAddress',
  'localAddressIpv4',
  'localAddressIpv6',
  'ttl',
  'ttlSecurity',
  'gracefulRestartTime',
  'families',
  'password',
  'maxPrefixes',
];

/** Fields whose value must never appear in a message (logs, CLI, errors). */
const SECRET: ReadonlySet<keyof PeerConfig> = new Set(['password']);

/**
 * Why `c` is unusable — `holdTime 2 is not allowed: must be 0 or 3..65535` — or undefined. `Speaker.addPeer`
 * and `updatePeer` throw with this message.
 */
export function validatePeerConfig(c: PeerConfig): string | undefined {
  if (c.asn === undefined) return 'asn is required';
  for (const field of CHECKED) {
    const value: unknown = c[field];
    const why = peerFieldProblem(field, value);
    if (why !== undefined)
      return SECRET.has(field)
        ? `${field} is not allowed: ${why}`
        : `${field} ${show(value)} is not allowed: ${why}`;
  }
  if (c.ttl !== undefined && c.ttlSecurity !== undefined)
    return 'ttl and ttlSecurity exclude each other (ttlSecurity sends TTL 255)';
  return undefined;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}
