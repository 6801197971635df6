/**
 * Writes packed into one batch buffer, each as its iproute2 equivalent with its netlink flags:
 *
 *   RTM_NEWROUTE   NLM_F_REQUEST|NLM_F_CREATE|NLM_F_REPLACE
 *                  = ip route replace 10.244.2.0/24 nhid N proto 202 metric 20 table 254
 *                  = ip route replace 10.244.2.0/24 proto 202 metric 20 nexthop via 10.0.0.2 dev eth0 nexthop via …
 *                  = ip route replace blackhole 10.244.1.0/24 proto 202 metric 4278198272
 *   RTM_DELROUTE   NLM_F_REQUEST = ip route del 10.244.2.0/24 proto 202 metric 20 table 254
 *   RTM_NEWNEXTHOP NLM_F_REQUEST|NLM_F_CREATE|NLM_F_EXCL = ip nexthop add id N via 10.0.0.2 dev eth0 proto 202
 *   RTM_DELNEXTHOP NLM_F_REQUEST = ip nexthop del id N
 *
 * Consecutive sequence numbers from `first`; only the last message asks for an ack (see netlink/writer.ts).
 */
import type { ShapeTable } from './shape.js';
import type { WriteOps } from './write-queue.js';
import type { PrefixKey } from './prefix.js';
import { NLMSG_HDRLEN, RTMSG_LEN } from './netlink/codec.js';
import { BATCH_BYTES } from './netlink/channel.js';
import {
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  RTM,
} from './netlink/constants.js';

export { BATCH_BYTES };

/** Sequence numbers reserved per batch: more than the smallest route message fits into one. */
export const SEQ_PER_BATCH = Math.ceil(BATCH_BYTES / (NLMSG_HDRLEN + RTMSG_LEN + 16));

/** Encode `ops` into `buf` from offset 0; returns the length. */
export function encodeBatch(
  ops: WriteOps,
  shapes: ShapeTable,
  keyOf: (slot: number) => PrefixKey,
  first: number,
  buf: Buffer,
): number {
  let off = 0;
  let lastOff = 0;
  const n = ops.slots.length;
  for (let i = 0; i < n; i++) {
    const type = ops.types[i];
    const s = ops.slots[i];
    lastOff = off;
    if (s < 0)
      off = shapes.writeNexthop(
        buf,
        off,
        type,
        NLM_F_REQUEST | (type === RTM.RTM_NEWNEXTHOP ? NLM_F_CREATE | NLM_F_EXCL : 0),
        first + i,
        ops.shapes[i],
      );
    else
      off = shapes.write(
        buf,
        off,
        type,
        NLM_F_REQUEST | (type === RTM.RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_REPLACE : 0),
        first + i,
        keyOf(s),
        ops.shapes[i],
      );
  }
  buf.writeUInt16LE(buf.readUInt16LE(lastOff + 6) | NLM_F_ACK, lastOff + 6);
  return off;
}
