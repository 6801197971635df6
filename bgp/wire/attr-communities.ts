/**
 * Codecs of the community attributes (RFC 1997, RFC 4360, RFC 8092) and the route-reflection attributes
 * (RFC 4456), as rows of the attribute table.
 */
import { formatIpv4Bytes as quad } from '../../ip/address.js';
import { fault, type AttributeCodec, type ErrorAction, type Fault } from './attr-common.js';
import { lengthFault } from './attr-basic.js';
import * as iana from './iana.js';

const OPTIONAL_TRANSITIVE = iana.FLAG_OPTIONAL | iana.FLAG_TRANSITIVE;
const OPTIONAL = iana.FLAG_OPTIONAL;

/**
 * "65001:100", or the RFC 1997 well-known names (`no-export`, `no-advertise`, `no-export-subconfed`, as FRR and
 * BIRD print them). The one community text of the project: logs, `RouteView.communities` and the CLI.
 */
export function formatCommunity(c: number): string {
  switch (c) {
    case iana.COMMUNITY_NO_EXPORT:
      return 'no-export';
    case iana.COMMUNITY_NO_ADVERTISE:
      return 'no-advertise';
    case iana.COMMUNITY_NO_EXPORT_SUBCONFED:
      return 'no-export-subconfed';
    default:
      return `${Math.floor(c / 65536)}:${c % 65536}`;
  }
}

/** RFC 8092 large community as "global:local1:local2". */
export function formatLargeCommunity(c: readonly [number, number, number]): string {
  return c.join(':');
}

/** The length rule shared by the list attributes: a non-zero multiple of `unit`. */
function badListLength(value: Buffer, unit: number): boolean {
  return value.length === 0 || value.length % unit !== 0;
}

