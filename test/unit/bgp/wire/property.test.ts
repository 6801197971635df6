/**
 * Properties: arbitrary bytes never make a decoder throw (or hit decodeMessage's internal-bug guard);
 * decode(encode(x)) = x for arbitrary valid messages; packing keeps every prefix and the 4096 limit.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AttributeCache,
  decodeMessage,
  encodeMessage,
  encodeUpdates,
  encodeWithdrawals,
  messageLength,
  type CodecContext,
  type UpdateMessage,
} from '../../../../bgp/wire/index.js';
import { ATTRIBUTE_TABLE } from '../../../../bgp/wire/attr-table.js';
import type { AttributeDraft } from '../../../../bgp/wire/attr-common.js';
import { decodeIpv4Prefixes, decodeIpv6Prefixes } from '../../../../bgp/wire/nlri.js';
import { CTX2, CTX4, CTX4_IBGP } from './helpers.js';
import * as arb from './arbitraries.js';
import { VECTORS } from './vectors.js';
import { hex } from './helpers.js';

const RUNS = { numRuns: 400 };
const contexts = fc.constantFrom<CodecContext>(CTX2, CTX4, CTX4_IBGP, {
  fourOctetAs: true,
  ibgp: false,
  extendedNextHopIpv4: true,
});

/** A syntactically framed message of any type 0..7 with a random body (so the decoders get past framing). */
const framed = fc
  .tuple(fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 300 }))
  .map(([type, body]) => {
    const b = Buffer.alloc(19 + body.length, 0xff);
    b.writeUInt16BE(19 + body.length, 16);
    b[18] = type;
    b.set(body, 19);
    return b;
  });

/** An UPDATE with well-formed lengths around random attribute octets (gets deepest into the attribute code). */
const updateish = fc
  .tuple(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 40 }))
  .map(([attrs, nlri]) => {
    const body = Buffer.concat([Buffer.of(0, 0, attrs.length >> 8, attrs.length & 255), attrs, nlri]);
    const b = Buffer.alloc(19 + body.length, 0xff);
    b.writeUInt16BE(19 + body.length, 16);
    b[18] = 2;
    body.copy(b, 19);
    return b;
  });

function neverThrows(bytes: Buffer, ctx: CodecContext): void {
  const d = decodeMessage(bytes, ctx, new AttributeCache());
  if (!d.ok) expect(d.error.code).not.toBe('BGP_ERR_INTERNAL');
}

/** Golden and captured messages with some octets overwritten (past the marker), the Length field kept right: deep paths. */
const CAPTURES = join(import.meta.dirname, '../../../fixtures/captures');
const captured = existsSync(CAPTURES)
  ? readdirSync(CAPTURES)
      .filter((f) => f.endsWith('.json'))
      .flatMap((f) =>
        (JSON.parse(readFileSync(join(CAPTURES, f), 'utf8')) as { messages: { hex: string }[] }).messages.map(
          (m) => hex(m.hex),
        ),
      )
  : [];
const seeds = [...VECTORS.map((v) => hex(v.hex)), ...captured];
const mutated = fc
  .tuple(
    fc.constantFrom(...seeds),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
    fc.nat(40),
  )
  .map(([seed, edits, cut]) => {
    const b = Buffer.from(seed.subarray(0, Math.max(19, seed.length - (cut % 8 === 0 ? cut : 0))));
    for (const [at, v] of edits) b[19 + (at % Math.max(1, b.length - 19))] = v;
    b.writeUInt16BE(b.length, 16);
    return b;
  });

describe('arbitrary bytes never throw', () => {
  it('decodeMessage on mutated golden messages', () =>
    fc.assert(fc.property(mutated, contexts, neverThrows), { numRuns: 5000 }));
  it('decodeMessage on raw bytes', () =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), contexts, (b, c) => neverThrows(Buffer.from(b), c)),
      RUNS,
    ));
  it('decodeMessage on framed bytes', () =>
    fc.assert(fc.property(framed, contexts, neverThrows), { numRuns: 2000 }));
  it('decodeMessage on UPDATEs with random attributes', () =>
    fc.assert(fc.property(updateish, contexts, neverThrows), { numRuns: 3000 }));
  it('messageLength', () =>
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 40 }),
        fc.oneof(fc.integer({ min: -2, max: 45 }), fc.double()),
        (b, off) => {
          const r = messageLength(Buffer.from(b), off);
          expect(typeof r === 'number' || typeof r.kind === 'string').toBe(true);
        },
      ),
      RUNS,
    ));
  it('every attribute decoder', () =>
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(ATTRIBUTE_TABLE).map(Number)),
        fc.uint8Array({ maxLength: 80 }),
        contexts,
        (type, v, ctx) => {
          const value = Buffer.from(v);
          const draft: AttributeDraft = {};
          ATTRIBUTE_TABLE[type]!.decode(value, ctx, draft, value);
        },
      ),
      { numRuns: 3000 },
    ));
  it('prefix decoders', () =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), (b) => {
        decodeIpv4Prefixes(b, 0, b.length, []);
        decodeIpv6Prefixes(b, 0, b.length, []);
      }),
      RUNS,
    ));
});

