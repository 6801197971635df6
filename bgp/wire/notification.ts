/**
 * NOTIFICATION message (RFC 4271 §4.5), after the header:
 *
 *      0                   1                   2                   3
 *      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *      +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *      | Error code    | Error subcode |   Data (variable)             |
 *      +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Also: the one exhaustive mapping from a `BgpError` to the NOTIFICATION RFC 4271 §6 prescribes, the
 * code/subcode → text table for logs and the CLI, and the RFC 9003 Shutdown Communication.
 */
import type { NotificationMessage } from './types.js';
import { assertNever, type BgpError } from './errors.js';
import { Writer } from './writer.js';
import { beginMessage, endMessage } from './header.js';
import * as iana from './iana.js';

const EMPTY = new Uint8Array(0);

function u16Data(v: number): Uint8Array {
  return Uint8Array.of((v >>> 8) & 0xff, v & 0xff);
}

function notification(code: number, subcode: number, data: Uint8Array = EMPTY): NotificationMessage {
  return { type: iana.MESSAGE_NOTIFICATION, code, subcode, data };
}

/** The NOTIFICATION to send for an error (RFC 4271 §6, RFC 4486, RFC 6608, RFC 7313, RFC 9003). */
export function toNotification(err: BgpError): NotificationMessage {
  switch (err.kind) {
    // §6.1: Bad Message Length — "the Data field MUST contain the erroneous Length field".
    case 'connection-not-synchronized':
      return notification(iana.ERR_MESSAGE_HEADER, iana.HEADER_CONNECTION_NOT_SYNCHRONIZED);
    case 'bad-message-length':
      return notification(iana.ERR_MESSAGE_HEADER, iana.HEADER_BAD_MESSAGE_LENGTH, u16Data(err.length));
    case 'bad-message-type':
      return notification(
        iana.ERR_MESSAGE_HEADER,
        iana.HEADER_BAD_MESSAGE_TYPE,
        Uint8Array.of(err.messageType & 0xff),
      );
    // §6.2
    case 'unsupported-version-number':
      return notification(
        iana.ERR_OPEN_MESSAGE,
        iana.OPEN_UNSUPPORTED_VERSION_NUMBER,
        u16Data(err.supportedVersion),
      );
    case 'bad-peer-as':
      return notification(iana.ERR_OPEN_MESSAGE, iana.OPEN_BAD_PEER_AS);
    case 'bad-bgp-identifier':
      return notification(iana.ERR_OPEN_MESSAGE, iana.OPEN_BAD_BGP_IDENTIFIER);
    case 'unsupported-optional-parameter':
      return notification(iana.ERR_OPEN_MESSAGE, iana.OPEN_UNSUPPORTED_OPTIONAL_PARAMETER, err.data);
    case 'authentication-failure':
      return notification(iana.ERR_OPEN_MESSAGE, iana.OPEN_AUTHENTICATION_FAILURE);
    case 'unacceptable-hold-time':
      return notification(iana.ERR_OPEN_MESSAGE, iana.OPEN_UNACCEPTABLE_HOLD_TIME);
    case 'unsupported-capability':
      // RFC 5492 §5: "the Data field ... lists the capabilities (code, length, value)".
      return notification(iana.ERR_OPEN_MESSAGE, iana.OPEN_UNSUPPORTED_CAPABILITY, err.data);
    case 'role-mismatch':
      return notification(iana.ERR_OPEN_MESSAGE, iana.OPEN_ROLE_MISMATCH);
    // §6.3: the attribute-carrying subcodes have "the Data field ... the erroneous attribute (type, length
    // and value)".
    case 'malformed-attribute-list':
      return notification(iana.ERR_UPDATE_MESSAGE, iana.UPDATE_MALFORMED_ATTRIBUTE_LIST);
    case 'unrecognized-well-known-attribute':
      return notification(iana.ERR_UPDATE_MESSAGE, iana.UPDATE_UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, err.data);
    case 'missing-well-known-attribute':
      // "The Data field MUST contain the Attribute Type Code of the missing, well-known attribute."
      return notification(
        iana.ERR_UPDATE_MESSAGE,
        iana.UPDATE_MISSING_WELL_KNOWN_ATTRIBUTE,
        Uint8Array.of(err.attributeType & 0xff),
      );
    case 'attribute-flags-error':
      return notification(iana.ERR_UPDATE_MESSAGE, iana.UPDATE_ATTRIBUTE_FLAGS_ERROR, err.data);
    case 'attribute-length-error':
      return notification(iana.ERR_UPDATE_MESSAGE, iana.UPDATE_ATTRIBUTE_LENGTH_ERROR, err.data);
    case 'invalid-origin-attribute':
      return notification(iana.ERR_UPDATE_MESSAGE, iana.UPDATE_INVALID_ORIGIN_ATTRIBUTE, err.data);
    case 'as-routing-loop':
      return notification(iana.ERR_UPDATE_MESSAGE, iana.UPDATE_AS_ROUTING_LOOP);
    case 'invalid-next-hop-attribute':
      return notification(iana.ERR_UPDATE_MESSAGE, iana.UPDATE_INVALID_NEXT_HOP_ATTRIBUTE, err.data);
    case 'optional-attribute-error':
      return notification(iana.ERR_UPDATE_MESSAGE, iana.UPDATE_OPTIONAL_ATTRIBUTE_ERROR, err.data);
    case 'invalid-network-field':
      return notification(iana.ERR_UPDATE_MESSAGE, iana.UPDATE_INVALID_NETWORK_FIELD);
    case 'malformed-as-path':
      return notification(iana.ERR_UPDATE_MESSAGE, iana.UPDATE_MALFORMED_AS_PATH);
    // §6.5
    case 'hold-timer-expired':
      return notification(iana.ERR_HOLD_TIMER_EXPIRED, iana.SUBCODE_UNSPECIFIC);
    // §6.6 with RFC 6608 §4: "the Data field ... the message type of the unexpected message".
    case 'fsm-error':
      return notification(
        iana.ERR_FSM,
        err.subcode,
        err.subcode === iana.FSM_UNSPECIFIED ? EMPTY : Uint8Array.of(err.messageType & 0xff),
      );
    case 'cease':
      return notification(iana.ERR_CEASE, err.subcode, ceaseData(err));
    // RFC 7313 §5: "the Data field ... the complete ROUTE-REFRESH message".
    case 'route-refresh-invalid-length':
      return notification(iana.ERR_ROUTE_REFRESH, iana.ROUTE_REFRESH_INVALID_MESSAGE_LENGTH, err.data);
    default:
      return assertNever(err);
  }
}

