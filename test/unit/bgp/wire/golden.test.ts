/**
 * Golden vectors (vectors.ts), each run three ways (mqtt-packet style): decode(bytes) = value,
 * encode(value) = bytes, and decode(encode(value)) = value.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../../../bgp/wire/index.js';
import { hex } from './helpers.js';
import { VECTORS } from './vectors.js';

describe('golden vectors', () => {
  for (const v of VECTORS) {
    describe(v.name, () => {
      const bytes = hex(v.hex);
      it('decodes', () => {
        const d = decodeMessage(bytes, v.ctx);
        expect(d).toEqual({ ok: true, message: v.value });
      });
      it('encodes', () => {
        expect(encodeMessage(v.value, v.ctx).toString('hex')).toBe(bytes.toString('hex'));
      });
      it('round-trips', () => {
        expect(decodeMessage(encodeMessage(v.value, v.ctx), v.ctx)).toEqual({ ok: true, message: v.value });
      });
    });
  }
});
