/**
 * Wants interned: the RIB hands over the same next-hop array for every prefix with the same set, so a
 * million prefixes through two routers share two Want objects, found by the array's identity (a WeakMap)
 * before any string is built.
 */
import type { Want } from './entry.js';

export class WantTable {
  /** Next-hop arrays as handed over → their interned Want (null: an empty set). */
  private readonly byArray = new WeakMap<readonly string[], Want | null>();
  private readonly byId = new Map<string, Want>();

  constructor(private readonly metric: number) {}

  /** The Want for routing via `nexthops` (null for an empty set: no route). */
  unicast(nexthops: readonly string[]): Want | null {
    let w = this.byArray.get(nexthops);
    if (w !== undefined) return w;
    const list = [...new Set(nexthops)].sort();
    if (list.length === 0) w = null;
    else
      w = this.intern(`unicast|${list.join(',')}`, { kind: 'unicast', nexthops: list, metric: this.metric });
    this.byArray.set(nexthops, w);
    return w;
  }

  /** The Want of a blackhole/unreachable route with this metric. */
  reject(kind: 'blackhole' | 'unreachable', metric: number): Want {
    return this.intern(`${kind}|${metric}`, { kind, nexthops: [], metric });
  }

  private intern(id: string, want: Want): Want {
    const w = this.byId.get(id);
    if (w) return w;
    this.byId.set(id, want);
    return want;
  }
}
