import { parsePrefix, type PrefixKey } from '../../ip/prefix.js';

/** The key of a prefix a test knows to be valid; a typo in a test fails loudly instead of passing an Error on. */
export function key(text: string): PrefixKey {
  const k = parsePrefix(text);
  if (k instanceof Error) throw k;
  return k;
}
