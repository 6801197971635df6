/**
 * The message header and framing (RFC 4271 §4.1):
 *
 *      0                   1                   2                   3
 *      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *      +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *      |                                                               |
 *      +                                                               +
 *      |                                                               |
 *      +                                                               +
 *      |                           Marker                              |
 *      +                                                               +
 *      |                                                               |
 *      +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *      |          Length               |      Type     |
 *      +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Framing (`messageLength`) only looks at these 19 octets: it tells the session how many octets make one
 * message, or which Message Header Error to send. Decoding the body is `decodeMessage`'s job.
 */
import type { BgpError } from './errors.js';
import {
  HEADER_LENGTH,
  MARKER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MESSAGE_KEEPALIVE,
  MIN_MESSAGE_LENGTH,
  TYPE_OFFSET,
} from './iana.js';
import type { Writer } from './writer.js';

/**
 * The length of the message starting at `offset`: the whole message (header included) when the 19-octet
 * header is available, −1 when fewer than 19 octets are buffered, or the Message Header Error to send.
 * Does not wait for the body: the caller compares the result with what it has buffered.
 */
export function messageLength(buf: Buffer, offset: number): number | BgpError {
  if (!Number.isInteger(offset) || offset < 0 || buf.length - offset < HEADER_LENGTH) return -1;
  // RFC 4271 §6.1: "If the Marker field of the message header is not as expected, then a synchronization
  // error has occurred and the Error Subcode MUST be set to Connection Not Synchronized."
  for (let i = 0; i < MARKER_LENGTH; i += 4) {
    if (buf.readUInt32BE(offset + i) !== 0xffffffff) {
      return {
        kind: 'connection-not-synchronized',
        code: 'BGP_ERR_BAD_MARKER',
        reason: 'marker is not all ones',
      };
    }
  }
  const length = buf.readUInt16BE(offset + MARKER_LENGTH);
  const type = buf[offset + TYPE_OFFSET]!;
  // RFC 4271 §6.1: "if the Length field of the message header is less than 19 or greater than 4096, or if
  // the Length field of an OPEN message is less than the minimum length of the OPEN message, or ..."
  if (length < HEADER_LENGTH || length > MAX_MESSAGE_LENGTH)
    return badLength(length, `length ${length} outside ${HEADER_LENGTH}..${MAX_MESSAGE_LENGTH}`);
  const min = MIN_MESSAGE_LENGTH[type];
  // "If the Type field of the message header is not recognized, then the Error Subcode MUST be set to Bad
  // Message Type. The Data field MUST contain the erroneous Type field."
  if (min === undefined) {
    return {
      kind: 'bad-message-type',
      code: 'BGP_ERR_BAD_MESSAGE_TYPE',
      reason: `unknown message type ${type}`,
      messageType: type,
    };
  }
  if (length < min)
    return badLength(length, `length ${length} below the minimum ${min} for message type ${type}`);
  // "... or if the Length field of a KEEPALIVE message is not equal to 19" (a longer one is as wrong).
  if (type === MESSAGE_KEEPALIVE && length !== HEADER_LENGTH)
    return badLength(length, `KEEPALIVE length ${length} is not ${HEADER_LENGTH}`);
  return length;
}

function badLength(length: number, reason: string): BgpError {
  return { kind: 'bad-message-length', code: 'BGP_ERR_BAD_MESSAGE_LENGTH', reason, length };
}

/** Write the marker, a placeholder length and the type; returns the message start for `endMessage`. */
export function beginMessage(w: Writer, type: number): number {
  const start = w.pos;
  for (let i = 0; i < MARKER_LENGTH; i += 4) w.u32(0xffffffff);
  w.u16(0);
  w.u8(type);
  return start;
}

/** Back-patch the Length field of the message begun at `start`. */
export function endMessage(w: Writer, start: number): void {
  w.set16(start + MARKER_LENGTH, w.pos - start);
}
