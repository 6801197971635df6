/**
 * What the RIBs need to know about one BGP neighbour. The speaker builds one `RibPeer` per established
 * session (after the OPEN exchange) and hands it to `LocRib.addPeer`.
 */
export interface RibPeer {
  /** The peer's address; its identity in every RIB call. */
  readonly address: string;
  /** The peer's AS (the real one, after RFC 6793 negotiation). */
  readonly asn: number;
  /** Our AS on this session. */
  readonly localAsn: number;
  /** Internal session: `asn === localAsn`. */
  readonly ibgp: boolean;
  /** The peer's BGP Identifier (router id), dotted quad, from its OPEN. */
  readonly bgpId: string;
  /**
   * RFC 4456: this peer is a route-reflector client of ours. The one field that may change while the session
   * is up (`LocRib.setRouteReflectorClient`): it decides what is reflected, not the session.
   */
  routeReflectorClient: boolean;
  /** Our address on this session: the next hop we put on routes when we are the next hop ("next-hop-self"). */
  readonly localAddress: string;
  /** Our IPv6 address to put on IPv6 routes when the session runs over IPv4 (optional). */
  readonly localAddressIpv6?: string;
  /** Our IPv4 address to put on IPv4 routes when the session runs over IPv6 (optional; else RFC 8950 applies). */
  readonly localAddressIpv4?: string;
  /** RFC 6793: 4-octet AS numbers were negotiated. */
  readonly fourOctetAs: boolean;
}
