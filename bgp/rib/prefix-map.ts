/**
 * A `Map<PrefixKey, V>` that is fast for a million IPv4 prefixes.
 *
 * An IPv4 `PrefixKey` (`address * 64 + length`) is above 2^31, so V8 boxes it as a heap number, and a `Map`
 * keyed by heap numbers is about twice as slow as one keyed by small integers (each probe loads the boxed key).
 * Here IPv4 prefixes live in one map per prefix length keyed by the address as a signed 32-bit integer (a
 * small integer to V8); IPv6 keys (strings) in one more map. Iteration rebuilds the public keys.
 */
import type { PrefixKey } from '../../ip/prefix.js';

export class PrefixMap<V> {
  /** Index = prefix length 0..32, created on first use. */
  private readonly v4: (Map<number, V> | undefined)[] = new Array<Map<number, V> | undefined>(33).fill(
    undefined,
  );
  private readonly v6 = new Map<string, V>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(prefix: PrefixKey): V | undefined {
    if (typeof prefix === 'string') return this.v6.get(prefix);
    const address = Math.floor(prefix / 64); // cheaper than `prefix % 64` on a double
    return this.v4[prefix - address * 64]?.get(address | 0);
  }

  has(prefix: PrefixKey): boolean {
    if (typeof prefix === 'string') return this.v6.has(prefix);
    const address = Math.floor(prefix / 64);
    return this.v4[prefix - address * 64]?.has(address | 0) ?? false;
  }

  set(prefix: PrefixKey, value: V): this {
    let map: Map<number | string, V>;
    let key: number | string;
    if (typeof prefix === 'string') {
      map = this.v6 as Map<number | string, V>;
      key = prefix;
    } else {
      const address = Math.floor(prefix / 64);
      map = (this.v4[prefix - address * 64] ??= new Map<number, V>()) as Map<number | string, V>;
      key = address | 0;
    }
    const before = map.size;
    map.set(key, value);
    this.count += map.size - before;
    return this;
  }

  delete(prefix: PrefixKey): boolean {
    let gone: boolean;
    if (typeof prefix === 'string') gone = this.v6.delete(prefix);
    else {
      const address = Math.floor(prefix / 64);
      gone = this.v4[prefix - address * 64]?.delete(address | 0) ?? false;
    }
    if (gone) this.count--;
    return gone;
  }

  clear(): void {
    this.v4.fill(undefined);
    this.v6.clear();
    this.count = 0;
  }

  *entries(): IterableIterator<[PrefixKey, V]> {
    for (let len = 0; len <= 32; len++) {
      const map = this.v4[len];
      if (map === undefined) continue;
      for (const [address, value] of map) yield [(address >>> 0) * 64 + len, value];
    }
    yield* this.v6;
  }

  *keys(): IterableIterator<PrefixKey> {
    for (const [prefix] of this.entries()) yield prefix;
  }

  [Symbol.iterator](): IterableIterator<[PrefixKey, V]> {
    return this.entries();
  }

  /** Calls `fn` for every entry; faster than `entries()` (no iterator objects per entry). */
  forEach(fn: (value: V, prefix: PrefixKey) => void): void {
    for (let len = 0; len <= 32; len++) {
      const map = this.v4[len];
      if (map === undefined) continue;
      map.forEach((value, address) => fn(value, (address >>> 0) * 64 + len));
    }
    this.v6.forEach(fn);
  }
}