function ceaseData(err: Extract<BgpError, { kind: 'cease' }>): Uint8Array {
  if (err.subcode === iana.CEASE_MAXIMUM_PREFIXES_REACHED && err.maxPrefixes !== undefined) {
    // RFC 4486 §4: AFI (2), SAFI (1), upper bound (4).
    const w = new Writer(7);
    w.u16(err.maxPrefixes.afi).u8(err.maxPrefixes.safi).u32(err.maxPrefixes.limit);
    return Uint8Array.from(w.view());
  }
  if (
    (err.subcode === iana.CEASE_ADMINISTRATIVE_SHUTDOWN || err.subcode === iana.CEASE_ADMINISTRATIVE_RESET) &&
    err.shutdownCommunication !== undefined
  ) {
    return encodeShutdownCommunication(err.shutdownCommunication);
  }
  return EMPTY;
}

/**
 * RFC 9003 §2 Shutdown Communication: a 1-octet length then that many octets of UTF-8 (up to 255; RFC 8203
 * allowed 128). Longer text is cut at a character boundary.
 */
export function encodeShutdownCommunication(text: string): Uint8Array {
  let bytes = Buffer.from(text, 'utf8');
  if (bytes.length > 255) {
    let end = 255;
    while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // do not split a multi-octet character
    bytes = bytes.subarray(0, end);
  }
  const out = new Uint8Array(1 + bytes.length);
  out[0] = bytes.length;
  out.set(bytes, 1);
  return out;
}

/** The Shutdown Communication in a Cease 2/4 data field, or undefined when absent or malformed. */
export function decodeShutdownCommunication(data: Uint8Array): string | undefined {
  if (data.length === 0) return undefined;
  const len = data[0]!;
  if (len + 1 > data.length) return undefined;
  return Buffer.from(data.buffer, data.byteOffset + 1, len).toString('utf8');
}

/** Decode the body of a NOTIFICATION (at least 2 octets, checked by framing). The data is copied. */
export function decodeNotification(body: Buffer): NotificationMessage {
  return notification(body[0] ?? 0, body[1] ?? 0, Uint8Array.from(body.subarray(2)));
}

