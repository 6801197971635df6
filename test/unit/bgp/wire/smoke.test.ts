import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeUpdate, encodeUpdates, AttributeCache, type PathAttributes } from '../../../../bgp/wire/index.js';
import { parsePrefix } from '../../../../bgp/prefix.js';
import { CTX4, summarizeMessage } from './helpers.js';

describe('smoke', () => {
  it('packs and decodes', () => {
    const attrs: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65001, 4200000000] }], communities: [65001 * 65536 + 100] };
    const prefixes = Array.from({ length: 2000 }, (_, i) => parsePrefix(`10.${i >> 8}.${i & 255}.0/24`) as number);
    const msgs = encodeUpdates(attrs, { afi: 1, safi: 1, prefixes, nextHop: '192.0.2.1' }, CTX4);
    expect(msgs.length).toBe(2);
    const cache = new AttributeCache();
    const d = msgs.map((m) => decodeMessage(m, CTX4, cache));
    const a = d[0]!;
    if (!a.ok || a.message.type !== 2) throw new Error(JSON.stringify(a));
    expect(summarizeMessage(a.message)).toMatchObject({ origin: 'igp', asPath: '65001 4200000000', nextHop: '192.0.2.1', communities: ['65001:100'] });
    expect(encodeUpdate(a.message, CTX4).equals(msgs[0]!)).toBe(true);
    const b = d[1]!;
    if (!b.ok || b.message.type !== 2) throw new Error('x');
    expect(b.message.attributes).toBe(a.message.attributes);
  });
  it('ipv6', () => {
    const attrs: PathAttributes = { origin: 2, asPath: [] , localPref: 100};
    const prefixes = [parsePrefix('fd00:1::/64') as string, parsePrefix('2001:db8::/32') as string];
    const [m] = encodeUpdates(attrs, { afi: 2, safi: 1, prefixes, nextHop: '2001:db8::1', linkLocalNextHop: 'fe80::1' }, { fourOctetAs: true, ibgp: true });
    const d = decodeMessage(m!, { fourOctetAs: true, ibgp: true });
    expect(d.ok && summarizeMessage(d.message)).toEqual({ type: 'update', prefixes: ['fd00:1::/64', '2001:db8::/32'], nextHop: '2001:db8::1', origin: 'incomplete', asPath: '', localPref: 100 });
  });
});
