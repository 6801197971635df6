/** Builders for RIB tests: peers, frozen (interned-like) attributes, UPDATE messages. */
import { AFI_IPV4, AFI_IPV6 } from '../../../../bgp/prefix.js';
import type { PrefixKey } from '../../../../ip/prefix.js';
import type { RibPeer } from '../../../../bgp/rib/peer.js';
import type { NlriBlock, PathAttributes, ReachBlock, UpdateMessage } from '../../../../bgp/wire/types.js';
import { MESSAGE_UPDATE } from '../../../../bgp/wire/iana.js';

export const LOCAL_ASN = 65000;
export const ROUTER_ID = '10.0.0.1';

export function peer(address: string, asn: number, extra: Partial<RibPeer> = {}): RibPeer {
  return {
    address,
    asn,
    localAsn: LOCAL_ASN,
    ibgp: asn === LOCAL_ASN,
    bgpId: address.includes(':') ? '192.0.2.' + (address.length % 250) : address,
    routeReflectorClient: false,
    localAddress: address.includes(':') ? 'fd00::1' : '10.0.0.1',
    fourOctetAs: true,
    ...extra,
  };
}

/** Frozen attributes; AS path given as a sequence (numbers) with an optional set. */
export function attrs(fields: Partial<PathAttributes> & { path?: number[] } = {}): PathAttributes {
  const { path, ...rest } = fields;
  return Object.freeze({
    origin: 0,
    asPath: path === undefined ? [] : [{ type: 2 as const, asns: path }],
    ...rest,
  } as PathAttributes);
}

export function announce(
  attributes: PathAttributes,
  nextHop: string,
  prefixes: PrefixKey[],
  withdrawn: PrefixKey[] = [],
): UpdateMessage {
  const v4 = prefixes.filter((x) => typeof x === 'number');
  const v6 = prefixes.filter((x) => typeof x === 'string');
  const reach: ReachBlock[] = [];
  if (v4.length > 0) reach.push({ afi: AFI_IPV4, safi: 1, nextHop, prefixes: v4 });
  if (v6.length > 0) reach.push({ afi: AFI_IPV6, safi: 1, nextHop, prefixes: v6 });
  return {
    type: MESSAGE_UPDATE,
    withdrawn: withdrawn.length > 0 ? withdrawBlocks(withdrawn) : [],
    reach,
    attributes,
    issues: [],
  };
}

function withdrawBlocks(prefixes: PrefixKey[]): UpdateMessage['withdrawn'] {
  const v4 = prefixes.filter((x) => typeof x === 'number');
  const v6 = prefixes.filter((x) => typeof x === 'string');
  const blocks: NlriBlock[] = [];
  if (v4.length > 0) blocks.push({ afi: AFI_IPV4, safi: 1, prefixes: v4 });
  if (v6.length > 0) blocks.push({ afi: AFI_IPV6, safi: 1, prefixes: v6 });
  return blocks;
}

export function withdraw(prefixes: PrefixKey[]): UpdateMessage {
  return {
    type: MESSAGE_UPDATE,
    withdrawn: withdrawBlocks(prefixes),
    reach: [],
    attributes: null,
    issues: [],
  };
}
