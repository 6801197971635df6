/**
 * Decode failures as data. Every RFC 4271 §6 error (and the later RFCs' subcodes) is one variant of `BgpError`;
 * `toNotification()` in `notification.ts` turns each into the NOTIFICATION (code, subcode, data) the RFC
 * prescribes. Each variant carries a stable string `code` (for logs, metrics and tests) and a `reason` in words.
 */
import type * as iana from './iana.js';

/** Fields every error has. */
interface ErrorBase {
  /** Stable identifier, e.g. `BGP_ERR_BAD_MARKER`. */
  readonly code: string;
  /** A short human explanation of what was wrong with the bytes. */
  readonly reason: string;
}

/** Errors that carry the offending bytes (an attribute, a parameter) as NOTIFICATION data. */
interface WithData extends ErrorBase {
  readonly data: Uint8Array;
}

export type BgpError =
  // ---- 1: Message Header Error (RFC 4271 §6.1) ----
  | (ErrorBase & { readonly kind: 'connection-not-synchronized' })
  | (ErrorBase & { readonly kind: 'bad-message-length'; readonly length: number })
  | (ErrorBase & { readonly kind: 'bad-message-type'; readonly messageType: number })
  // ---- 2: OPEN Message Error (RFC 4271 §6.2, RFC 5492, RFC 9234) ----
  | (ErrorBase & { readonly kind: 'unsupported-version-number'; readonly supportedVersion: number })
  | (ErrorBase & { readonly kind: 'bad-peer-as' })
  | (ErrorBase & { readonly kind: 'bad-bgp-identifier' })
  | (WithData & { readonly kind: 'unsupported-optional-parameter' })
  | (ErrorBase & { readonly kind: 'authentication-failure' })
  | (ErrorBase & { readonly kind: 'unacceptable-hold-time' })
  | (WithData & { readonly kind: 'unsupported-capability' })
  | (ErrorBase & { readonly kind: 'role-mismatch' })
  // ---- 3: UPDATE Message Error (RFC 4271 §6.3, RFC 7606) ----
  | (ErrorBase & { readonly kind: 'malformed-attribute-list' })
  | (WithData & { readonly kind: 'unrecognized-well-known-attribute' })
  | (ErrorBase & { readonly kind: 'missing-well-known-attribute'; readonly attributeType: number })
  | (WithData & { readonly kind: 'attribute-flags-error' })
  | (WithData & { readonly kind: 'attribute-length-error' })
  | (WithData & { readonly kind: 'invalid-origin-attribute' })
  | (ErrorBase & { readonly kind: 'as-routing-loop' })
  | (WithData & { readonly kind: 'invalid-next-hop-attribute' })
  | (WithData & { readonly kind: 'optional-attribute-error' })
  | (ErrorBase & { readonly kind: 'invalid-network-field' })
  | (ErrorBase & { readonly kind: 'malformed-as-path' })
  // ---- 4: Hold Timer Expired (RFC 4271 §6.5) ----
  | (ErrorBase & { readonly kind: 'hold-timer-expired' })
  // ---- 5: Finite State Machine Error (RFC 4271 §6.6, RFC 6608) ----
  | (ErrorBase & {
      readonly kind: 'fsm-error';
      readonly subcode: FsmSubcode;
      readonly messageType: number;
    })
  // ---- 6: Cease (RFC 4271 §6.7, RFC 4486, RFC 8538, RFC 9003, RFC 9384) ----
  | (ErrorBase & {
      readonly kind: 'cease';
      readonly subcode: CeaseSubcode;
      /** Subcodes 2 and 4: the RFC 9003 Shutdown Communication (UTF-8, at most 255 octets). */
      readonly shutdownCommunication?: string;
      /** Subcode 1: RFC 4486 §4 AFI, SAFI and the upper bound of prefixes. */
      readonly maxPrefixes?: { readonly afi: number; readonly safi: number; readonly limit: number };
    })
  // ---- 7: ROUTE-REFRESH Message Error (RFC 7313 §5) ----
  | (WithData & { readonly kind: 'route-refresh-invalid-length' });

export type BgpErrorKind = BgpError['kind'];

/** RFC 4486 / RFC 8538 / RFC 9384 Cease subcodes. */
export type CeaseSubcode =
  | typeof iana.CEASE_MAXIMUM_PREFIXES_REACHED
  | typeof iana.CEASE_ADMINISTRATIVE_SHUTDOWN
  | typeof iana.CEASE_PEER_DECONFIGURED
  | typeof iana.CEASE_ADMINISTRATIVE_RESET
  | typeof iana.CEASE_CONNECTION_REJECTED
  | typeof iana.CEASE_OTHER_CONFIGURATION_CHANGE
  | typeof iana.CEASE_CONNECTION_COLLISION_RESOLUTION
  | typeof iana.CEASE_OUT_OF_RESOURCES
  | typeof iana.CEASE_HARD_RESET
  | typeof iana.CEASE_BFD_DOWN;

/** RFC 6608 Finite State Machine Error subcodes. */
export type FsmSubcode =
  | typeof iana.FSM_UNSPECIFIED
  | typeof iana.FSM_UNEXPECTED_IN_OPENSENT
  | typeof iana.FSM_UNEXPECTED_IN_OPENCONFIRM
  | typeof iana.FSM_UNEXPECTED_IN_ESTABLISHED;

/** For exhaustive switches: the compiler proves this is never reached. */
export function assertNever(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}

const EMPTY = new Uint8Array(0);

/** Shorthand constructors for the UPDATE errors the decoders raise most. */
export function updateError(
  kind:
    | 'unrecognized-well-known-attribute'
    | 'attribute-flags-error'
    | 'attribute-length-error'
    | 'invalid-origin-attribute'
    | 'invalid-next-hop-attribute'
    | 'optional-attribute-error',
  code: string,
  reason: string,
  data: Uint8Array = EMPTY,
): BgpError {
  return { kind, code, reason, data };
}
