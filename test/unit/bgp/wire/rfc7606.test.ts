/**
 * UPDATE error handling: every RFC 7606 / RFC 4271 §6.3 case, table-driven. Each row names the outcome a peer
 * would notice: a session reset with the NOTIFICATION subcode, routes withdrawn, or an attribute dropped.
 */
import { describe, expect, it } from 'vitest';
import { formatPrefix } from '../../../../ip/prefix.js';
import {
  decodeMessage,
  toNotification,
  type CodecContext,
  type UpdateMessage,
} from '../../../../bgp/wire/index.js';
import { A, CTX2, CTX4, CTX4_IBGP, updateHex } from './helpers.js';

type Outcome =
  | { reset: [number, number]; code?: string }
  | { withdraw: string[]; issue: string; attribute?: number }
  | { discard: string; reach: string[]; check?: (m: UpdateMessage) => void };

interface Case {
  name: string;
  ctx?: CodecContext;
  withdrawn?: string;
  attrs?: string;
  nlri?: string;
  outcome: Outcome;
}

const NLRI = '18 0a0000'; // 10.0.0.0/24
const OK4 = `${A.origin} ${A.asPath} ${A.nextHop}`;

const CASES: Case[] = [
  // ---- treat-as-withdraw (RFC 7606 §7) ----
  {
    name: 'ORIGIN value 3 (§7.1)',
    attrs: `40 01 01 03 ${A.asPath} ${A.nextHop}`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_BAD_ORIGIN', attribute: 1 },
  },
  {
    name: 'ORIGIN length 2 (§7.1)',
    attrs: `40 01 02 0000 ${A.asPath} ${A.nextHop}`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_ORIGIN_LENGTH' },
  },
  {
    name: 'ORIGIN with the Optional bit (§3.c flags)',
    attrs: `c0 01 01 00 ${A.asPath} ${A.nextHop}`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_ATTRIBUTE_FLAGS' },
  },
  {
    name: 'AS_PATH unknown segment type 5 (§7.2)',
    attrs: `${A.origin} 40 02 06 05 01 0000fde9 ${A.nextHop}`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_MALFORMED_AS_PATH' },
  },
  {
    name: 'AS_PATH zero-length segment (§7.2)',
    attrs: `${A.origin} 40 02 02 02 00 ${A.nextHop}`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_MALFORMED_AS_PATH' },
  },
  {
    name: 'AS_PATH segment overrun (§7.2)',
    attrs: `${A.origin} 40 02 06 02 02 0000fde9 ${A.nextHop}`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_MALFORMED_AS_PATH' },
  },
  {
    name: 'AS_PATH of 2-octet ASes on a 4-octet session does not parse (§7.2)',
    attrs: `${A.origin} 40 02 04 02 01 fde9 ${A.nextHop}`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_MALFORMED_AS_PATH' },
  },
  {
    name: 'NEXT_HOP length 5 (§7.3)',
    attrs: `${A.origin} ${A.asPath} 40 03 05 c000020100`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_NEXT_HOP_LENGTH' },
  },
  {
    name: 'NEXT_HOP 127.0.0.1 (RFC 4271 §6.3 semantic)',
    attrs: `${A.origin} ${A.asPath} 40 03 04 7f000001`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_BAD_NEXT_HOP' },
  },
  {
    name: 'NEXT_HOP 0.0.0.0',
    attrs: `${A.origin} ${A.asPath} 40 03 04 00000000`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_BAD_NEXT_HOP' },
  },
  {
    name: 'NEXT_HOP multicast 224.0.0.5',
    attrs: `${A.origin} ${A.asPath} 40 03 04 e0000005`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_BAD_NEXT_HOP' },
  },
  {
    name: 'MED length 3 (§7.4)',
    attrs: `${OK4} 80 04 03 000064`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_MULTI_EXIT_DISC_LENGTH' },
  },
  {
    name: 'LOCAL_PREF length 2 on iBGP (§7.5)',
    ctx: CTX4_IBGP,
    attrs: `${OK4} 40 05 02 0064`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_LOCAL_PREF_LENGTH' },
  },
  {
    name: 'COMMUNITIES length 5 (§7.8)',
    attrs: `${OK4} c0 08 05 fde9006400`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_COMMUNITIES_LENGTH' },
  },
  {
    name: 'COMMUNITIES length 0 (§7.8)',
    attrs: `${OK4} c0 08 00`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_COMMUNITIES_LENGTH' },
  },
  {
    name: 'ORIGINATOR_ID length 3 on iBGP (§7.9)',
    ctx: CTX4_IBGP,
    attrs: `${OK4} 80 09 03 0a0000`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_ORIGINATOR_ID_LENGTH' },
  },
  {
    name: 'CLUSTER_LIST length 6 on iBGP (§7.10)',
    ctx: CTX4_IBGP,
    attrs: `${OK4} 80 0a 06 0a0000010a00`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_CLUSTER_LIST_LENGTH' },
  },
  {
    name: 'EXTENDED COMMUNITIES length 7 (§7.14)',
    attrs: `${OK4} c0 10 07 00020000000000`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_EXTENDED_COMMUNITIES_LENGTH' },
  },
  {
    name: 'LARGE_COMMUNITY length 11 (RFC 8092 §6)',
    attrs: `${OK4} c0 20 0b 0000fde9 00000001 000000`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_LARGE_COMMUNITY_LENGTH' },
  },
  {
    name: 'missing ORIGIN (§3.d, not RFC 4271 3/3)',
    attrs: `${A.asPath} ${A.nextHop}`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_MISSING_WELL_KNOWN', attribute: 1 },
  },
  {
    name: 'missing AS_PATH',
    attrs: `${A.origin} ${A.nextHop}`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_MISSING_WELL_KNOWN', attribute: 2 },
  },
  {
    name: 'missing NEXT_HOP with IPv4 NLRI',
    attrs: `${A.origin} ${A.asPath}`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_MISSING_WELL_KNOWN', attribute: 3 },
  },
  {
    name: 'missing AS_PATH with MP_REACH_NLRI withdraws the IPv6 prefix',
    attrs: `${A.origin} ${A.mpReach6}`,
    outcome: { withdraw: ['fd00:1::/64'], issue: 'BGP_ERR_MISSING_WELL_KNOWN' },
  },
  {
    name: 'treat-as-withdraw joins the explicit withdrawals',
    withdrawn: '18 0a0100',
    attrs: `40 01 01 07 ${A.asPath} ${A.nextHop}`,
    nlri: NLRI,
    outcome: { withdraw: ['10.1.0.0/24', '10.0.0.0/24'], issue: 'BGP_ERR_BAD_ORIGIN' },
  },

  // ---- attribute discard ----
  {
    name: 'LOCAL_PREF from an eBGP peer (§7.5)',
    attrs: `${OK4} 40 05 04 00000064`,
    nlri: NLRI,
    outcome: {
      discard: 'BGP_ERR_EBGP_LOCAL_PREF',
      reach: ['10.0.0.0/24'],
      check: (m) => expect(m.attributes?.localPref).toBeUndefined(),
    },
  },
  {
    name: 'ORIGINATOR_ID from an eBGP peer (§7.9)',
    attrs: `${OK4} 80 09 04 0a000001`,
    nlri: NLRI,
    outcome: {
      discard: 'BGP_ERR_EBGP_ORIGINATOR_ID',
      reach: ['10.0.0.0/24'],
      check: (m) => expect(m.attributes?.originatorId).toBeUndefined(),
    },
  },
  {
    name: 'CLUSTER_LIST from an eBGP peer (§7.10)',
    attrs: `${OK4} 80 0a 04 0a000001`,
    nlri: NLRI,
    outcome: { discard: 'BGP_ERR_EBGP_CLUSTER_LIST', reach: ['10.0.0.0/24'] },
  },
  {
    name: 'ATOMIC_AGGREGATE length 1 (§7.6)',
    attrs: `${OK4} 40 06 01 00`,
    nlri: NLRI,
    outcome: { discard: 'BGP_ERR_ATOMIC_AGGREGATE_LENGTH', reach: ['10.0.0.0/24'] },
  },
  {
    name: 'AGGREGATOR length 5 (§7.7)',
    attrs: `${OK4} c0 07 05 0000fde90a`,
    nlri: NLRI,
    outcome: { discard: 'BGP_ERR_AGGREGATOR_LENGTH', reach: ['10.0.0.0/24'] },
  },
  {
    name: 'duplicate ORIGIN: the later one is discarded (§3.g)',
    attrs: `${OK4} 40 01 01 02`,
    nlri: NLRI,
    outcome: {
      discard: 'BGP_ERR_DUPLICATE_ATTRIBUTE',
      reach: ['10.0.0.0/24'],
      check: (m) => expect(m.attributes?.origin).toBe(0),
    },
  },
  {
    name: 'bad NEXT_HOP in an MP-only UPDATE is only discarded',
    attrs: `${A.origin} ${A.asPath} 40 03 04 00000000 ${A.mpReach6}`,
    outcome: { discard: 'BGP_ERR_BAD_NEXT_HOP', reach: ['fd00:1::/64'] },
  },
  {
    name: 'AS4_PATH on a 4-octet session (RFC 6793 §4.2.2)',
    attrs: `${OK4} c0 11 06 02 01 0000fde9`,
    nlri: NLRI,
    outcome: { discard: 'BGP_ERR_AS4_PATH_FROM_NEW_SPEAKER', reach: ['10.0.0.0/24'] },
  },
  {
    name: 'malformed AS4_PATH (confederation segment) on a 2-octet session: AS_PATH used as is',
    ctx: CTX2,
    attrs: `${A.origin} 40 02 04 02 01 5ba0 ${A.nextHop} c0 11 06 03 01 fa56ea00`,
    nlri: NLRI,
    outcome: {
      discard: 'BGP_ERR_MALFORMED_AS4_PATH',
      reach: ['10.0.0.0/24'],
      check: (m) => expect(m.attributes?.asPath).toEqual([{ type: 2, asns: [23456] }]),
    },
  },
  {
    name: 'MP_REACH_NLRI of an unsupported family is ignored',
    attrs: `${OK4} 80 0e 0a 0019 46 04 0a000001 00 00`,
    nlri: NLRI,
    outcome: { discard: 'BGP_ERR_MP_UNSUPPORTED_FAMILY', reach: ['10.0.0.0/24'] },
  },

  // ---- session reset ----
  {
    name: 'MP_REACH_NLRI truncated (§7.11 → 3/9)',
    attrs: `${A.origin} ${A.asPath} 80 0e 03 000201`,
    outcome: { reset: [3, 9], code: 'BGP_ERR_MALFORMED_MP_REACH' },
  },
  {
    name: 'MP_REACH_NLRI next hop length 7',
    attrs: `${A.origin} ${A.asPath} 80 0e 0d 0002 01 07 00000000000000 00 00`,
    outcome: { reset: [3, 9] },
  },
  {
    name: 'MP_REACH_NLRI next hop length overruns',
    attrs: `${A.origin} ${A.asPath} 80 0e 06 0002 01 20 0000`,
    outcome: { reset: [3, 9] },
  },
  {
    name: 'MP_REACH_NLRI prefix length 129',
    attrs: `${A.origin} ${A.asPath} 80 0e 16 0002 01 10 20010db8000000000000000000000001 00 81`,
    outcome: { reset: [3, 9] },
  },
  {
    name: 'MP_UNREACH_NLRI prefix length 255 overrun',
    attrs: '80 0f 05 0002 01 ff 00',
    outcome: { reset: [3, 9], code: 'BGP_ERR_MALFORMED_MP_UNREACH' },
  },
  {
    name: 'MP_REACH_NLRI with the Transitive bit (flags → its own action)',
    attrs: `${A.origin} ${A.asPath} c0 0e 1e 0002 01 10 20010db8000000000000000000000001 00 40 fd00000100000000`,
    outcome: { reset: [3, 4] },
  },
  {
    name: 'MP_UNREACH_NLRI twice (§3.g → 3/1)',
    attrs: '80 0f 03 000201 80 0f 03 000201',
    outcome: { reset: [3, 1] },
  },
  {
    name: 'unrecognized well-known attribute (RFC 4271 §6.3 → 3/2)',
    attrs: `${OK4} 40 63 01 00`,
    nlri: NLRI,
    outcome: { reset: [3, 2], code: 'BGP_ERR_UNRECOGNIZED_WELL_KNOWN' },
  },
  // ---- RFC 7606 §4: the attribute section does not add up → treat-as-withdraw, NLRI found by its length ----
  {
    name: 'attribute length overruns the attribute section (§4 → treat-as-withdraw)',
    attrs: `${A.origin} 40 02 09 02 01 0000fde9`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_ATTRIBUTE_OVERRUN', attribute: 2 },
  },
  {
    name: 'last attribute overruns, withdrawn routes and NLRI both withdrawn (§4)',
    withdrawn: '10 0a01',
    attrs: `${OK4} 40 05 09 00000064`,
    nlri: NLRI,
    outcome: { withdraw: ['10.1.0.0/16', '10.0.0.0/24'], issue: 'BGP_ERR_ATTRIBUTE_OVERRUN', attribute: 5 },
  },
  {
    name: 'attribute header cut short (§4 → treat-as-withdraw)',
    attrs: `${A.origin} 40 02`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_ATTRIBUTE_OVERRUN', attribute: 0 },
  },
  {
    name: 'extended length header cut short (§4 → treat-as-withdraw)',
    attrs: `${A.origin} 50 02 00`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24'], issue: 'BGP_ERR_ATTRIBUTE_OVERRUN', attribute: 2 },
  },
  {
    name: 'overrun with nothing to withdraw: the UPDATE is dropped, the session stays',
    attrs: `${A.origin} 40 02 09 02 01 0000fde9`,
    outcome: { withdraw: [], issue: 'BGP_ERR_ATTRIBUTE_OVERRUN' },
  },
  {
    name: 'MP_REACH_NLRI before the overrun: its prefixes are withdrawn too (§4)',
    attrs: `${A.origin} ${A.asPath} 80 0e 1e 0002 01 10 20010db8000000000000000000000001 00 40 fd00000100000000 40 05 09 00000064`,
    outcome: { withdraw: ['fd00:1::/64'], issue: 'BGP_ERR_ATTRIBUTE_OVERRUN', attribute: 5 },
  },
  {
    name: 'MP_UNREACH_NLRI and IPv4 NLRI before the overrun: all withdrawn (§4)',
    attrs: `80 0f 0c 0002 01 40 fd00000200000000 ${A.origin} 40 02 09 02 01 0000fde9`,
    nlri: NLRI,
    outcome: { withdraw: ['10.0.0.0/24', 'fd00:2::/64'], issue: 'BGP_ERR_ATTRIBUTE_OVERRUN' },
  },
  {
    name: 'a malformed MP_REACH_NLRI before the overrun still resets (§5.3 → 3/9)',
    attrs: `${A.origin} ${A.asPath} 80 0e 06 0002 01 20 0000 40 05 09 00000064`,
    outcome: { reset: [3, 9] },
  },
  {
    name: 'NLRI prefix length 33 (3/10)',
    attrs: OK4,
    nlri: '21 0a000000 00',
    outcome: { reset: [3, 10], code: 'BGP_ERR_INVALID_NETWORK_FIELD' },
  },
  {
    name: 'NLRI prefix overruns the message (3/10)',
    attrs: OK4,
    nlri: '18 0a00',
    outcome: { reset: [3, 10] },
  },
  { name: 'withdrawn prefix length 255 (3/10)', withdrawn: 'ff 00', outcome: { reset: [3, 10] } },
];

