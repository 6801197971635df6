/**
 * Every number the BGP-4 codec puts on the wire, with the IANA registry it comes from and the RFC that defines
 * it. Nothing else in `bgp/` writes a protocol number as a literal: the FSM, the session, the speaker and the
 * RIBs import them from here.
 */

// ---- Header (RFC 4271 §4.1) -------------------------------------------------------------------------------

/** The 16-octet all-ones Marker, the 2-octet Length and the 1-octet Type (RFC 4271 §4.1). */
export const HEADER_LENGTH = 19;
export const MARKER_LENGTH = 16;
/** Where the 1-octet Type sits in the header: after the Marker and the 2-octet Length. */
export const TYPE_OFFSET = MARKER_LENGTH + 2;
/** RFC 4271 §4: "The maximum message size is 4096 octets." (RFC 8654 extended messages are not negotiated.) */
export const MAX_MESSAGE_LENGTH = 4096;
/** RFC 4271 §2: "BGP listens on TCP port 179" (IANA "Service Name and Transport Protocol Port Numbers"). */
export const BGP_PORT = 179;
/** BGP version carried in OPEN (RFC 4271 §4.2). */
export const BGP_VERSION = 4;
/** RFC 4271 §4.2: "Hold Time MUST be either zero or at least three seconds" (a 2-octet field). */
export const MIN_HOLD_TIME = 3;
export const MAX_HOLD_TIME = 0xffff;

// ---- Message types — IANA "BGP Message Types" ---------------------------------------------------------------

export const MESSAGE_OPEN = 1; // RFC 4271
export const MESSAGE_UPDATE = 2; // RFC 4271
export const MESSAGE_NOTIFICATION = 3; // RFC 4271
export const MESSAGE_KEEPALIVE = 4; // RFC 4271
export const MESSAGE_ROUTE_REFRESH = 5; // RFC 2918

/** Smallest legal length per message type (RFC 4271 §4.2–4.5, RFC 2918 §3). */
export const MIN_MESSAGE_LENGTH: Readonly<Record<number, number>> = {
  [MESSAGE_OPEN]: 29, // header + version, my AS, hold time, BGP identifier, opt param len
  [MESSAGE_UPDATE]: 23, // header + withdrawn routes length + total path attribute length
  [MESSAGE_NOTIFICATION]: 21, // header + error code + error subcode
  [MESSAGE_KEEPALIVE]: 19, // header only
  [MESSAGE_ROUTE_REFRESH]: 23, // header + AFI + reserved/subtype + SAFI
};

// ---- Error codes — IANA "BGP Error (Notification) Codes" ---------------------------------------------------

export const ERR_MESSAGE_HEADER = 1; // RFC 4271
export const ERR_OPEN_MESSAGE = 2; // RFC 4271
export const ERR_UPDATE_MESSAGE = 3; // RFC 4271
export const ERR_HOLD_TIMER_EXPIRED = 4; // RFC 4271
export const ERR_FSM = 5; // RFC 4271, subcodes RFC 6608
export const ERR_CEASE = 6; // RFC 4271, subcodes RFC 4486
export const ERR_ROUTE_REFRESH = 7; // RFC 7313

/** RFC 4271 §4.5: "If no appropriate Error Subcode is defined, then a zero (Unspecific) value is used." */
export const SUBCODE_UNSPECIFIC = 0;

// IANA "Message Header Error subcodes"
export const HEADER_CONNECTION_NOT_SYNCHRONIZED = 1; // RFC 4271
export const HEADER_BAD_MESSAGE_LENGTH = 2; // RFC 4271
export const HEADER_BAD_MESSAGE_TYPE = 3; // RFC 4271

// IANA "OPEN Message Error subcodes"
export const OPEN_UNSUPPORTED_VERSION_NUMBER = 1; // RFC 4271
export const OPEN_BAD_PEER_AS = 2; // RFC 4271
export const OPEN_BAD_BGP_IDENTIFIER = 3; // RFC 4271
export const OPEN_UNSUPPORTED_OPTIONAL_PARAMETER = 4; // RFC 4271
export const OPEN_AUTHENTICATION_FAILURE = 5; // RFC 4271 (deprecated)
export const OPEN_UNACCEPTABLE_HOLD_TIME = 6; // RFC 4271
export const OPEN_UNSUPPORTED_CAPABILITY = 7; // RFC 5492
export const OPEN_ROLE_MISMATCH = 8; // RFC 9234

