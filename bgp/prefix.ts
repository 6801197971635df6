/**
 * Address families as BGP numbers them. Prefix keys and address text live in the project's leaf module
 * (`ip/prefix.ts`, `ip/address.ts`), shared with `routing/` and `daemon/`.
 */
import type { PrefixKey } from '../ip/prefix.js';
import { AFI_IPV4, AFI_IPV6 } from './wire/iana.js';

export type { PrefixKey } from '../ip/prefix.js';
/** IANA Address Family Identifiers (RFC 4760; IANA "Address Family Numbers"), defined in wire/iana.ts. */
export { AFI_IPV4, AFI_IPV6 };
export type Afi = typeof AFI_IPV4 | typeof AFI_IPV6;

export function prefixAfi(key: PrefixKey): Afi {
  return typeof key === 'number' ? AFI_IPV4 : AFI_IPV6;
}
