// What the benchmarks' hand-encoded BGP peers (sender.mjs, many-peers-sim.mjs) share: their command line, their
// JSON-line events, and the OPEN and KEEPALIVE they send. No dependency on bgp/wire, so that they check the
// daemon independently of its own codec.

/** `--name value` pairs of the command line, as an object. */
export function cliArgs(argv = process.argv.slice(2)) {
  return Object.fromEntries(
    argv.reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
  );
}

/** One event as a JSON line on stdout, stamped with the wall clock. */
export const emit = (event, extra = {}) =>
  process.stdout.write(`${JSON.stringify({ event, t: Date.now(), ...extra })}\n`);

/** A BGP message: marker, length, type, body (RFC 4271 §4.1). */
export function message(type, body) {
  const m = Buffer.alloc(19 + body.length, 0xff);
  m.writeUInt16BE(19 + body.length, 16);
  m[18] = type;
  body.copy(m, 19);
  return m;
}

export const KEEPALIVE = message(4, Buffer.alloc(0));

/**
 * OPEN with multiprotocol IPv4 unicast, route refresh and 4-octet AS (AS_TRANS in the 2-octet field above
 * 65535); `routerId` is its 4 bytes.
 */
export function openMessage({ asn, hold, routerId }) {
  const as4 = Buffer.alloc(4);
  as4.writeUInt32BE(asn);
  const caps = Buffer.concat([
    Buffer.from([1, 4, 0, 1, 0, 1]), // multiprotocol IPv4 unicast
    Buffer.from([2, 0]), // route refresh
    Buffer.from([65, 4]),
    as4, // 4-octet AS
  ]);
  const fixed = Buffer.alloc(10);
  fixed[0] = 4;
  fixed.writeUInt16BE(asn > 0xffff ? 23456 : asn, 1);
  fixed.writeUInt16BE(hold, 3);
  Buffer.from(routerId).copy(fixed, 5);
  fixed[9] = caps.length + 2;
  return message(1, Buffer.concat([fixed, Buffer.from([2, caps.length]), caps]));
}
