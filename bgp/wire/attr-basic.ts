/**
 * Codecs of the RFC 4271 attributes and their RFC 6793 4-octet companions, as rows of the attribute table.
 * Each quotes the RFC 7606 §7 rule it applies to a malformed value.
 */
import { formatIpv4Bytes as quad, parseIpv4 } from '../../ip/address.js';
import type { Origin } from './types.js';
import { fault, type AttributeCodec, type ErrorAction, type Fault } from './attr-common.js';
import { decodeAsPath, formatAsPath, needsAs4Path, writeAsPath } from './as-path.js';
import { updateError } from './errors.js';
import * as iana from './iana.js';

const WELL_KNOWN = iana.FLAG_TRANSITIVE; // O=0 T=1
const OPTIONAL_TRANSITIVE = iana.FLAG_OPTIONAL | iana.FLAG_TRANSITIVE;
const OPTIONAL = iana.FLAG_OPTIONAL;

/** An Attribute Length Error fault (data = the whole attribute, RFC 4271 §6.3). */
export function lengthFault(
  type: number,
  action: ErrorAction,
  name: string,
  value: Buffer,
  attr: Buffer,
  expected: string,
): Fault {
  const reason = `${name} length ${value.length} is not ${expected}`;
  return fault(
    type,
    action,
    updateError('attribute-length-error', `BGP_ERR_${name}_LENGTH`, reason, Uint8Array.from(attr)),
  );
}

const ORIGIN_NAMES = ['igp', 'egp', 'incomplete'] as const;

/** "igp", "egp", "incomplete" (RFC 4271 §4.3); a missing ORIGIN reads as igp, an unknown value as incomplete. */
export function formatOrigin(origin: number | undefined): (typeof ORIGIN_NAMES)[number] {
  return ORIGIN_NAMES[origin ?? 0] ?? 'incomplete';
}

export const ORIGIN: AttributeCodec = {
  name: 'ORIGIN',
  flags: WELL_KNOWN,
  // RFC 7606 §7.1: "If the ORIGIN attribute has an undefined value ... or the attribute length is not one,
  // then the error is to be handled as 'treat-as-withdraw'".
  malformed: 'treat-as-withdraw',
  decode(value, _ctx, draft, attr) {
    if (value.length !== 1)
      return lengthFault(iana.ATTR_ORIGIN, 'treat-as-withdraw', 'ORIGIN', value, attr, '1');
    if (value[0]! > 2) {
      return fault(
        iana.ATTR_ORIGIN,
        'treat-as-withdraw',
        updateError(
          'invalid-origin-attribute',
          'BGP_ERR_BAD_ORIGIN',
          `ORIGIN value ${value[0]}`,
          Uint8Array.from(attr),
        ),
      );
    }
    draft.origin = value[0] as Origin;
    return undefined;
  },
  encode(attrs, _ctx, w) {
    if (attrs.origin === undefined) return false;
    w.u8(attrs.origin);
    return true;
  },
  format: (a) => (a.origin === undefined ? undefined : `origin ${formatOrigin(a.origin)}`),
};

export const AS_PATH: AttributeCodec = {
  name: 'AS_PATH',
  flags: WELL_KNOWN,
  // RFC 7606 §7.2: "An AS_PATH is considered malformed if an unrecognized segment type is encountered or if
  // it contains a malformed segment ... [which] MUST be handled using the 'treat-as-withdraw' approach".
  malformed: 'treat-as-withdraw',
  decode(value, ctx, draft) {
    const path = decodeAsPath(value, ctx.fourOctetAs ? 4 : 2);
    if (path === undefined) {
      return fault(iana.ATTR_AS_PATH, 'treat-as-withdraw', {
        kind: 'malformed-as-path',
        code: 'BGP_ERR_MALFORMED_AS_PATH',
        reason: `AS_PATH of ${value.length} octets does not parse as ${ctx.fourOctetAs ? 4 : 2}-octet segments`,
      });
    }
    draft.asPath = path;
    return undefined;
  },
  encode(attrs, ctx, w) {
    writeAsPath(w, attrs.asPath, ctx.fourOctetAs ? 4 : 2);
    return true;
  },
  format: (a) => `as-path ${formatAsPath(a.asPath)}`,
};

