/**
 * What two OPENs agree on (RFC 4271 §4.2 hold time, RFC 5492 capabilities): pure functions over the OPEN we
 * sent and the OPEN we received. The result is passed to every UPDATE encode/decode and to the RIBs.
 */
import type { Afi } from './prefix.js';
import {
  AFI_IPV4,
  AFI_IPV6,
  AS_TRANS,
  BGP_VERSION,
  CAP_ENHANCED_ROUTE_REFRESH,
  CAP_EXTENDED_NEXT_HOP,
  CAP_FOUR_OCTET_AS,
  CAP_GRACEFUL_RESTART,
  CAP_MULTIPROTOCOL,
  CAP_ROUTE_REFRESH,
  MAX_TWO_OCTET_AS,
  MESSAGE_OPEN,
  SAFI_UNICAST,
} from './wire/iana.js';
import type { AfiSafi, Capability, CodecContext, OpenMessage } from './wire/types.js';

export interface Negotiated {
  /** Seconds; 0 = no KEEPALIVEs and no hold timer (RFC 4271 §4.2). */
  readonly holdTime: number;
  /** Seconds between our KEEPALIVEs; 0 when holdTime is 0. */
  readonly keepaliveTime: number;
  /** RFC 6793: both sides sent the 4-octet AS capability. */
  readonly fourOctetAs: boolean;
  /** RFC 4760: the families both sides announced (no MP capability at all = IPv4 unicast only). */
  readonly families: readonly AfiSafi[];
  /** RFC 2918: the peer accepts ROUTE-REFRESH. */
  readonly routeRefresh: boolean;
  /** RFC 7313: both sides announced enhanced route refresh. */
  readonly enhancedRouteRefresh: boolean;
  /** RFC 4724: the peer's graceful-restart capability, as received. */
  readonly gracefulRestart?: {
    readonly restartTime: number;
    readonly restarting: boolean;
    /** RFC 8538: both sides set the N bit (a NOTIFICATION other than Hard Reset is a restart). */
    readonly notification: boolean;
    readonly families: readonly {
      readonly afi: number;
      readonly safi: number;
      readonly forwarding: boolean;
    }[];
  };
  /**
   * RFC 8950: the peer accepts IPv4 unicast NLRI with an IPv6 next hop (it announced the entry
   * <AFI 1, SAFI 1, next-hop AFI 2>), and so do we.
   */
  readonly extendedNextHopIpv4: boolean;
  readonly peerBgpId: string;
  /** The peer's real AS (4-octet capability when present). */
  readonly peerAsn: number;
  readonly localAsn: number;
  readonly ibgp: boolean;
  /** The capability codes the peer announced, for `PeerStatus.capabilities`. */
  readonly peerCapabilities: readonly number[];
}

/** The peer's real AS: the RFC 6793 capability when present, else My Autonomous System. */
export function peerAsOf(open: OpenMessage): number {
  for (const c of open.capabilities) if (c.code === CAP_FOUR_OCTET_AS && 'asn' in c) return c.asn;
  return open.myAs;
}

/** The OPEN we send. */
export function buildOpen(p: {
  localAsn: number;
  routerId: string;
  holdTime: number;
  capabilities: readonly Capability[];
}): OpenMessage {
  return {
    type: MESSAGE_OPEN,
    version: BGP_VERSION,
    // RFC 6793 §4.2.1: AS_TRANS in My Autonomous System when our AS needs 4 octets.
    myAs: p.localAsn > MAX_TWO_OCTET_AS ? AS_TRANS : p.localAsn,
    holdTime: p.holdTime,
    bgpId: p.routerId,
    capabilities: p.capabilities,
  };
}

/**
 * RFC 4271 §4.2: "Hold Time ... MUST be either zero or at least three seconds. An implementation MAY reject
 * connections on the basis of the Hold Time." The negotiated value is the smaller of ours and theirs; the
 * KEEPALIVE interval is our configured one, never more than a third of it (§4.4).
 */