// IANA "UPDATE Message Error subcodes"
export const UPDATE_MALFORMED_ATTRIBUTE_LIST = 1; // RFC 4271
export const UPDATE_UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE = 2; // RFC 4271
export const UPDATE_MISSING_WELL_KNOWN_ATTRIBUTE = 3; // RFC 4271
export const UPDATE_ATTRIBUTE_FLAGS_ERROR = 4; // RFC 4271
export const UPDATE_ATTRIBUTE_LENGTH_ERROR = 5; // RFC 4271
export const UPDATE_INVALID_ORIGIN_ATTRIBUTE = 6; // RFC 4271
export const UPDATE_AS_ROUTING_LOOP = 7; // RFC 4271 (deprecated)
export const UPDATE_INVALID_NEXT_HOP_ATTRIBUTE = 8; // RFC 4271
export const UPDATE_OPTIONAL_ATTRIBUTE_ERROR = 9; // RFC 4271
export const UPDATE_INVALID_NETWORK_FIELD = 10; // RFC 4271
export const UPDATE_MALFORMED_AS_PATH = 11; // RFC 4271

// IANA "BGP Finite State Machine Error Subcodes"
export const FSM_UNSPECIFIED = 0; // RFC 6608
export const FSM_UNEXPECTED_IN_OPENSENT = 1; // RFC 6608
export const FSM_UNEXPECTED_IN_OPENCONFIRM = 2; // RFC 6608
export const FSM_UNEXPECTED_IN_ESTABLISHED = 3; // RFC 6608

// IANA "BGP Cease NOTIFICATION message subcodes"
export const CEASE_MAXIMUM_PREFIXES_REACHED = 1; // RFC 4486
export const CEASE_ADMINISTRATIVE_SHUTDOWN = 2; // RFC 4486, RFC 9003 (shutdown communication)
export const CEASE_PEER_DECONFIGURED = 3; // RFC 4486
export const CEASE_ADMINISTRATIVE_RESET = 4; // RFC 4486, RFC 9003 (shutdown communication)
export const CEASE_CONNECTION_REJECTED = 5; // RFC 4486
export const CEASE_OTHER_CONFIGURATION_CHANGE = 6; // RFC 4486
export const CEASE_CONNECTION_COLLISION_RESOLUTION = 7; // RFC 4486
export const CEASE_OUT_OF_RESOURCES = 8; // RFC 4486
export const CEASE_HARD_RESET = 9; // RFC 8538
export const CEASE_BFD_DOWN = 10; // RFC 9384

// IANA "BGP ROUTE-REFRESH Message Error subcodes"
export const ROUTE_REFRESH_INVALID_MESSAGE_LENGTH = 1; // RFC 7313

// ---- OPEN optional parameters — IANA "BGP OPEN Optional Parameter Types" ----------------------------------

export const OPT_PARAM_AUTHENTICATION = 1; // RFC 4271 (deprecated)
export const OPT_PARAM_CAPABILITIES = 2; // RFC 5492
export const OPT_PARAM_EXTENDED_LENGTH = 255; // RFC 9072

// ---- Capabilities — IANA "Capability Codes" ---------------------------------------------------------------

export const CAP_MULTIPROTOCOL = 1; // RFC 4760
export const CAP_ROUTE_REFRESH = 2; // RFC 2918
export const CAP_EXTENDED_NEXT_HOP = 5; // RFC 8950
export const CAP_EXTENDED_MESSAGE = 6; // RFC 8654 (kept raw)
export const CAP_ROLE = 9; // RFC 9234 (kept raw)
export const CAP_GRACEFUL_RESTART = 64; // RFC 4724
export const CAP_FOUR_OCTET_AS = 65; // RFC 6793
export const CAP_ADD_PATH = 69; // RFC 7911 (kept raw)
export const CAP_ENHANCED_ROUTE_REFRESH = 70; // RFC 7313
export const CAP_LONG_LIVED_GRACEFUL_RESTART = 71; // RFC 9494 (kept raw)
export const CAP_FQDN = 73; // draft-walton-bgp-hostname-capability (kept raw)
export const CAP_ROUTE_REFRESH_CISCO = 128; // prestandard route refresh (deprecated; kept raw)