function roundTrip<T>(value: T, ctx: CodecContext): void {
  const bytes = encodeMessage(value as Parameters<typeof encodeMessage>[0], ctx);
  const d = decodeMessage(bytes, ctx);
  expect(d).toEqual({ ok: true, message: value });
}

describe('decode(encode(x)) = x', () => {
  it('OPEN', () =>
    fc.assert(
      fc.property(arb.open, (o) => roundTrip(o, CTX4)),
      RUNS,
    ));
  it('NOTIFICATION', () =>
    fc.assert(
      fc.property(arb.notification, (n) => roundTrip(n, CTX4)),
      RUNS,
    ));
  it('ROUTE-REFRESH', () =>
    fc.assert(
      fc.property(arb.routeRefresh, (r) => roundTrip(r, CTX4)),
      RUNS,
    ));
  it('UPDATE, 4-octet iBGP session', () =>
    fc.assert(
      fc.property(arb.update(), (u) => roundTrip(u, CTX4_IBGP)),
      RUNS,
    ));
  it('UPDATE, 2-octet iBGP session (AS_TRANS + AS4_PATH + AS4_AGGREGATOR and back)', () =>
    fc.assert(
      fc.property(arb.update(true), (u) => roundTrip(u, { fourOctetAs: false, ibgp: true })),
      RUNS,
    ));
});

describe('packing', () => {
  const many4 = fc.array(arb.prefix4, { minLength: 1, maxLength: 3000 });
  const many6 = fc.array(arb.prefix6, { minLength: 1, maxLength: 600 });
  it('encodeUpdates keeps every prefix, one shared attribute object, ≤ 4096 octets each', () =>
    fc.assert(
      fc.property(fc.boolean(), many4, many6, arb.unicastIpv4, arb.ipv6Text, (v6, p4, p6, nh4, nh6) => {
        const prefixes = v6 ? p6 : p4;
        const attrs = { origin: 0 as const, asPath: [{ type: 2 as const, asns: [65001] }], localPref: 100 };
        const reach = v6
          ? { afi: 2 as const, safi: 1, prefixes, nextHop: nh6 }
          : { afi: 1 as const, safi: 1, prefixes, nextHop: nh4 };
        const cache = new AttributeCache();
        const msgs = encodeUpdates(attrs, reach, CTX4_IBGP);
        const decoded = msgs.map((m) => {
          expect(m.length).toBeLessThanOrEqual(4096);
          const d = decodeMessage(m, CTX4_IBGP, cache);
          if (!d.ok || d.message.type !== 2) throw new Error('bad UPDATE');
          return d.message;
        });
        expect(decoded.flatMap((m) => m.reach[0]!.prefixes)).toEqual(prefixes);
        expect(new Set(decoded.map((m) => m.attributes)).size).toBe(1);
        expect(decoded[0]!.attributes).toEqual(v6 ? attrs : { ...attrs, nextHop: nh4 });
      }),
      { numRuns: 60 },
    ));
  it('encodeWithdrawals keeps every prefix', () =>
    fc.assert(
      fc.property(fc.boolean(), many4, many6, (v6, p4, p6) => {
        const block = v6
          ? { afi: 2 as const, safi: 1, prefixes: p6 }
          : { afi: 1 as const, safi: 1, prefixes: p4 };
        const msgs = encodeWithdrawals(block, CTX4);
        const all = msgs.flatMap((m) => {
          expect(m.length).toBeLessThanOrEqual(4096);
          const d = decodeMessage(m, CTX4);
          if (!d.ok || d.message.type !== 2) throw new Error('bad UPDATE');
          return (d.message as UpdateMessage).withdrawn.flatMap((b) => b.prefixes);
        });
        expect(all).toEqual(block.prefixes);
      }),
      { numRuns: 60 },
    ));
});
