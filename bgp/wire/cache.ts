/**
 * Attribute interning. `AttributeCache` maps the raw octets of an UPDATE's attribute section (minus
 * MP_REACH_NLRI / MP_UNREACH_NLRI, which carry per-message NLRI) plus the context flags that change their
 * meaning (4-octet AS, iBGP) to the decoded, frozen `PathAttributes` and the RFC 7606 outcome of decoding
 * them. A hit skips attribute decoding entirely, and every prefix of every UPDATE with the same attribute
 * octets shares ONE object, so the RIB compares attributes with `===`.
 *
 * Bound: two generations (a cheap LRU approximation). New entries go to the young map; when it holds
 * `maxEntries / 2`, it becomes the old map and the previous old map is dropped; a hit in the old map is promoted.
 * So at most `maxEntries` entries (default 100,000) are held, and the ones in use survive a turnover. Use one
 * cache per peer (or per set of peers with the same context flags; the flags are part of the key anyway).
 *
 * Also: wire hints. A decoded UpdateMessage remembers, in a WeakMap, the order its attributes arrived in (when
 * not ascending) and which used the Extended Length flag without needing it, so re-encoding a received UPDATE
 * is byte-exact. Messages built by other code have no hints and are encoded in type-code order with Extended
 * Length only past 255 octets.
 */
import type { AttributeIssue, PathAttributes } from './types.js';
import type { BgpError } from './errors.js';

/** The cached result of decoding one attribute section. */
export interface DecodedAttributes {
  /** Null when the section held nothing we keep. */
  readonly attributes: PathAttributes | null;
  /** Attribute-discard and treat-as-withdraw issues raised while decoding. */
  readonly issues: readonly AttributeIssue[];
  /** The strongest RFC 7606 action asked for: 0 none, 1 discard, 2 treat-as-withdraw, 3 session reset. */
  readonly worst: number;
  /** Set when `worst` is 3. */
  readonly reset?: BgpError;
  /** Every treat-as-withdraw came from NEXT_HOP (which only matters when the IPv4 NLRI field is used). */
  readonly withdrawOnlyForNextHop: boolean;
  readonly hasOrigin: boolean;
  readonly hasAsPath: boolean;
  readonly hasNextHop: boolean;
}

export class AttributeCache {
  private young = new Map<string, DecodedAttributes>();
  private old = new Map<string, DecodedAttributes>();
  hits = 0;
  misses = 0;

  constructor(readonly maxEntries = 100_000) {}

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: string): DecodedAttributes | undefined {
    let entry = this.young.get(key);
    if (entry === undefined) {
      entry = this.old.get(key);
      if (entry === undefined) {
        this.misses++;
        return undefined;
      }
      this.old.delete(key);
      this.put(key, entry);
    }
    this.hits++;
    return entry;
  }

  put(key: string, entry: DecodedAttributes): void {
    if (this.young.size >= Math.max(1, this.maxEntries >> 1)) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, entry);
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }
}

/** How a decoded attribute object looked on the wire (see the file comment). */
export interface WireHints {
  /** Type codes in received order (MP_REACH_NLRI / MP_UNREACH_NLRI included where they were). */
  readonly order: readonly number[];
  /** Types sent with Extended Length although their value fitted in 255 octets. */
  readonly extended: readonly number[];
  /**
   * IPv4 unicast carried in MP attributes although the classic fields would do: bit 1 MP_REACH_NLRI (the last
   * IPv4 unicast reach block), bit 2 MP_UNREACH_NLRI (the last IPv4 unicast withdrawn block).
   */
  readonly ipv4InMp?: number;
}

const hints = new WeakMap<object, WireHints>();

export function setWireHints(message: object, h: WireHints): void {
  hints.set(message, h);
}

export function wireHints(message: object): WireHints | undefined {
  return hints.get(message);
}