function decodeUpdateCase(c: Case) {
  return decodeMessage(updateHex(c), c.ctx ?? CTX4);
}

describe('RFC 7606 outcomes', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const d = decodeUpdateCase(c);
      const o = c.outcome;
      if ('reset' in o) {
        if (d.ok)
          throw new Error(
            `expected a session reset, got ${JSON.stringify(d.message, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
          );
        const n = toNotification(d.error);
        expect([n.code, n.subcode]).toEqual(o.reset);
        if (o.code !== undefined) expect(d.error.code).toBe(o.code);
        return;
      }
      if (!d.ok || d.message.type !== 2) throw new Error(`expected an UPDATE, got ${JSON.stringify(d)}`);
      const m = d.message;
      if ('withdraw' in o) {
        expect(m.reach).toEqual([]);
        expect(m.attributes).toBeNull();
        expect(m.withdrawn.flatMap((b) => b.prefixes.map(formatPrefix))).toEqual(o.withdraw);
        const issue = m.issues.find((i) => i.code === o.issue);
        expect(issue?.action).toBe('treat-as-withdraw');
        if (o.attribute !== undefined) expect(issue?.attribute).toBe(o.attribute);
      } else {
        expect(m.reach.flatMap((b) => b.prefixes.map(formatPrefix))).toEqual(o.reach);
        expect(m.issues.map((i) => [i.code, i.action])).toContainEqual([o.discard, 'attribute-discard']);
        expect(m.issues.every((i) => i.action === 'attribute-discard')).toBe(true);
        o.check?.(m);
      }
    });
  }

  it('keeps the strongest outcome when a discard and a treat-as-withdraw meet', () => {
    const d = decodeMessage(
      updateHex({ attrs: `40 01 01 09 ${A.asPath} ${A.nextHop} 40 06 01 00`, nlri: NLRI }),
      CTX4,
    );
    if (!d.ok || d.message.type !== 2) throw new Error('expected UPDATE');
    expect(d.message.attributes).toBeNull();
    expect(d.message.issues.map((i) => i.action).sort()).toEqual(['attribute-discard', 'treat-as-withdraw']);
  });

  it('drops an unknown optional non-transitive attribute quietly and keeps an unknown transitive one', () => {
    const d = decodeMessage(updateHex({ attrs: `${OK4} 80 63 02 abcd c0 64 01 ef`, nlri: NLRI }), CTX4);
    if (!d.ok || d.message.type !== 2) throw new Error('expected UPDATE');
    expect(d.message.attributes?.unknown).toEqual([{ flags: 0xc0, type: 100, value: Uint8Array.of(0xef) }]);
    expect(d.message.issues).toEqual([]);
  });

  it('RFC 6793 §4.2.3: AS4_PATH shorter than AS_PATH keeps the leading AS_PATH numbers', () => {
    const attrs = `${A.origin} 40 02 08 02 03 fdf2 fde9 5ba0 ${A.nextHop} c0 11 0a 02 02 0000fde9 fa56ea00`;
    const d = decodeMessage(updateHex({ attrs, nlri: NLRI }), CTX2);
    if (!d.ok || d.message.type !== 2) throw new Error('expected UPDATE');
    expect(d.message.attributes?.asPath).toEqual([
      { type: 2, asns: [65010] },
      { type: 2, asns: [65001, 4200000000] },
    ]);
  });

  it('RFC 6793 §4.2.3: AS4_PATH longer than AS_PATH is ignored; a real AGGREGATOR voids AS4_*', () => {
    const longer = `${A.origin} 40 02 04 02 01 5ba0 ${A.nextHop} c0 11 0a 02 02 0000fde9 fa56ea00`;
    const d1 = decodeMessage(updateHex({ attrs: longer, nlri: NLRI }), CTX2);
    expect(d1.ok && d1.message.type === 2 && d1.message.attributes?.asPath).toEqual([
      { type: 2, asns: [23456] },
    ]);
    const realAgg = `${A.origin} 40 02 04 02 01 5ba0 ${A.nextHop} c0 07 06 fde9 0a000001 c0 11 06 02 01 fa56ea00 c0 12 08 fa56ea00 0a000002`;
    const d2 = decodeMessage(updateHex({ attrs: realAgg, nlri: NLRI }), CTX2);
    if (!d2.ok || d2.message.type !== 2) throw new Error('expected UPDATE');
    expect(d2.message.attributes?.asPath).toEqual([{ type: 2, asns: [23456] }]);
    expect(d2.message.attributes?.aggregator).toEqual({ asn: 65001, address: '10.0.0.1' });
  });
});
