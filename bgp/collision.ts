/**
 * Connection collision resolution (RFC 4271 §6.8) and the capabilities we announce: small pure helpers of the
 * speaker's `Peer`.
 */
import type { PeerConfig } from './api.js';
import { parseIpv4 } from '../ip/address.js';
import type { Capability } from './wire/types.js';
import { grCapability } from './graceful-restart.js';
import {
  AFI_IPV4,
  AFI_IPV6,
  CAP_ENHANCED_ROUTE_REFRESH,
  CAP_EXTENDED_NEXT_HOP,
  CAP_FOUR_OCTET_AS,
  CAP_MULTIPROTOCOL,
  CAP_ROUTE_REFRESH,
  SAFI_UNICAST,
} from './wire/iana.js';

/**
 * §6.8: "If the value of the local BGP Identifier is less than the remote one, the local system closes the BGP
 * connection that already exists ..., and accepts the BGP connection initiated by the remote system.
 * Otherwise, the local system closes the newly created BGP connection" — i.e. the connection initiated by the
 * speaker with the higher BGP Identifier survives, and both ends agree on it. With equal identifiers (possible
 * between ASes, RFC 6286 §2.3) the higher AS number wins. When both connections were opened from the same side
 * (the peer reconnected), the newer one (the candidate) is kept.
 */
export function survivor(
  ids: { localId: string; remoteId: string; localAsn: number; remoteAsn: number },
  initiatedLocally: { candidate: boolean; other: boolean },
): 'candidate' | 'other' {
  if (initiatedLocally.candidate === initiatedLocally.other) return 'candidate';
  const local = parseIpv4(ids.localId) ?? 0;
  const remote = parseIpv4(ids.remoteId) ?? 0;
  const localWins = local !== remote ? local > remote : ids.localAsn > ids.remoteAsn;
  // The surviving connection is the one the winner initiated.
  return initiatedLocally.candidate === localWins ? 'candidate' : 'other';
}

/** The R and F bits of our graceful-restart capability. */
export interface RestartFlags {
  readonly restarting: boolean;
  readonly forwarding: boolean;
}

export const NOT_RESTARTING: RestartFlags = { restarting: false, forwarding: false };

const AFI = { 'ipv4-unicast': AFI_IPV4, 'ipv6-unicast': AFI_IPV6 } as const;

/**
 * Our OPEN's capabilities: multiprotocol per configured family (RFC 4760), route refresh (RFC 2918),
 * enhanced route refresh (RFC 7313), 4-octet AS (RFC 6793), extended next hop for IPv4 over IPv6 sessions
 * (RFC 8950), graceful restart when `gracefulRestartTime` > 0 (RFC 4724 with RFC 8538's N bit; the R and F
 * bits from `restart`, see graceful-restart.ts).
 */
export function localCapabilities(
  localAsn: number,
  c: PeerConfig,
  restart: RestartFlags = NOT_RESTARTING,
): Capability[] {
  const families = c.families ?? ['ipv4-unicast', 'ipv6-unicast'];
  const caps: Capability[] = families.map((f) => ({
    code: CAP_MULTIPROTOCOL,
    afi: AFI[f],
    safi: SAFI_UNICAST,
  }));
  caps.push(
    { code: CAP_ROUTE_REFRESH },
    { code: CAP_ENHANCED_ROUTE_REFRESH },
    { code: CAP_FOUR_OCTET_AS, asn: localAsn },
  );
  if (c.address.includes(':') && families.includes('ipv4-unicast'))
    caps.push({
      code: CAP_EXTENDED_NEXT_HOP,
      entries: [{ afi: AFI_IPV4, safi: SAFI_UNICAST, nextHopAfi: AFI_IPV6 }],
    });
  const gr = grCapability(
    { restartTime: c.gracefulRestartTime ?? 0, ...restart },
    families.map((f) => ({ afi: AFI[f], safi: SAFI_UNICAST })),
  );
  if (gr !== undefined) caps.push(gr);
  return caps;
}
