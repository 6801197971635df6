/**
 * Import rules: which received prefixes a peer may give us, as prefix ranges with length bounds, the way
 * operators write prefix lists (`ip prefix-list … le 24`). One schema for the file's `importPrefixes` and
 * `peers[].import` and for Kubernetes mode's lists, so a rule means the same everywhere:
 *
 *   10.244.0.0/16                          the prefix and anything inside it, any length
 *   { prefix: 10.244.0.0/16, le: 24 }      inside it, at most /24 long
 *   { prefix: 10.0.0.0/8, ge: 16, le: 24 } inside it, /16 to /24
 *   { prefix: 10.200.0.0/24, exact: true } that prefix only
 *
 * A default route (0.0.0.0/0, ::/0) matches only a rule that names it with `exact: true`: a range written
 * for "anything" must not take every packet's route with it.
 */
import { z } from 'zod';
import { isIpv4Key, parsePrefix, prefixContains, type PrefixKey } from '../ip/prefix.js';

export interface ImportRule {
  readonly prefix: PrefixKey;
  readonly le?: number;
  readonly ge?: number;
  readonly exact?: boolean;
}

/** Prefix lengths of a key. */
export function prefixLength(key: PrefixKey): number {
  return typeof key === 'number' ? key % 64 : Number(key.slice(key.lastIndexOf('/') + 1));
}

const prefixText = z.string('expected a prefix such as 10.244.0.0/16').transform((text, ctx) => {
  const key = parsePrefix(text);
  if (key instanceof Error) {
    ctx.addIssue({ code: 'custom', message: key.message.replace(/^"[^"]*": /, '') });
    return z.NEVER;
  }
  return key;
});

const length = z
  .number('expected a prefix length')
  .int('expected a prefix length')
  .min(0, 'must be 0..128')
  .max(128, 'must be 0..128');

const ruleObject = z
  .strictObject({
    prefix: prefixText,
    le: length.optional(),
    ge: length.optional(),
    exact: z.boolean('expected true or false').optional(),
  })
  .superRefine((r, ctx) => {
    const len = prefixLength(r.prefix);
    const max = isIpv4Key(r.prefix) ? 32 : 128;
    if (r.exact === true && (r.le !== undefined || r.ge !== undefined))
      ctx.addIssue({ code: 'custom', path: ['exact'], message: 'cannot be combined with le or ge' });
    for (const k of ['le', 'ge'] as const) {
      const v = r[k];
      if (v !== undefined && (v < len || v > max))
        ctx.addIssue({ code: 'custom', path: [k], message: `must be ${len}..${max} for this prefix` });
    }
    if (r.le !== undefined && r.ge !== undefined && r.ge > r.le)
      ctx.addIssue({ code: 'custom', path: ['ge'], message: `must not be above le (${r.le})` });
  });

/** One rule: a prefix as text, or `{ prefix, le?, ge?, exact? }`. */
export const importRuleSchema = z.union([prefixText.transform((prefix) => ({ prefix })), ruleObject], {
  error: 'expected a prefix or { prefix, le, ge, exact }',
});

export const importRulesSchema = z.array(importRuleSchema, 'expected a list of prefixes or { prefix, le }');

export function ruleMatches(rule: ImportRule, prefix: PrefixKey): boolean {
  if (rule.exact === true) return rule.prefix === prefix;
  const len = prefixLength(prefix);
  if (len === 0) return false;
  if (!prefixContains(rule.prefix, prefix)) return false;
  return len >= (rule.ge ?? 0) && (rule.le === undefined || len <= rule.le);
}

export function rulesMatch(rules: readonly ImportRule[], prefix: PrefixKey): boolean {
  for (const r of rules) if (ruleMatches(r, prefix)) return true;
  return false;
}

/** A rule as the user wrote it, for `GET /config` and messages. */
export function formatRule(
  r: ImportRule,
  format: (p: PrefixKey) => string,
): Record<string, unknown> | string {
  if (r.le === undefined && r.ge === undefined && r.exact === undefined) return format(r.prefix);
  return { ...r, prefix: format(r.prefix) };
}