export function negotiateHold(
  ours: number,
  theirs: number,
  keepaliveTime?: number,
): { holdTime: number; keepaliveTime: number } {
  const holdTime = Math.min(ours, theirs);
  if (holdTime === 0) return { holdTime: 0, keepaliveTime: 0 };
  const third = Math.max(1, Math.floor(holdTime / 3));
  const keep = keepaliveTime !== undefined && keepaliveTime > 0 ? Math.min(keepaliveTime, third) : third;
  return { holdTime, keepaliveTime: keep };
}

function mpFamilies(caps: readonly Capability[]): AfiSafi[] {
  const out: AfiSafi[] = [];
  for (const c of caps) {
    if (c.code === CAP_MULTIPROTOCOL && 'afi' in c && (c.afi === AFI_IPV4 || c.afi === AFI_IPV6))
      out.push({ afi: c.afi as Afi, safi: c.safi });
  }
  // RFC 4760 §8 / RFC 5492: a speaker without the MP capability speaks IPv4 unicast only.
  return out.length === 0 ? [{ afi: AFI_IPV4, safi: SAFI_UNICAST }] : out;
}

function has(caps: readonly Capability[], code: number): boolean {
  return caps.some((c) => c.code === code && !('unknown' in c));
}

function localNBit(caps: readonly Capability[]): boolean {
  return caps.some((c) => c.code === CAP_GRACEFUL_RESTART && 'notification' in c && c.notification);
}

function extendedNextHopIpv4(caps: readonly Capability[]): boolean {
  return caps.some(
    (c) =>
      c.code === CAP_EXTENDED_NEXT_HOP &&
      'entries' in c &&
      c.entries.some((e) => e.afi === AFI_IPV4 && e.safi === SAFI_UNICAST && e.nextHopAfi === AFI_IPV6),
  );
}

/** The session parameters agreed by `local` (sent) and `peer` (received). */
export function negotiate(
  local: OpenMessage,
  peer: OpenMessage,
  localAsn: number,
  keepaliveTime?: number,
): Negotiated {
  const mine = mpFamilies(local.capabilities);
  const theirs = mpFamilies(peer.capabilities);
  const families = mine.filter((f) => theirs.some((t) => t.afi === f.afi && t.safi === f.safi));
  const gr = peer.capabilities.find(
    (c): c is Extract<Capability, { code: typeof CAP_GRACEFUL_RESTART }> =>
      c.code === CAP_GRACEFUL_RESTART && 'restartTime' in c,
  );
  const peerAsn = peerAsOf(peer);
  return {
    ...negotiateHold(local.holdTime, peer.holdTime, keepaliveTime),
    fourOctetAs: has(local.capabilities, CAP_FOUR_OCTET_AS) && has(peer.capabilities, CAP_FOUR_OCTET_AS),
    families,
    routeRefresh: has(peer.capabilities, CAP_ROUTE_REFRESH),
    enhancedRouteRefresh:
      has(local.capabilities, CAP_ENHANCED_ROUTE_REFRESH) &&
      has(peer.capabilities, CAP_ENHANCED_ROUTE_REFRESH),
    ...(gr === undefined
      ? {}
      : {
          gracefulRestart: {
            restartTime: gr.restartTime,
            restarting: gr.restarting,
            notification: gr.notification && localNBit(local.capabilities),
            families: gr.families,
          },
        }),
    extendedNextHopIpv4: extendedNextHopIpv4(local.capabilities) && extendedNextHopIpv4(peer.capabilities),
    peerBgpId: peer.bgpId,
    peerAsn,
    localAsn,
    ibgp: peerAsn === localAsn,
    peerCapabilities: peer.capabilities.map((c) => c.code),
  };
}

/** The codec context of a negotiated session. */
export function codecContext(n: Negotiated): CodecContext {
  return { fourOctetAs: n.fourOctetAs, ibgp: n.ibgp, extendedNextHopIpv4: n.extendedNextHopIpv4 };
}

/** Does the session carry this family? */
export function hasFamily(n: Negotiated, afi: number, safi = SAFI_UNICAST): boolean {
  return n.families.some((f) => f.afi === afi && f.safi === safi);
}
