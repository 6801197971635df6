/**
 * The decoded shapes of BGP messages: the contract between the codec (`bgp/wire/`), the session, the RIBs and
 * the speaker. Values only; the codecs live one file per message beside this one.
 */
import type { Afi } from '../prefix.js';
import type { PrefixKey } from '../../ip/prefix.js';
import type {
  AS_CONFED_SEQUENCE,
  AS_CONFED_SET,
  AS_SEQUENCE,
  AS_SET,
  CAP_ENHANCED_ROUTE_REFRESH,
  CAP_EXTENDED_NEXT_HOP,
  CAP_FOUR_OCTET_AS,
  CAP_GRACEFUL_RESTART,
  CAP_MULTIPROTOCOL,
  CAP_ROUTE_REFRESH,
  MESSAGE_KEEPALIVE,
  MESSAGE_NOTIFICATION,
  MESSAGE_OPEN,
  MESSAGE_ROUTE_REFRESH,
  MESSAGE_UPDATE,
  ORIGIN_EGP,
  ORIGIN_IGP,
  ORIGIN_INCOMPLETE,
} from './iana.js';

// ---- Negotiated state, passed in (never read from globals) ---------------------------------------------

/** What the two speakers agreed in their OPENs; every encode and decode of an UPDATE takes it. */
export interface CodecContext {
  /** RFC 6793: both sides sent the 4-octet AS capability; AS_PATH carries 4-octet AS numbers. */
  fourOctetAs: boolean;
  /** Internal session (same AS): LOCAL_PREF is expected; from an external peer it is discarded (RFC 7606 §7.5). */
  ibgp: boolean;
  /** RFC 8950: IPv4 NLRI may be carried in MP_REACH_NLRI with an IPv6 next hop. */
  extendedNextHopIpv4?: boolean;
}

// ---- Path attributes ------------------------------------------------------------------------------------

/** ORIGIN values (RFC 4271 §4.3; the numbers are in iana.ts). */
export type Origin = typeof ORIGIN_IGP | typeof ORIGIN_EGP | typeof ORIGIN_INCOMPLETE;

/** AS_PATH segment types: AS_SET, AS_SEQUENCE (RFC 4271), AS_CONFED_SEQUENCE, AS_CONFED_SET (RFC 5065). */
export type AsPathSegmentType =
  | typeof AS_SET
  | typeof AS_SEQUENCE
  | typeof AS_CONFED_SEQUENCE
  | typeof AS_CONFED_SET;
export interface AsPathSegment {
  readonly type: AsPathSegmentType;
  readonly asns: readonly number[];
}

/** An attribute this implementation does not interpret, kept as received (optional transitive ones are passed on). */
export interface RawAttribute {
  readonly flags: number;
  readonly type: number;
  readonly value: Uint8Array;
}

/**
 * The path attributes of an UPDATE, minus the NLRI-carrying MP_REACH_NLRI / MP_UNREACH_NLRI (whose next hop
 * lives in `ReachBlock.nextHop`). Objects are interned: every prefix that arrived with the same attribute bytes
 * shares one frozen object, so equality of attributes is `===`.
 *
 * `asPath` is the effective path: for a 2-octet peer, AS_PATH merged with AS4_PATH (RFC 6793 §4.2.3), so
 * consumers never see AS_TRANS where the real AS is known. Likewise `aggregator` merges AS4_AGGREGATOR.
 */
export interface PathAttributes {
  readonly origin?: Origin;
  readonly asPath: readonly AsPathSegment[];
  /** NEXT_HOP (type 3), dotted quad. IPv6 / MP next hops are on the ReachBlock. */
  readonly nextHop?: string;
  readonly med?: number;
  readonly localPref?: number;
  readonly atomicAggregate?: boolean;
  readonly aggregator?: { readonly asn: number; readonly address: string };
  /** RFC 1997 communities as uint32 (`65000:100` = 65000 * 65536 + 100). */
  readonly communities?: readonly number[];
  /** RFC 4360 extended communities, each 8 bytes as an unsigned 64-bit bigint. */
  readonly extendedCommunities?: readonly bigint[];
  /** RFC 8092 large communities, [global administrator, local data 1, local data 2]. */
  readonly largeCommunities?: readonly (readonly [number, number, number])[];
  /** RFC 4456 route reflection. */
  readonly originatorId?: string;
  readonly clusterList?: readonly string[];
  /** Unrecognised attributes, in received order (optional transitive ones are re-advertised with Partial set). */
  readonly unknown?: readonly RawAttribute[];
}

// ---- Messages -------------------------------------------------------------------------------------------

export interface AfiSafi {
  readonly afi: Afi;
  readonly safi: number;
}