/** RFC 4271 §6.3 / §5.1.3 semantic check: not 0.0.0.0, loopback 127/8, or multicast/class E. */
export function isBadNextHop(address: number): boolean {
  const first = address >>> 24;
  return address === 0 || first === 127 || first >= 224;
}

export const NEXT_HOP: AttributeCodec = {
  name: 'NEXT_HOP',
  flags: WELL_KNOWN,
  // RFC 7606 §7.3: "If the NEXT_HOP attribute field is syntactically incorrect, then the error is to be
  // handled as 'treat-as-withdraw'". RFC 4271 §6.3 says a semantically incorrect NEXT_HOP (0.0.0.0, loopback,
  // multicast) means "the route SHOULD be ignored" without a NOTIFICATION: that is treat-as-withdraw too.
  // (The UPDATE decoder downgrades either to attribute-discard when there is no IPv4 NLRI it applies to.)
  malformed: 'treat-as-withdraw',
  decode(value, _ctx, draft, attr) {
    if (value.length !== 4)
      return lengthFault(iana.ATTR_NEXT_HOP, 'treat-as-withdraw', 'NEXT_HOP', value, attr, '4');
    const address = value.readUInt32BE(0);
    if (isBadNextHop(address)) {
      return fault(
        iana.ATTR_NEXT_HOP,
        'treat-as-withdraw',
        updateError(
          'invalid-next-hop-attribute',
          'BGP_ERR_BAD_NEXT_HOP',
          `NEXT_HOP ${quad(value)} is not a unicast address`,
          Uint8Array.from(attr),
        ),
      );
    }
    draft.nextHop = quad(value);
    return undefined;
  },
  encode(attrs, _ctx, w, extras) {
    if (extras.noNextHop) return false;
    const text = extras.nextHop ?? attrs.nextHop;
    if (text === undefined || parseIpv4(text) === undefined) return false;
    w.ipv4(text);
    return true;
  },
  format: (a) => (a.nextHop === undefined ? undefined : `next-hop ${a.nextHop}`),
};

/** A 4-octet number attribute (MED, LOCAL_PREF); RFC 7606 §7.4 / §7.5: bad length → treat-as-withdraw. */
function u32Attribute(type: number, name: string, flags: number, key: 'med' | 'localPref'): AttributeCodec {
  return {
    name,
    flags,
    malformed: 'treat-as-withdraw',
    decode(value, ctx, draft, attr) {
      if (value.length !== 4) return lengthFault(type, 'treat-as-withdraw', name, value, attr, '4');
      // RFC 7606 §7.5: "If the LOCAL_PREF attribute is received from an external neighbor, it SHALL be
      // discarded using the approach of 'attribute discard'".
      if (key === 'localPref' && !ctx.ibgp) {
        return fault(type, 'attribute-discard', {
          kind: 'optional-attribute-error',
          code: 'BGP_ERR_EBGP_LOCAL_PREF',
          reason: 'LOCAL_PREF from an external peer',
          data: new Uint8Array(0),
        });
      }
      draft[key] = value.readUInt32BE(0);
      return undefined;
    },
    encode(attrs, _ctx, w) {
      const v = attrs[key];
      if (v === undefined) return false;
      w.u32(v);
      return true;
    },
    format: (a) => (a[key] === undefined ? undefined : `${key === 'med' ? 'med' : 'local-pref'} ${a[key]}`),
  };
}

export const MULTI_EXIT_DISC = u32Attribute(iana.ATTR_MULTI_EXIT_DISC, 'MULTI_EXIT_DISC', OPTIONAL, 'med');
export const LOCAL_PREF = u32Attribute(iana.ATTR_LOCAL_PREF, 'LOCAL_PREF', WELL_KNOWN, 'localPref');

export const ATOMIC_AGGREGATE: AttributeCodec = {
  name: 'ATOMIC_AGGREGATE',
  flags: WELL_KNOWN,
  // RFC 7606 §7.6: "If the ATOMIC_AGGREGATE attribute has a length other than zero ... 'attribute discard'".
  malformed: 'attribute-discard',
  decode(value, _ctx, draft, attr) {
    if (value.length !== 0)
      return lengthFault(
        iana.ATTR_ATOMIC_AGGREGATE,
        'attribute-discard',
        'ATOMIC_AGGREGATE',
        value,
        attr,
        '0',
      );
    draft.atomicAggregate = true;
    return undefined;
  },
  encode: (attrs) => attrs.atomicAggregate === true,
  format: (a) => (a.atomicAggregate ? 'atomic-aggregate' : undefined),
};

