/**
 * Test helpers for the wire codec: annotated hex (`ff ff  # marker` — everything after `#` on a line is a
 * comment), contexts, and `summarizeMessage`, the summary shape the capture fixtures use for `expect`.
 */
import { formatPrefix } from '../../../../ip/prefix.js';
import type { CodecContext, Message } from '../../../../bgp/wire/index.js';
import { formatAsPath, formatCommunity } from '../../../../bgp/wire/index.js';

/** Annotated hex → bytes. Each line: hex octets (spaces allowed), then an optional `#` comment. */
export function hex(annotated: string): Buffer {
  const digits = annotated
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('')
    .replace(/[\s:]/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`bad hex: ${digits}`);
  return Buffer.from(digits, 'hex');
}

export const CTX4: CodecContext = { fourOctetAs: true, ibgp: false };
export const CTX4_IBGP: CodecContext = { fourOctetAs: true, ibgp: true };
export const CTX2: CodecContext = { fourOctetAs: false, ibgp: false };

/** 16 × ff, the marker. */
export const MARKER = 'ff'.repeat(16);

export type Summary = Record<string, unknown>;

const ORIGINS = ['igp', 'egp', 'incomplete'] as const;

/** The capture fixtures' `expect` shape, from a decoded message. Absent fields are left out. */
export function summarizeMessage(msg: Message): Summary {
  switch (msg.type) {
    case 1: {
      const as4 = msg.capabilities.find((c) => c.code === 65 && !('unknown' in c));
      return {
        type: 'open',
        asn: as4 !== undefined && 'asn' in as4 ? as4.asn : msg.myAs,
        holdTime: msg.holdTime,
        bgpId: msg.bgpId,
        capabilities: msg.capabilities.map((c) => c.code),
      };
    }
    case 2: {
      // The capture fixtures' shape: prefixes and withdrawn always; next hops from the first reach block;
      // attribute fields only when there are attributes.
      const out: Summary = {
        type: 'update',
        prefixes: msg.reach.flatMap((b) => b.prefixes.map(formatPrefix)),
        withdrawn: msg.withdrawn.flatMap((b) => b.prefixes.map(formatPrefix)),
      };
      const first = msg.reach[0];
      if (first !== undefined) out.nextHop = first.nextHop;
      if (first?.linkLocalNextHop !== undefined) out.nextHopLinkLocal = first.linkLocalNextHop;
      const a = msg.attributes;
      if (a !== null) {
        out.asPath = formatAsPath(a.asPath);
        if (a.origin !== undefined) out.origin = ORIGINS[a.origin];
        if (a.med !== undefined) out.med = a.med;
        if (a.localPref !== undefined) out.localPref = a.localPref;
        if (a.communities !== undefined) out.communities = a.communities.map(formatCommunity);
        if (a.largeCommunities !== undefined)
          out.largeCommunities = a.largeCommunities.map((c) => c.join(':'));
      }
      return out;
    }
    case 3:
      return { type: 'notification', code: msg.code, subcode: msg.subcode };
    case 4:
      return { type: 'keepalive' };
    case 5:
      return { type: 'route-refresh', afi: msg.afi, safi: msg.safi };
  }
}

/** An UPDATE from annotated hex parts; the lengths are computed (for outcome tests, not golden bytes). */
export function updateHex(parts: { withdrawn?: string; attrs?: string; nlri?: string }): Buffer {
  const w = hex(parts.withdrawn ?? '');
  const a = hex(parts.attrs ?? '');
  const n = hex(parts.nlri ?? '');
  const body = Buffer.concat([u16(w.length), w, u16(a.length), a, n]);
  return Buffer.concat([hex(MARKER), u16(19 + body.length), Buffer.of(2), body]);
}

function u16(v: number): Buffer {
  return Buffer.of(v >> 8, v & 255);
}

/** Well-formed attribute snippets (4-octet AS) to build outcome cases from. */
export const A = {
  origin: '40 01 01 00',
  asPath: '40 02 06 02 01 0000fde9',
  nextHop: '40 03 04 c0000201',
  mpReach6: '80 0e 1e 0002 01 10 20010db8000000000000000000000001 00 40 fd00000100000000',
} as const;
