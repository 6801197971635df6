/**
 * The shared vocabulary of the path-attribute table: RFC 7606 actions, faults, the decode draft and the shape
 * of one table row. Kept apart from the dispatcher so the table files can import it without a cycle.
 */
import type {
  AsPathSegment,
  CodecContext,
  NlriBlock,
  PathAttributes,
  RawAttribute,
  ReachBlock,
} from './types.js';
import type { BgpError } from './errors.js';
import type { Writer } from './writer.js';

/** RFC 7606 §2 approaches, weakest first; an UPDATE keeps the strongest one any attribute asked for. */
export type ErrorAction = 'attribute-discard' | 'treat-as-withdraw' | 'session-reset';

export const ACTION_RANK: Readonly<Record<ErrorAction, number>> = {
  'attribute-discard': 1,
  'treat-as-withdraw': 2,
  'session-reset': 3,
};

/** One attribute error and how RFC 7606 says to handle it. */
export interface Fault {
  readonly attribute: number;
  readonly action: ErrorAction;
  /** The NOTIFICATION-ready error (used for session-reset, and for the code/reason of an issue). */
  readonly error: BgpError;
}

/** The attributes being decoded, mutable until frozen. AS4_* are held here until the RFC 6793 merge. */
export interface AttributeDraft {
  origin?: PathAttributes['origin'];
  asPath?: AsPathSegment[];
  nextHop?: string;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: { asn: number; address: string };
  communities?: number[];
  extendedCommunities?: bigint[];
  largeCommunities?: [number, number, number][];
  originatorId?: string;
  clusterList?: string[];
  unknown?: RawAttribute[];
  as4Path?: AsPathSegment[];
  as4Aggregator?: { asn: number; address: string };
  /** MP_REACH_NLRI / MP_UNREACH_NLRI (never cached: they are per message). */
  mpReach?: ReachBlock;
  mpUnreach?: NlriBlock;
}

/** What the encoder gets besides the PathAttributes. */
export interface EncodeExtras {
  /** Write NEXT_HOP (type 3) with this address instead of `attrs.nextHop` (IPv4 NLRI field). */
  readonly nextHop?: string;
  /** Omit NEXT_HOP entirely (MP-only UPDATEs). */
  readonly noNextHop?: boolean;
}

/** One row of the attribute table. */
export interface AttributeCodec {
  readonly name: string;
  /** The Optional and Transitive bits the attribute must carry (RFC 4271 §5). */
  readonly flags: number;
  /** RFC 7606 §7: what a malformed instance (bad flags, bad length, bad value) costs. */
  readonly malformed: ErrorAction;
  /** Decode `value` into the draft; `attr` is the whole attribute (for NOTIFICATION data). */
  decode(value: Buffer, ctx: CodecContext, draft: AttributeDraft, attr: Buffer): Fault | undefined;
  /** Write the value if the attribute is present; false when absent. */
  encode(attrs: PathAttributes, ctx: CodecContext, w: Writer, extras: EncodeExtras): boolean;
  /** Text for logs (`origin igp`), undefined when absent. */
  format(attrs: PathAttributes): string | undefined;
}

/** How a codec reports a malformed value: its table action, with the given error. */
export function fault(attribute: number, action: ErrorAction, error: BgpError): Fault {
  return { attribute, action, error };
}