export function encodeNotification(n: { code: number; subcode: number; data?: Uint8Array }): Buffer {
  const w = new Writer(iana.MIN_MESSAGE_LENGTH[iana.MESSAGE_NOTIFICATION]! + (n.data?.length ?? 0));
  const start = beginMessage(w, iana.MESSAGE_NOTIFICATION);
  w.u8(n.code)
    .u8(n.subcode)
    .bytes(n.data ?? EMPTY);
  endMessage(w, start);
  return w.finish();
}

// ---- Text ------------------------------------------------------------------------------------------------

const CODE_NAMES: Readonly<Record<number, string>> = {
  [iana.ERR_MESSAGE_HEADER]: 'Message Header Error',
  [iana.ERR_OPEN_MESSAGE]: 'OPEN Message Error',
  [iana.ERR_UPDATE_MESSAGE]: 'UPDATE Message Error',
  [iana.ERR_HOLD_TIMER_EXPIRED]: 'Hold Timer Expired',
  [iana.ERR_FSM]: 'Finite State Machine Error',
  [iana.ERR_CEASE]: 'Cease',
  [iana.ERR_ROUTE_REFRESH]: 'ROUTE-REFRESH Message Error',
};

const SUBCODE_NAMES: Readonly<Record<number, readonly string[]>> = {
  [iana.ERR_MESSAGE_HEADER]: [
    'Unspecific',
    'Connection Not Synchronized',
    'Bad Message Length',
    'Bad Message Type',
  ],
  [iana.ERR_OPEN_MESSAGE]: [
    'Unspecific',
    'Unsupported Version Number',
    'Bad Peer AS',
    'Bad BGP Identifier',
    'Unsupported Optional Parameter',
    'Authentication Failure (deprecated)',
    'Unacceptable Hold Time',
    'Unsupported Capability',
    'Role Mismatch',
  ],
  [iana.ERR_UPDATE_MESSAGE]: [
    'Unspecific',
    'Malformed Attribute List',
    'Unrecognized Well-known Attribute',
    'Missing Well-known Attribute',
    'Attribute Flags Error',
    'Attribute Length Error',
    'Invalid ORIGIN Attribute',
    'AS Routing Loop (deprecated)',
    'Invalid NEXT_HOP Attribute',
    'Optional Attribute Error',
    'Invalid Network Field',
    'Malformed AS_PATH',
  ],
  [iana.ERR_FSM]: [
    'Unspecified Error',
    'Receive Unexpected Message in OpenSent State',
    'Receive Unexpected Message in OpenConfirm State',
    'Receive Unexpected Message in Established State',
  ],
  [iana.ERR_CEASE]: [
    'Unspecific',
    'Maximum Number of Prefixes Reached',
    'Administrative Shutdown',
    'Peer De-configured',
    'Administrative Reset',
    'Connection Rejected',
    'Other Configuration Change',
    'Connection Collision Resolution',
    'Out of Resources',
    'Hard Reset',
    'BFD Down',
  ],
  [iana.ERR_ROUTE_REFRESH]: ['Reserved', 'Invalid Message Length'],
};

/** "Cease / Administrative Shutdown"; unknown numbers are shown as numbers. */
export function describeNotification(code: number, subcode: number): string {
  const name = CODE_NAMES[code] ?? `Unknown error code ${code}`;
  if (code === iana.ERR_HOLD_TIMER_EXPIRED && subcode === iana.SUBCODE_UNSPECIFIC) return name;
  const sub = SUBCODE_NAMES[code]?.[subcode] ?? `subcode ${subcode}`;
  return `${name} / ${sub}`;
}

/** As `describeNotification`, plus the shutdown communication of a Cease 2/4 when there is one. */
export function describeNotificationMessage(n: NotificationMessage): string {
  const text = describeNotification(n.code, n.subcode);
  if (
    n.code === iana.ERR_CEASE &&
    (n.subcode === iana.CEASE_ADMINISTRATIVE_SHUTDOWN || n.subcode === iana.CEASE_ADMINISTRATIVE_RESET)
  ) {
    const comm = decodeShutdownCommunication(n.data);
    if (comm !== undefined && comm.length > 0) return `${text}: "${comm}"`;
  }
  return text;
}
