/**
 * Wants interned: the RIB hands over the same next-hop array for every prefix with the same set, so a
 * million prefixes through two routers share two Want objects, found by the array's identity (a WeakMap)
 * before any string is built. Wants are never forgotten: there are as many as distinct next-hop sets.
 */
import type { Want } from './want.js';

export class WantTable {
  /** Next-hop arrays as handed over → their interned Want (null: an empty set). */
  private readonly byArray = new WeakMap<readonly string[], Want | null>();
  private readonly byName = new Map<string, Want>();
  private readonly byId: Want[] = [];

  constructor(private readonly metric: number) {}

  /** The Want for routing via `nexthops` (null for an empty set: no route). */
  unicast(nexthops: readonly string[]): Want | null {
    let w = this.byArray.get(nexthops);
    if (w !== undefined) return w;
    const list = [...new Set(nexthops)].sort();
    if (list.length === 0) w = null;
    else w = this.intern(`unicast|${list.join(',')}`, 'unicast', list, this.metric);
    this.byArray.set(nexthops, w);
    return w;
  }

  /** The Want of a blackhole/unreachable route with this metric. */
  reject(kind: 'blackhole' | 'unreachable', metric: number): Want {
    return this.intern(`${kind}|${metric}`, kind, [], metric);
  }

  /** The Want with this id (≥ 1). */
  get(id: number): Want {
    return this.byId[id - 1];
  }

  private intern(name: string, kind: Want['kind'], nexthops: readonly string[], metric: number): Want {
    let w = this.byName.get(name);
    if (w) return w;
    w = { id: this.byId.length + 1, kind, nexthops, metric };
    this.byName.set(name, w);
    this.byId.push(w);
    return w;
  }
}
