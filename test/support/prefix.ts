/**
 * Prefix keys for tests: the one way a test writes a prefix key, through the project's own parser (ip/), so a
 * key is never computed by hand (`address * 64 + length`) where the encoding could drift from the real one.
 */
import { parsePrefix, type PrefixKey } from '../../ip/prefix.js';

/** The key of a prefix a test knows to be valid; a typo in a test fails loudly instead of passing an Error on. */
export function key(text: string): PrefixKey {
  const k = parsePrefix(text);
  if (k instanceof Error) throw k;
  return k;
}

/** `key` for an IPv4 prefix, typed as the number an IPv4 key is. */
export function key4(text: string): number {
  const k = key(text);
  if (typeof k !== 'number') throw new Error(`${text} is not an IPv4 prefix`);
  return k;
}
