/**
 * A `Path` is one route as received: who sent it, its (interned) attributes and its next hop. Paths are
 * shared: every prefix of one reach block of one UPDATE points at the same `Path`, so a million prefixes cost
 * a million references, not a million objects. The numbers the decision process compares are computed once,
 * here, instead of once per prefix.
 */
import { isLinkLocal6, parseIpv4, parseIpv6 } from '../../ip/address.js';
import type { PathAttributes } from '../wire/types.js';
import { asPathLength } from '../wire/as-path.js';
import { AS_CONFED_SEQUENCE, AS_CONFED_SET, AS_SEQUENCE } from '../wire/iana.js';
import type { RibPeer } from './peer.js';

/** Why a received path can never be best (it stays visible in the Adj-RIB-In and in `routes`). */
export type IneligibleReason =
  /** AS_PATH carries our own AS (RFC 4271 §9.1.2), eBGP only. */
  | 'as-path-loop'
  /** ORIGINATOR_ID is our router id: our own route reflected back (RFC 4456 §8). */
  | 'originator-id'
  /** CLUSTER_LIST carries our cluster id: a reflection loop (RFC 4456 §8). */
  | 'cluster-list-loop'
  /** The import policy refused it. */
  | 'import-filter';

/** LOCAL_PREF assumed when a path has none, and always for eBGP paths (RFC 4271 §5.1.5). */
export const DEFAULT_LOCAL_PREF = 100;

export class Path {
  /** Decision inputs, computed once. */
  readonly localPref: number;
  readonly asPathLength: number;
  readonly origin: number;
  readonly med: number;
  /** The first AS of the AS_PATH (RFC 4271 §9.1.2.2 "neighborAS"), 0 when empty, -1 for local paths. */
  readonly neighbourAs: number;
  readonly ebgp: boolean;
  /** ORIGINATOR_ID, else the peer's router id, as an unsigned 32-bit number (RFC 4456 §9). */
  readonly routerId: number;
  readonly clusterListLength: number;
  /** The peer address as a fixed-width hex string that sorts like the address (IPv4 before IPv6). */
  readonly peerKey: string;
  /** This path alone as an ECMP set, shared by every prefix where it is the only best. */
  readonly alone: readonly Path[];
  private refusedTwin: Path | undefined;

  constructor(
    /** null: originated by this speaker. */
    readonly peer: RibPeer | null,
    readonly attributes: PathAttributes,
    /** The next hop; for a local path, '' means "our address on each session". */
    readonly nextHop: string,
    readonly linkLocalNextHop: string | undefined,
    /** When it arrived (the `now` given to the RIB). */
    readonly since: number,
    readonly ineligible: IneligibleReason | undefined,
    /** The interned one-element next-hop set `[nextHop]`, or null for a local or ineligible path. */
    readonly fib: readonly string[] | null,
    /** The Loc-RIB epoch it was made in (adj-rib-in.ts: older than the peer's `markStale` = stale). */
    readonly epoch = 0,
  ) {
    const a = attributes;
    this.ebgp = peer !== null && !peer.ibgp;
    this.localPref = this.ebgp ? DEFAULT_LOCAL_PREF : (a.localPref ?? DEFAULT_LOCAL_PREF);
    this.asPathLength = asPathLength(a.asPath);
    this.origin = a.origin ?? 0;
    this.med = a.med ?? 0;
    this.neighbourAs = peer === null ? -1 : neighbourAs(a);
    this.routerId = ipv4Number(a.originatorId ?? peer?.bgpId ?? '0.0.0.0');
    this.clusterListLength = a.clusterList?.length ?? 0;
    this.peerKey = peer === null ? '' : addressKey(peer.address);
    this.alone = Object.freeze([this]);
  }

  get local(): boolean {
    return this.peer === null;
  }

  /** The same path refused by the import policy: one shared twin, so refused prefixes cost no object either. */
  refused(): Path {
    this.refusedTwin ??= new Path(
      this.peer,
      this.attributes,
      this.nextHop,
      this.linkLocalNextHop,
      this.since,
      this.ineligible ?? 'import-filter',
      null,
      this.epoch,
    );
    return this.refusedTwin;
  }
}

/**
 * The next hop a path hands to the FIB, as text (routing/ resolves it against the kernel):
 *
 * - the next hop as received, for a 4- or 16-byte one;
 * - `global|link-local%local` for a 32-byte MP_REACH_NLRI next hop (RFC 2545 §3, RFC 8950 §3): the global
 *   one when it is usable, else the link-local one on the interface that holds our address of the session
 *   (`local`), which is the link the peer shares with us;
 * - `link-local%local` for a 16-byte next hop that is link-local (a peer with no global address).
 */
export function fibNextHop(
  block: { readonly nextHop: string; readonly linkLocalNextHop?: string },
  peer: { readonly localAddress: string },
): string {
  const zone = peer.localAddress.includes('%') ? peer.localAddress.split('%')[1]! : peer.localAddress;
  const ll = block.linkLocalNextHop;
  if (ll !== undefined && zone !== '' && isLinkLocal(ll)) {
    return isLinkLocal(block.nextHop) || isUnspecified(block.nextHop)
      ? `${ll}%${zone}`
      : `${block.nextHop}|${ll}%${zone}`;
  }
  if (zone !== '' && isLinkLocal(block.nextHop)) return `${block.nextHop}%${zone}`;
  return block.nextHop;
}

function isLinkLocal(text: string): boolean {
  const b = text.includes(':') ? parseIpv6(text) : undefined;
  return b !== undefined && isLinkLocal6(b);
}

function isUnspecified(text: string): boolean {
  const b = text.includes(':') ? parseIpv6(text) : undefined;
  return b !== undefined && b.every((x) => x === 0);
}

/** The neighbouring AS: the first AS of the first AS_SEQUENCE (confederation segments skipped), or 0. */
export function neighbourAs(a: PathAttributes): number {
  for (const seg of a.asPath) {
    if (seg.type === AS_CONFED_SEQUENCE || seg.type === AS_CONFED_SET) continue;
    return seg.type === AS_SEQUENCE && seg.asns.length > 0 ? seg.asns[0]! : 0;
  }
  return 0;
}

export function ipv4Number(text: string): number {
  return parseIpv4(text) ?? 0;
}

/** A text key that sorts addresses numerically: '4' + 8 hex digits, or '6' + 32 hex digits. */
export function addressKey(address: string): string {
  if (!address.includes(':')) return '4' + ipv4Number(address).toString(16).padStart(8, '0');
  const bytes = parseIpv6(address) ?? new Uint8Array(16);
  let s = '6';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