export const AGGREGATOR: AttributeCodec = {
  name: 'AGGREGATOR',
  flags: OPTIONAL_TRANSITIVE,
  // RFC 7606 §7.7: "the error handling ... is revised ... length [other than 6, or 8 with 4-octet AS] ...
  // 'attribute discard'".
  malformed: 'attribute-discard',
  decode(value, ctx, draft, attr) {
    const size = ctx.fourOctetAs ? 4 : 2;
    if (value.length !== size + 4)
      return lengthFault(iana.ATTR_AGGREGATOR, 'attribute-discard', 'AGGREGATOR', value, attr, `${size + 4}`);
    draft.aggregator = {
      asn: size === 4 ? value.readUInt32BE(0) : value.readUInt16BE(0),
      address: quad(value, size),
    };
    return undefined;
  },
  encode(attrs, ctx, w) {
    const agg = attrs.aggregator;
    if (agg === undefined) return false;
    if (ctx.fourOctetAs) w.u32(agg.asn);
    else w.u16(agg.asn > iana.MAX_TWO_OCTET_AS ? iana.AS_TRANS : agg.asn); // RFC 6793 §4.2.2
    w.ipv4(agg.address);
    return true;
  },
  format: (a) =>
    a.aggregator === undefined ? undefined : `aggregator ${a.aggregator.asn} ${a.aggregator.address}`,
};

/** RFC 6793 §4.2.2: AS4_* "MUST NOT" come from a NEW speaker; "if received, [they] SHALL be discarded". */
function fromNewSpeaker(type: number, name: string): Fault {
  return fault(type, 'attribute-discard', {
    kind: 'optional-attribute-error',
    code: `BGP_ERR_${name}_FROM_NEW_SPEAKER`,
    reason: `${name} on a 4-octet AS session`,
    data: new Uint8Array(0),
  });
}

export const AS4_PATH: AttributeCodec = {
  name: 'AS4_PATH',
  flags: OPTIONAL_TRANSITIVE,
  // RFC 6793 §6 / RFC 7606 §7.13: a malformed AS4_PATH (incl. confederation segments) → "attribute discard".
  malformed: 'attribute-discard',
  decode(value, ctx, draft) {
    if (ctx.fourOctetAs) return fromNewSpeaker(iana.ATTR_AS4_PATH, 'AS4_PATH');
    const path = decodeAsPath(value, 4, false);
    if (path === undefined) {
      return fault(iana.ATTR_AS4_PATH, 'attribute-discard', {
        kind: 'optional-attribute-error',
        code: 'BGP_ERR_MALFORMED_AS4_PATH',
        reason: 'AS4_PATH does not parse',
        data: new Uint8Array(0),
      });
    }
    draft.as4Path = path;
    return undefined;
  },
  // Towards an OLD peer, when the real path has AS numbers that do not fit in 2 octets (RFC 6793 §4.2.2).
  encode(attrs, ctx, w) {
    if (ctx.fourOctetAs || !needsAs4Path(attrs.asPath)) return false;
    writeAsPath(w, attrs.asPath, 4, true);
    return true;
  },
  format: () => undefined, // merged into as-path
};

export const AS4_AGGREGATOR: AttributeCodec = {
  name: 'AS4_AGGREGATOR',
  flags: OPTIONAL_TRANSITIVE,
  malformed: 'attribute-discard', // RFC 6793 §6
  decode(value, ctx, draft, attr) {
    if (ctx.fourOctetAs) return fromNewSpeaker(iana.ATTR_AS4_AGGREGATOR, 'AS4_AGGREGATOR');
    if (value.length !== 8)
      return lengthFault(iana.ATTR_AS4_AGGREGATOR, 'attribute-discard', 'AS4_AGGREGATOR', value, attr, '8');
    draft.as4Aggregator = { asn: value.readUInt32BE(0), address: quad(value, 4) };
    return undefined;
  },
  encode(attrs, ctx, w) {
    const agg = attrs.aggregator;
    if (ctx.fourOctetAs || agg === undefined || agg.asn <= iana.MAX_TWO_OCTET_AS) return false;
    w.u32(agg.asn).ipv4(agg.address);
    return true;
  },
  format: () => undefined, // merged into aggregator
};
