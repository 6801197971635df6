/**
 * The committed captures keep the shape the codec's golden test consumes, and their bytes still agree with the
 * configured expectations as read by the capture tooling's own small reader (not bgp/wire).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspect } from './inspect.js';

const DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'captures');

interface Fixture {
  source: string;
  description: string;
  context: { fourOctetAs: boolean; ibgp: boolean };
  messages: { name: string; hex: string; expect: Record<string, unknown> & { type: string } }[];
}

const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

describe('real captures', () => {
  it('covers FRR, BIRD, GoBGP and ExaBGP, including a 2-octet AS session', () => {
    for (const d of ['frr', 'bird', 'gobgp', 'exabgp'])
      expect(files.some((f) => f.startsWith(`${d}-`))).toBe(true);
    const twoOctet = files.map((f) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Fixture);
    expect(twoOctet.some((f) => !f.context.fourOctetAs)).toBe(true);
  });

  for (const file of files) {
    it(`${file}: every message is framed and agrees with its expectation`, () => {
      const fx = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Fixture;
      expect(fx.source).toMatch(/captured \d{4}-\d{2}-\d{2} by test\/interop\/capture/);
      expect(fx.messages[0]?.expect.type).toBe('open');
      for (const m of fx.messages) {
        const bytes = Buffer.from(m.hex, 'hex');
        expect(
          bytes.subarray(0, 16).every((b) => b === 0xff),
          m.name,
        ).toBe(true);
        expect(bytes.readUInt16BE(16), m.name).toBe(bytes.length);
        const seen = inspect(m.hex, fx.context.fourOctetAs) as unknown as Record<string, unknown>;
        for (const [key, want] of Object.entries(m.expect)) {
          const got = seen[key];
          const sorted = (x: unknown): unknown => (Array.isArray(x) ? [...(x as string[])].sort() : x);
          expect(sorted(got), `${m.name}.${key}`).toEqual(sorted(want));
        }
      }
    });
  }
});