/** RFC 4724 §3: the graceful-restart Restart Time is a 12-bit field, in seconds. */
export const MAX_RESTART_TIME = 0xfff;

// ---- Path attributes — IANA "BGP Path Attributes" ---------------------------------------------------------

export const ATTR_ORIGIN = 1; // RFC 4271
export const ATTR_AS_PATH = 2; // RFC 4271
export const ATTR_NEXT_HOP = 3; // RFC 4271
export const ATTR_MULTI_EXIT_DISC = 4; // RFC 4271
export const ATTR_LOCAL_PREF = 5; // RFC 4271
export const ATTR_ATOMIC_AGGREGATE = 6; // RFC 4271
export const ATTR_AGGREGATOR = 7; // RFC 4271
export const ATTR_COMMUNITIES = 8; // RFC 1997
export const ATTR_ORIGINATOR_ID = 9; // RFC 4456
export const ATTR_CLUSTER_LIST = 10; // RFC 4456
export const ATTR_MP_REACH_NLRI = 14; // RFC 4760
export const ATTR_MP_UNREACH_NLRI = 15; // RFC 4760
export const ATTR_EXTENDED_COMMUNITIES = 16; // RFC 4360
export const ATTR_AS4_PATH = 17; // RFC 6793
export const ATTR_AS4_AGGREGATOR = 18; // RFC 6793
export const ATTR_LARGE_COMMUNITY = 32; // RFC 8092

/** ORIGIN values (RFC 4271 §4.3, §5.1.1). */
export const ORIGIN_IGP = 0;
export const ORIGIN_EGP = 1;
export const ORIGIN_INCOMPLETE = 2;

/** Attribute Flags octet (RFC 4271 §4.3). */
export const FLAG_OPTIONAL = 0x80;
export const FLAG_TRANSITIVE = 0x40;
export const FLAG_PARTIAL = 0x20;
export const FLAG_EXTENDED_LENGTH = 0x10;

/** AS_PATH segment types — IANA "BGP AS_PATH Segment Types" (RFC 4271, RFC 5065). */
export const AS_SET = 1;
export const AS_SEQUENCE = 2;
export const AS_CONFED_SEQUENCE = 3;
export const AS_CONFED_SET = 4;

/** Well-known communities — IANA "BGP Well-known Communities" (RFC 1997). */
export const COMMUNITY_NO_EXPORT = 0xffffff01;
export const COMMUNITY_NO_ADVERTISE = 0xffffff02;
export const COMMUNITY_NO_EXPORT_SUBCONFED = 0xffffff03;

/** RFC 4271 §4.3: an AS_PATH segment holds at most 255 ASes (its length is one octet). */
export const AS_PATH_SEGMENT_MAX = 255;

/** RFC 6793: AS numbers are 4 octets; the largest that fits the old 2-octet fields. AS 0 is reserved (RFC 7607). */
export const MAX_TWO_OCTET_AS = 0xffff;
export const MAX_AS = 0xffffffff;

/** RFC 6793 §9: the 2-octet stand-in for an AS number that needs 4 octets. */
export const AS_TRANS = 23456;

// ---- Address families — IANA "Address Family Numbers" / "SAFI Values" ----------------------------------------

export const AFI_IPV4 = 1; // IANA Address Family Numbers
export const AFI_IPV6 = 2; // IANA Address Family Numbers
export const SAFI_UNICAST = 1; // RFC 4760
export const SAFI_MULTICAST = 2; // RFC 4760

// ---- ROUTE-REFRESH subtypes — IANA "BGP Route Refresh Subcodes" -------------------------------------------

export const ROUTE_REFRESH_NORMAL = 0; // RFC 2918
export const ROUTE_REFRESH_BORR = 1; // RFC 7313 Beginning of Route Refresh
export const ROUTE_REFRESH_EORR = 2; // RFC 7313 End of Route Refresh
