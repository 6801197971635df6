/**
 * ROUTE-REFRESH message (RFC 2918 §3, subtypes RFC 7313 §3.2), after the header:
 *
 *      0       7      15      23      31
 *      +-------+-------+-------+-------+
 *      |      AFI      | Res.  | SAFI  |
 *      +-------+-------+-------+-------+
 *
 * RFC 7313 renames "Res." to "Message Subtype": 0 normal request, 1 BoRR, 2 EoRR.
 */
import type { RouteRefreshMessage } from './types.js';
import type { BgpError } from './errors.js';
import { beginMessage, endMessage } from './header.js';
import { HEADER_LENGTH, MESSAGE_ROUTE_REFRESH, MIN_MESSAGE_LENGTH, ROUTE_REFRESH_NORMAL } from './iana.js';

/** AFI (2), Message Subtype (1), SAFI (1). */
const LENGTH = MIN_MESSAGE_LENGTH[MESSAGE_ROUTE_REFRESH]!;
import { Writer } from './writer.js';

/** Decode a ROUTE-REFRESH body; `message` is the whole message, returned as error data when too long. */
export function decodeRouteRefresh(
  body: Buffer,
  message: Buffer,
): { ok: true; message: RouteRefreshMessage } | { ok: false; error: BgpError } {
  // RFC 7313 §5: "If the length ... of the ROUTE-REFRESH message is not 4 ... MUST send the NOTIFICATION
  // message with the Error Code of 'ROUTE-REFRESH Message Error' and the subcode of 'Invalid Message Length'."
  if (body.length !== LENGTH - HEADER_LENGTH) {
    return {
      ok: false,
      error: {
        kind: 'route-refresh-invalid-length',
        code: 'BGP_ERR_ROUTE_REFRESH_LENGTH',
        reason: `ROUTE-REFRESH length ${body.length + HEADER_LENGTH}, expected ${LENGTH}`,
        data: Uint8Array.from(message),
      },
    };
  }
  return {
    ok: true,
    message: {
      type: MESSAGE_ROUTE_REFRESH,
      afi: (body[0]! << 8) | body[1]!,
      subtype: body[2]!,
      safi: body[3]!,
    },
  };
}

export function encodeRouteRefresh(rr: { afi: number; safi: number; subtype?: number }): Buffer {
  const w = new Writer(LENGTH);
  const start = beginMessage(w, MESSAGE_ROUTE_REFRESH);
  w.u16(rr.afi)
    .u8(rr.subtype ?? ROUTE_REFRESH_NORMAL)
    .u8(rr.safi);
  endMessage(w, start);
  return w.finish();
}
