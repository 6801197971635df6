/**
 * THE path-attribute table: type code → codec (BIRD's `bgp_attr_table[]`). The dispatcher in attributes.ts
 * does the generic checks once and then calls the row.
 */
import type { AttributeCodec } from './attr-common.js';
import {
  AGGREGATOR,
  AS4_AGGREGATOR,
  AS4_PATH,
  AS_PATH,
  ATOMIC_AGGREGATE,
  LOCAL_PREF,
  MULTI_EXIT_DISC,
  NEXT_HOP,
  ORIGIN,
} from './attr-basic.js';
import {
  CLUSTER_LIST,
  COMMUNITIES,
  EXTENDED_COMMUNITIES,
  LARGE_COMMUNITY,
  ORIGINATOR_ID,
} from './attr-communities.js';
import { MP_REACH_NLRI, MP_UNREACH_NLRI } from './attr-mp.js';
import * as iana from './iana.js';

export const ATTRIBUTE_TABLE: Readonly<Record<number, AttributeCodec>> = {
  [iana.ATTR_ORIGIN]: ORIGIN, // RFC 4271 §5.1.1
  [iana.ATTR_AS_PATH]: AS_PATH, // RFC 4271 §5.1.2
  [iana.ATTR_NEXT_HOP]: NEXT_HOP, // RFC 4271 §5.1.3
  [iana.ATTR_MULTI_EXIT_DISC]: MULTI_EXIT_DISC, // RFC 4271 §5.1.4
  [iana.ATTR_LOCAL_PREF]: LOCAL_PREF, // RFC 4271 §5.1.5
  [iana.ATTR_ATOMIC_AGGREGATE]: ATOMIC_AGGREGATE, // RFC 4271 §5.1.6
  [iana.ATTR_AGGREGATOR]: AGGREGATOR, // RFC 4271 §5.1.7
  [iana.ATTR_COMMUNITIES]: COMMUNITIES, // RFC 1997
  [iana.ATTR_ORIGINATOR_ID]: ORIGINATOR_ID, // RFC 4456 §8
  [iana.ATTR_CLUSTER_LIST]: CLUSTER_LIST, // RFC 4456 §8
  [iana.ATTR_MP_REACH_NLRI]: MP_REACH_NLRI, // RFC 4760 §3
  [iana.ATTR_MP_UNREACH_NLRI]: MP_UNREACH_NLRI, // RFC 4760 §4
  [iana.ATTR_EXTENDED_COMMUNITIES]: EXTENDED_COMMUNITIES, // RFC 4360
  [iana.ATTR_AS4_PATH]: AS4_PATH, // RFC 6793 §3
  [iana.ATTR_AS4_AGGREGATOR]: AS4_AGGREGATOR, // RFC 6793 §3
  [iana.ATTR_LARGE_COMMUNITY]: LARGE_COMMUNITY, // RFC 8092
};
