/**
 * Maximum prefixes per peer (`PeerConfig.maxPrefixes`): what a peer may make us hold. The count is the peer's
 * prefixes in our Adj-RIB-In (received, every family together — what costs memory, whether the import policy
 * accepts them or not), checked after each UPDATE.
 *
 * - at `WARNING_THRESHOLD` of the limit: one warning per session;
 * - over the limit: with `warningOnly`, one warning per session; otherwise the session is reset with Cease
 *   6/1 Maximum Number of Prefixes Reached carrying the RFC 4486 §4 data (AFI, SAFI of the UPDATE that
 *   crossed the limit, and the limit), and restarted after `restartAfter` seconds (default
 *   `DEFAULT_MAX_PREFIX_RESTART`); `restartAfter: 0` keeps it down until its configuration changes.
 *
 * Pure: counts in, a verdict out; one guard per session.
 */
import { toNotification } from './wire/notification.js';
import { CEASE_MAXIMUM_PREFIXES_REACHED } from './wire/iana.js';

export interface MaxPrefixes {
  /** The most prefixes the peer may give us (1..4294967295). */
  readonly limit: number;
  /** Only log when over the limit; never reset. */
  readonly warningOnly?: boolean;
  /** Seconds before the session restarts after the reset (0: stays down until reconfigured). */
  readonly restartAfter?: number;
}

/** FRR's default restart interval is "never"; a node daemon with no `clear` command restarts after a minute. */
export const DEFAULT_MAX_PREFIX_RESTART = 60;
/** FRR's default warning threshold: 75 % of the limit. */
export const WARNING_THRESHOLD = 0.75;

export type MaxPrefixVerdict = 'ok' | 'threshold' | 'over-warning' | 'cease';

export class MaxPrefixGuard {
  private thresholdWarned = false;
  private overWarned = false;

  /** What `received` prefixes mean under `config` (undefined: no limit). */
  check(config: MaxPrefixes | undefined, received: number): MaxPrefixVerdict {
    if (config === undefined) return 'ok';
    if (received > config.limit) {
      if (config.warningOnly !== true) return 'cease';
      if (this.overWarned) return 'ok';
      this.overWarned = true;
      return 'over-warning';
    }
    if (received < config.limit * WARNING_THRESHOLD) {
      this.overWarned = false;
      return 'ok';
    }
    if (this.thresholdWarned) return 'ok';
    this.thresholdWarned = true;
    return 'threshold';
  }
}

/** Cease 6/1's data: AFI (2), SAFI (1), the limit (4) — RFC 4486 §4. */
export function maxPrefixData(afi: number, safi: number, limit: number): Uint8Array {
  return toNotification({
    kind: 'cease',
    code: 'BGP_CEASE_MAX_PREFIXES',
    reason: `more than ${limit} prefixes`,
    subcode: CEASE_MAXIMUM_PREFIXES_REACHED,
    maxPrefixes: { afi, safi, limit },
  }).data;
}

/** Why `v` is no `maxPrefixes` value, or undefined (peer-config.ts reports it with the field). */
export function maxPrefixesProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    return 'expected { limit, warningOnly?, restartAfter? }';
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => !['limit', 'warningOnly', 'restartAfter'].includes(k));
  if (extra !== undefined) return `unknown key "${extra}" (limit, warningOnly, restartAfter)`;
  if (typeof o.limit !== 'number' || !Number.isInteger(o.limit) || o.limit < 1 || o.limit > 0xffffffff)
    return 'limit must be 1..4294967295';
  if (o.warningOnly !== undefined && typeof o.warningOnly !== 'boolean')
    return 'warningOnly must be true or false';
  if (
    o.restartAfter !== undefined &&
    (typeof o.restartAfter !== 'number' ||
      !Number.isInteger(o.restartAfter) ||
      o.restartAfter < 0 ||
      o.restartAfter > 65535)
  )
    return 'restartAfter must be 0..65535 seconds';
  return undefined;
}
