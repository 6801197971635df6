/**
 * The BGP-4 wire codec: the public API. `messageLength` frames, `decodeMessage` decodes one framed message
 * (never throws), `encode*` build messages, `toNotification` / `describeNotification` turn errors into
 * NOTIFICATIONs and text, `validateOpen` applies RFC 4271 §6.2 to a decoded OPEN.
 */
import type { CodecContext, Message } from './types.js';
import type { BgpError } from './errors.js';
import type { AttributeCache } from './cache.js';
import { messageLength } from './header.js';
import { decodeOpen } from './open.js';
import { decodeUpdate } from './update.js';
import { decodeNotification } from './notification.js';
import { decodeRouteRefresh } from './route-refresh.js';
import * as iana from './iana.js';
import { encodeOpen } from './open.js';
import { encodeUpdate } from './update-encode.js';
import { encodeNotification } from './notification.js';
import { encodeKeepalive } from './keepalive.js';
import { encodeRouteRefresh } from './route-refresh.js';
import { assertNever } from './errors.js';

export type DecodeResult = { ok: true; message: Message } | { ok: false; error: BgpError };

/**
 * Decode one framed message (`bytes` holds exactly one message, header included). The header is checked
 * again (marker, length = bytes.length, type, per-type minimum), then the body. `ctx` is only used by UPDATE;
 * `cache` interns UPDATE attributes. Never throws, whatever the input.
 */
export function decodeMessage(bytes: Buffer, ctx: CodecContext, cache?: AttributeCache): DecodeResult {
  try {
    return decodeChecked(bytes, ctx, cache);
  } catch (e) {
    // A bug, not an input error: the decoders are written not to throw. Report it as a malformed message
    // rather than crash the session's event loop, with the exception text for the bug report.
    return {
      ok: false,
      error: {
        kind: 'bad-message-length',
        code: 'BGP_ERR_INTERNAL',
        reason: `decoder bug: ${String(e)}`,
        length: bytes.length,
      },
    };
  }
}

function decodeChecked(bytes: Buffer, ctx: CodecContext, cache?: AttributeCache): DecodeResult {
  const length = messageLength(bytes, 0);
  if (typeof length !== 'number') return { ok: false, error: length };
  if (length < 0 || length !== bytes.length) {
    return {
      ok: false,
      error: {
        kind: 'bad-message-length',
        code: 'BGP_ERR_BAD_MESSAGE_LENGTH',
        reason: `Length field ${length < 0 ? 'missing' : length} but ${bytes.length} octets given`,
        length: Math.max(0, length),
      },
    };
  }
  const body = bytes.subarray(iana.HEADER_LENGTH);
  switch (bytes[iana.TYPE_OFFSET]) {
    case iana.MESSAGE_OPEN:
      return decodeOpen(body);
    case iana.MESSAGE_UPDATE:
      return decodeUpdate(body, ctx, cache);
    case iana.MESSAGE_NOTIFICATION:
      return { ok: true, message: decodeNotification(body) };
    case iana.MESSAGE_KEEPALIVE:
      return { ok: true, message: { type: iana.MESSAGE_KEEPALIVE } };
    case iana.MESSAGE_ROUTE_REFRESH:
      return decodeRouteRefresh(body, bytes);
    default:
      return {
        ok: false,
        error: {
          kind: 'bad-message-type',
          code: 'BGP_ERR_BAD_MESSAGE_TYPE',
          reason: `type ${bytes[iana.TYPE_OFFSET]}`,
          messageType: bytes[iana.TYPE_OFFSET] ?? 0,
        },
      };
  }
}

export * from './types.js';
/** Encode any message (UPDATE through `encodeUpdate`: see its limits). */
export function encodeMessage(msg: Message, ctx: CodecContext): Buffer {
  switch (msg.type) {
    case iana.MESSAGE_OPEN:
      return encodeOpen(msg);
    case iana.MESSAGE_UPDATE:
      return encodeUpdate(msg, ctx);
    case iana.MESSAGE_NOTIFICATION:
      return encodeNotification(msg);
    case iana.MESSAGE_KEEPALIVE:
      return encodeKeepalive();
    case iana.MESSAGE_ROUTE_REFRESH:
      return encodeRouteRefresh(msg);
    default:
      return assertNever(msg);
  }
}

export type { BgpError, BgpErrorKind, CeaseSubcode } from './errors.js';
export { assertNever };
export { messageLength } from './header.js';
export { MessageFramer } from './framer.js';
export { decodeOpen, encodeOpen, validateOpen, openPeerAs, type OpenExpectations } from './open.js';
export { capabilityName } from './capabilities.js';
export { decodeUpdate } from './update.js';
export { encodeUpdate, encodeUpdates, encodeWithdrawals, encodeEndOfRib } from './update-encode.js';
export { AttributeCache } from './cache.js';
export {
  toNotification,
  describeNotification,
  describeNotificationMessage,
  encodeNotification,
  decodeNotification,
  encodeShutdownCommunication,
  decodeShutdownCommunication,
} from './notification.js';
export { encodeKeepalive } from './keepalive.js';
export { encodeRouteRefresh, decodeRouteRefresh } from './route-refresh.js';
export { asPathContains, asPathLength, formatAsPath } from './as-path.js';
export { formatCommunity, formatLargeCommunity } from './attr-communities.js';
export { formatOrigin } from './attr-basic.js';
export { formatPathAttributes } from './attributes.js';
export { decodeIpv4Prefixes, decodeIpv6Prefixes } from './nlri.js';
export * as iana from './iana.js';
