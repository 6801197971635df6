/**
 * Real captures from FRR 8.4, BIRD 2, GoBGP 3 and ExaBGP 4 (test/fixtures/captures/*.json, recorded by the
 * interop work). Each message must decode to its `expect` summary (one toEqual against `summarizeMessage`),
 * and re-encode to the captured octets — or, where NOT_BYTE_EXACT below says why not, re-decode to the same
 * message. Implementations without a capture yet are reported as skipped, by name.
 *
 * File shape: { source, description, context?: { fourOctetAs, ibgp }, messages: [{ name, hex, expect }] }.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, type CodecContext } from '../../../../bgp/wire/index.js';
import { CTX4, hex, summarizeMessage, type Summary } from './helpers.js';

const DIR = join(import.meta.dirname, '../../../fixtures/captures');

interface CaptureFile {
  source: string;
  description?: string;
  context?: Partial<CodecContext>;
  messages: { name: string; hex: string; expect: Summary; context?: Partial<CodecContext> }[];
}

/**
 * `file:message name` → why re-encoding cannot give the captured octets (then decode(encode(decode(x))) is
 * compared with decode(x) instead). Messages with RFC 7606 issues (a discarded attribute) are never exact.
 */
const NOT_BYTE_EXACT: Record<string, string> = {};

const IMPLEMENTATIONS = ['frr', 'bird', 'gobgp', 'exabgp'];

const files = existsSync(DIR)
  ? readdirSync(DIR)
      .filter((f) => f.endsWith('.json'))
      .sort()
  : [];
const captures = files.map((f) => ({
  file: f,
  data: JSON.parse(readFileSync(join(DIR, f), 'utf8')) as CaptureFile,
}));

describe('real captures', () => {
  for (const impl of IMPLEMENTATIONS) {
    const has = captures.some((c) => `${c.file} ${c.data.source}`.toLowerCase().includes(impl));
    if (!has) it.skip(`no ${impl} capture in test/fixtures/captures yet`, () => undefined);
  }
  for (const { file, data } of captures) {
    describe(`${file} (${data.source})`, () => {
      it('has messages', () => expect(data.messages.length).toBeGreaterThan(0));
      for (const m of data.messages) {
        const ctx: CodecContext = { ...CTX4, ...data.context, ...m.context };
        it(m.name, () => {
          const bytes = hex(m.hex);
          const d = decodeMessage(bytes, ctx);
          if (!d.ok) throw new Error(`${d.error.code}: ${d.error.reason}`);
          expect(summarizeMessage(d.message)).toEqual(m.expect);
          const again = encodeMessage(d.message, ctx);
          const why = NOT_BYTE_EXACT[`${file}:${m.name}`];
          const lossy = d.message.type === 2 && d.message.issues.length > 0;
          if (why === undefined && !lossy) expect(again.toString('hex')).toBe(bytes.toString('hex'));
          else expect(decodeMessage(again, ctx)).toEqual(d);
        });
      }
    });
  }
});