export type Capability =
  | { readonly code: typeof CAP_MULTIPROTOCOL; readonly afi: number; readonly safi: number } // RFC 4760
  | { readonly code: typeof CAP_ROUTE_REFRESH } // RFC 2918
  | {
      readonly code: typeof CAP_EXTENDED_NEXT_HOP; // RFC 8950
      readonly entries: readonly {
        readonly afi: number;
        readonly safi: number;
        readonly nextHopAfi: number;
      }[];
    }
  | {
      readonly code: typeof CAP_GRACEFUL_RESTART; // RFC 4724
      readonly restarting: boolean; // R bit
      readonly notification: boolean; // N bit (RFC 8538)
      readonly restartTime: number; // seconds, 12 bits
      readonly families: readonly {
        readonly afi: number;
        readonly safi: number;
        readonly forwarding: boolean;
      }[];
    }
  | { readonly code: typeof CAP_FOUR_OCTET_AS; readonly asn: number } // RFC 6793
  | { readonly code: typeof CAP_ENHANCED_ROUTE_REFRESH } // RFC 7313
  | { readonly code: number; readonly unknown: true; readonly value: Uint8Array }; // kept as received

export interface OpenMessage {
  readonly type: typeof MESSAGE_OPEN;
  readonly version: number;
  /** The 2-octet "My Autonomous System" field (AS_TRANS 23456 when the real AS needs 4 octets). */
  readonly myAs: number;
  readonly holdTime: number;
  /** BGP Identifier, dotted quad. */
  readonly bgpId: string;
  readonly capabilities: readonly Capability[];
  /**
   * How capabilities were grouped into Optional Parameters on the wire (counts per parameter), so a decoded
   * OPEN re-encodes to the same bytes. Omitted: one Capabilities parameter per capability.
   */
  readonly capabilityGrouping?: readonly number[];
  /**
   * Optional Parameters other than Capabilities (type 2), kept so `validateOpen` can refuse them with 2/4
   * Unsupported Optional Parameter. Encoded after the Capabilities parameters.
   */
  readonly otherParameters?: readonly { readonly type: number; readonly value: Uint8Array }[];
  /** RFC 9072: the parameters were sent in the extended form although they fit in 255 octets. */
  readonly extendedOptionalParameters?: boolean;
}

/** Prefixes of one address family. */
export interface NlriBlock {
  readonly afi: Afi;
  readonly safi: number;
  readonly prefixes: PrefixKey[];
}

/** Reachable prefixes of one family with their next hop. IPv4 NLRI field: nextHop = the NEXT_HOP attribute. */
export interface ReachBlock extends NlriBlock {
  readonly nextHop: string;
  /** RFC 2545: the second (link-local) IPv6 next hop when the MP_REACH next hop is 32 bytes. */
  readonly linkLocalNextHop?: string;
}

/** How an attribute error was handled without resetting the session (RFC 7606 §2). */
export interface AttributeIssue {
  /** Attribute type code (0 when the problem is not tied to one attribute). */
  readonly attribute: number;
  readonly action: 'attribute-discard' | 'treat-as-withdraw';
  /** A stable code, e.g. `BGP_ERR_BAD_ORIGIN`, followed by a short human reason. */
  readonly code: string;
  readonly reason: string;
}

export interface UpdateMessage {
  readonly type: typeof MESSAGE_UPDATE;
  /** IPv4 Withdrawn Routes and every MP_UNREACH_NLRI, one block per family. */
  readonly withdrawn: NlriBlock[];
  /**
   * IPv4 NLRI and MP_REACH_NLRI, one block per family. Under treat-as-withdraw (RFC 7606) the decoder has
   * already moved these prefixes into `withdrawn`, and `reach` is empty.
   */
  readonly reach: ReachBlock[];
  /** Interned attributes shared by every prefix in `reach`; null when the UPDATE carries none. */
  readonly attributes: PathAttributes | null;
  /** RFC 4724 §2: an UPDATE with nothing in it (IPv4) or an empty MP_UNREACH_NLRI (other families). */
  readonly endOfRib?: AfiSafi;
  /** Attribute errors handled without a reset, for counters and logs. */
  readonly issues: readonly AttributeIssue[];
}

export interface NotificationMessage {
  readonly type: typeof MESSAGE_NOTIFICATION;
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
}

export interface KeepaliveMessage {
  readonly type: typeof MESSAGE_KEEPALIVE;
}

export interface RouteRefreshMessage {
  readonly type: typeof MESSAGE_ROUTE_REFRESH;
  readonly afi: number;
  readonly safi: number;
  /** RFC 7313 §3.2: ROUTE_REFRESH_NORMAL, _BORR (Beginning of Route Refresh) or _EORR (End) in iana.ts. */
  readonly subtype: number;
}

export type Message =
  | OpenMessage
  | UpdateMessage
  | NotificationMessage
  | KeepaliveMessage
  | RouteRefreshMessage;