export const COMMUNITIES: AttributeCodec = {
  name: 'COMMUNITIES',
  flags: OPTIONAL_TRANSITIVE,
  // RFC 7606 §7.8: "The error handling of [RFC1997] is revised as follows: the attribute ... is considered
  // malformed if its length is not a non-zero multiple of 4 ... 'treat-as-withdraw'".
  malformed: 'treat-as-withdraw',
  decode(value, _ctx, draft, attr) {
    if (badListLength(value, 4))
      return lengthFault(
        iana.ATTR_COMMUNITIES,
        'treat-as-withdraw',
        'COMMUNITIES',
        value,
        attr,
        'a non-zero multiple of 4',
      );
    const out = new Array<number>(value.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = value.readUInt32BE(i * 4);
    draft.communities = out;
    return undefined;
  },
  encode(attrs, _ctx, w) {
    if (attrs.communities === undefined || attrs.communities.length === 0) return false;
    for (const c of attrs.communities) w.u32(c);
    return true;
  },
  format: (a) =>
    a.communities === undefined ? undefined : `communities ${a.communities.map(formatCommunity).join(' ')}`,
};

export const EXTENDED_COMMUNITIES: AttributeCodec = {
  name: 'EXTENDED_COMMUNITIES',
  flags: OPTIONAL_TRANSITIVE,
  // RFC 7606 §7.14: "considered malformed if its length is not a non-zero multiple of 8" → treat-as-withdraw.
  malformed: 'treat-as-withdraw',
  decode(value, _ctx, draft, attr) {
    if (badListLength(value, 8))
      return lengthFault(
        iana.ATTR_EXTENDED_COMMUNITIES,
        'treat-as-withdraw',
        'EXTENDED_COMMUNITIES',
        value,
        attr,
        'a non-zero multiple of 8',
      );
    const out = new Array<bigint>(value.length / 8);
    for (let i = 0; i < out.length; i++) out[i] = value.readBigUInt64BE(i * 8);
    draft.extendedCommunities = out;
    return undefined;
  },
  encode(attrs, _ctx, w) {
    const list = attrs.extendedCommunities;
    if (list === undefined || list.length === 0) return false;
    const b = Buffer.allocUnsafe(8);
    for (const c of list) {
      b.writeBigUInt64BE(BigInt.asUintN(64, c));
      w.bytes(b);
    }
    return true;
  },
  format: (a) =>
    a.extendedCommunities === undefined
      ? undefined
      : `extended-communities ${a.extendedCommunities.map((c) => `0x${c.toString(16).padStart(16, '0')}`).join(' ')}`,
};

export const LARGE_COMMUNITY: AttributeCodec = {
  name: 'LARGE_COMMUNITY',
  flags: OPTIONAL_TRANSITIVE,
  // RFC 8092 §6: length "not a non-zero multiple of 12 ... MUST ... 'treat-as-withdraw'".
  malformed: 'treat-as-withdraw',
  decode(value, _ctx, draft, attr) {
    if (badListLength(value, 12))
      return lengthFault(
        iana.ATTR_LARGE_COMMUNITY,
        'treat-as-withdraw',
        'LARGE_COMMUNITY',
        value,
        attr,
        'a non-zero multiple of 12',
      );
    const out = new Array<[number, number, number]>(value.length / 12);
    for (let i = 0; i < out.length; i++) {
      out[i] = [value.readUInt32BE(i * 12), value.readUInt32BE(i * 12 + 4), value.readUInt32BE(i * 12 + 8)];
    }
    draft.largeCommunities = out;
    return undefined;
  },
  encode(attrs, _ctx, w) {
    const list = attrs.largeCommunities;
    if (list === undefined || list.length === 0) return false;
    for (const [g, l1, l2] of list) w.u32(g).u32(l1).u32(l2);
    return true;
  },
  format: (a) =>
    a.largeCommunities === undefined
      ? undefined
      : `large-communities ${a.largeCommunities.map(formatLargeCommunity).join(' ')}`,
};

/**
 * RFC 7606 §7.9 / §7.10: ORIGINATOR_ID and CLUSTER_LIST from an external neighbor are discarded (attribute
 * discard); from an internal one, ORIGINATOR_ID of length ≠ 4 or CLUSTER_LIST not a non-zero multiple of 4 is
 * treat-as-withdraw.
 */
const RR_ACTION: ErrorAction = 'treat-as-withdraw';

function fromExternal(type: number, name: string): Fault {
  return fault(type, 'attribute-discard', {
    kind: 'optional-attribute-error',
    code: `BGP_ERR_EBGP_${name}`,
    reason: `${name} from an external peer`,
    data: new Uint8Array(0),
  });
}

export const ORIGINATOR_ID: AttributeCodec = {
  name: 'ORIGINATOR_ID',
  flags: OPTIONAL,
  malformed: RR_ACTION,
  decode(value, ctx, draft, attr) {
    if (!ctx.ibgp) return fromExternal(iana.ATTR_ORIGINATOR_ID, 'ORIGINATOR_ID');
    if (value.length !== 4)
      return lengthFault(iana.ATTR_ORIGINATOR_ID, RR_ACTION, 'ORIGINATOR_ID', value, attr, '4');
    draft.originatorId = quad(value, 0);
    return undefined;
  },
  encode(attrs, _ctx, w) {
    if (attrs.originatorId === undefined) return false;
    w.ipv4(attrs.originatorId);
    return true;
  },
  format: (a) => (a.originatorId === undefined ? undefined : `originator-id ${a.originatorId}`),
};

export const CLUSTER_LIST: AttributeCodec = {
  name: 'CLUSTER_LIST',
  flags: OPTIONAL,
  malformed: RR_ACTION,
  decode(value, ctx, draft, attr) {
    if (!ctx.ibgp) return fromExternal(iana.ATTR_CLUSTER_LIST, 'CLUSTER_LIST');
    if (badListLength(value, 4))
      return lengthFault(
        iana.ATTR_CLUSTER_LIST,
        RR_ACTION,
        'CLUSTER_LIST',
        value,
        attr,
        'a non-zero multiple of 4',
      );
    const out = new Array<string>(value.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = quad(value, i * 4);
    draft.clusterList = out;
    return undefined;
  },
  encode(attrs, _ctx, w) {
    if (attrs.clusterList === undefined || attrs.clusterList.length === 0) return false;
    for (const id of attrs.clusterList) w.ipv4(id);
    return true;
  },
  format: (a) => (a.clusterList === undefined ? undefined : `cluster-list ${a.clusterList.join(' ')}`),
};
