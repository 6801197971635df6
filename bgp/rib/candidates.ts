/**
 * The candidate paths of one prefix, as a shared value.
 *
 * A prefix with one candidate stores that `Path`. A prefix with several stores a `CandidateSet`: an immutable
 * list of paths with its decision computed once. Sets are reached through cached transitions ("this set plus
 * path P", "this set minus path P"), so when two peers send the same million prefixes in UPDATEs of a thousand,
 * the million prefixes share about a thousand sets: still no per-prefix object, and the decision runs once per
 * set instead of once per prefix. The caches are WeakMaps keyed by paths, so sets whose paths are gone are
 * collected with them.
 */
import { decide, type DecisionStep } from './decision.js';
import { Path } from './path.js';

/** What a prefix stores: its only candidate, or the shared set of its candidates. */
export type Slot = Path | CandidateSet;

/** Interns a sorted next-hop list (see `LocRib.internNexthops`). */
export type NexthopInterner = (sorted: readonly string[]) => readonly string[];

export class CandidateSet {
  readonly best: Path | undefined;
  readonly multipath: readonly Path[];
  readonly step: DecisionStep;
  /** The ECMP next-hop set to install, or null (no eligible path, or the best is ours). */
  readonly fib: readonly string[] | null;
  /** Cached transitions to the sets one path away. */
  added: WeakMap<Path, CandidateSet> | undefined = undefined;
  removed: WeakMap<Path, Slot> | undefined = undefined;

  constructor(
    readonly paths: readonly Path[],
    intern: NexthopInterner,
  ) {
    const d = decide(paths);
    this.best = d?.best;
    this.multipath = d?.multipath ?? [];
    this.step = d?.step ?? 'only-path';
    this.fib = d === undefined || d.best.local ? null : multipathNexthops(d.multipath, intern);
  }
}

function multipathNexthops(multipath: readonly Path[], intern: NexthopInterner): readonly string[] {
  if (multipath.length === 1) return multipath[0]!.fib ?? intern([multipath[0]!.nextHop]);
  return intern([...new Set(multipath.map((p) => p.fib?.[0] ?? p.nextHop))].sort());
}

export function slotBest(slot: Slot | undefined): Path | undefined {
  if (slot === undefined) return undefined;
  if (slot instanceof Path) return slot.ineligible === undefined ? slot : undefined;
  return slot.best;
}

export function slotFib(slot: Slot | undefined): readonly string[] | null {
  return slot === undefined ? null : slot.fib;
}

export function slotPaths(slot: Slot | undefined): readonly Path[] {
  if (slot === undefined) return [];
  return slot instanceof Path ? slot.alone : slot.paths;
}

/** The cached moves between slots. */
export class SlotTransitions {
  /** For a single-path slot A: A plus B. */
  private readonly pairs = new WeakMap<Path, WeakMap<Path, CandidateSet>>();

  constructor(private readonly intern: NexthopInterner) {}

  /** `slot` with `path` added (the caller has removed any other path from the same peer). */
  with(slot: Slot | undefined, path: Path): Slot {
    if (slot === undefined) return path;
    let cache: WeakMap<Path, CandidateSet>;
    if (slot instanceof Path) {
      let c = this.pairs.get(slot);
      if (c === undefined) this.pairs.set(slot, (c = new WeakMap()));
      cache = c;
    } else cache = slot.added ??= new WeakMap();
    let next = cache.get(path);
    if (next === undefined)
      cache.set(path, (next = new CandidateSet([...slotPaths(slot), path], this.intern)));
    return next;
  }

  /** `slot` without `path`; undefined when nothing is left. */
  without(slot: Slot | undefined, path: Path): Slot | undefined {
    if (slot === undefined || slot === path) return undefined;
    if (slot instanceof Path) return slot;
    const cache = (slot.removed ??= new WeakMap());
    let next = cache.get(path);
    if (next === undefined) {
      const rest = slot.paths.filter((p) => p !== path);
      next = rest.length === 1 ? rest[0]! : new CandidateSet(rest, this.intern);
      cache.set(path, next);
    }
    return next;
  }
}
