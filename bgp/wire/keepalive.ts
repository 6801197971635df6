/**
 * KEEPALIVE message (RFC 4271 §4.4): the 19-octet header alone, type 4.
 */
import { beginMessage, endMessage } from './header.js';
import { HEADER_LENGTH, MESSAGE_KEEPALIVE } from './iana.js';
import { Writer } from './writer.js';

const KEEPALIVE = ((): Buffer => {
  const w = new Writer(HEADER_LENGTH);
  const start = beginMessage(w, MESSAGE_KEEPALIVE);
  endMessage(w, start);
  return w.finish();
})();

/** A fresh copy of the KEEPALIVE bytes (callers may hand it to a socket that keeps it). */
export function encodeKeepalive(): Buffer {
  return Buffer.from(KEEPALIVE);
}
