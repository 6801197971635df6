/** Replays test/fixtures/crashers/*.hex (see the README there): never throw; the named outcome when there is one. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AttributeCache, decodeMessage, toNotification } from '../../../../bgp/wire/index.js';
import { CTX2, CTX4, hex } from './helpers.js';

const DIR = join(import.meta.dirname, '../../../fixtures/crashers');
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.hex'))
  .sort();

describe('crasher corpus', () => {
  it('is not empty', () => expect(files.length).toBeGreaterThan(0));
  for (const file of files) {
    it(file, () => {
      const text = readFileSync(join(DIR, file), 'utf8');
      const ctx = /^#\s*ctx:\s*2-octet/m.test(text) ? CTX2 : CTX4;
      const bytes = hex(text);
      const d = decodeMessage(bytes, ctx, new AttributeCache());
      if (!d.ok) expect(d.error.code).not.toBe('BGP_ERR_INTERNAL');
      const outcome = /\.([a-z0-9-]+)\.hex$/.exec(file)?.[1];
      const reset = outcome === undefined ? null : /^reset-(\d+)-(\d+)$/.exec(outcome);
      if (reset) {
        if (d.ok) throw new Error(`expected a reset, decoded ${d.message.type}`);
        const n = toNotification(d.error);
        expect([n.code, n.subcode]).toEqual([Number(reset[1]), Number(reset[2])]);
        return;
      }
      if (outcome === undefined || !['ok', 'discard', 'withdraw'].includes(outcome)) return;
      if (!d.ok) throw new Error(`expected a message, got ${d.error.code}: ${d.error.reason}`);
      if (d.message.type !== 2) {
        expect(outcome).toBe('ok');
        return;
      }
      const m = d.message;
      const actions = new Set(m.issues.map((i) => i.action));
      if (outcome === 'ok') expect(m.issues).toEqual([]);
      if (outcome === 'discard') expect([...actions]).toEqual(['attribute-discard']);
      if (outcome === 'withdraw') {
        expect(actions.has('treat-as-withdraw')).toBe(true);
        expect(m.reach).toEqual([]);
        expect(m.attributes).toBeNull();
      }
    });
  }
});
