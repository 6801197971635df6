/*
 * RFC 4271 §9.1 — the Decision Process.
 *
 *   Phase 1 (§9.1.1) computes a degree of preference for each route: LOCAL_PREF for internal routes, a policy
 *   value for external ones. Phase 2 (§9.1.2) picks, per destination, the route with the highest degree of
 *   preference among the routes whose NEXT_HOP is resolvable and whose AS_PATH does not contain our own AS;
 *   ties are broken by §9.1.2.2:
 *     a) the fewest AS numbers in AS_PATH (an AS_SET counts as 1);
 *     b) the lowest ORIGIN (IGP < EGP < INCOMPLETE);
 *     c) the lowest MULTI_EXIT_DISC, compared only among routes from the same neighbouring AS (the first AS
 *        of the AS_PATH); a missing MED counts as the lowest value;
 *     d) a route learned by eBGP over one learned by iBGP;
 *     e) the lowest interior cost to the NEXT_HOP;
 *     f) the lowest BGP Identifier of the advertising speaker;
 *     g) the lowest peer address.
 *   Phase 3 (§9.1.3) puts the chosen routes into the Adj-RIBs-Out.
 *
 * Ours, where it differs or adds:
 *   - Degree of preference: LOCAL_PREF for iBGP paths (100 when absent), 100 for every eBGP path (no policy
 *     sets it on import). Then routes we originate beat learned ones (step "local"), as BIRD and FRR do.
 *   - Confederation segments (RFC 5065) count 0 in the AS_PATH length.
 *   - MED is compared only between paths from the same neighbouring AS, missing = 0. Because that comparison
 *     is not transitive, the result would depend on arrival order; we make it order-independent as FRR's
 *     `bgp deterministic-med` does: first the best of each neighbouring-AS group, then the best of those.
 *   - e) IGP cost: this speaker has no IGP; every next hop counts as cost 0 and the step never decides. It is
 *     kept as a named step so the list matches the RFC.
 *   - f) uses ORIGINATOR_ID instead of the BGP Identifier when present (RFC 4456 §9), then the shortest
 *     CLUSTER_LIST wins (RFC 4456 §9) before g).
 *   - Next hops are not checked for resolvability here: the FIB layer resolves them (or reports them
 *     unresolvable). Ineligible paths (AS loop, ORIGINATOR_ID or CLUSTER_LIST loop, refused by the import
 *     policy) never take part but stay visible with their reason.
 *   - Multipath (ECMP): the eligible paths equal to the best through the "eBGP over iBGP" step (same
 *     LOCAL_PREF, AS_PATH length, ORIGIN, MED, neighbouring AS and eBGP/iBGP kind) form the ECMP set, as
 *     FRR's `maximum-paths` / `maximum-paths ibgp` do by default. A local best path is never multipath.
 */
import type { IneligibleReason, Path } from './path.js';

/** The named steps, in order; the index of each is what `comparePaths` returns. */
export const DECISION_STEPS = [
  'only-path',
  'local-pref',
  'local',
  'as-path-length',
  'origin',
  'med',
  'ebgp-over-ibgp',
  'igp-cost',
  'router-id',
  'cluster-list-length',
  'peer-address',
] as const;
export type DecisionStep = (typeof DECISION_STEPS)[number];

const STEP_LOCAL_PREF = 1;
const STEP_LOCAL = 2;
const STEP_AS_PATH = 3;
const STEP_ORIGIN = 4;
const STEP_MED = 5;
const STEP_EBGP = 6;
const STEP_ROUTER_ID = 8;
const STEP_CLUSTER_LIST = 9;
const STEP_PEER_ADDRESS = 10;

/**
 * Compare two eligible paths: > 0 when `a` is better, < 0 when `b` is, 0 when neither (the same path). The
 * magnitude is the index in `DECISION_STEPS` of the step that decided. No allocation: this runs per prefix.
 */
export function comparePaths(a: Path, b: Path): number {
  if (a.localPref !== b.localPref) return a.localPref > b.localPref ? STEP_LOCAL_PREF : -STEP_LOCAL_PREF;
  if (a.local !== b.local) return a.local ? STEP_LOCAL : -STEP_LOCAL;
  if (a.asPathLength !== b.asPathLength)
    return a.asPathLength < b.asPathLength ? STEP_AS_PATH : -STEP_AS_PATH;
  if (a.origin !== b.origin) return a.origin < b.origin ? STEP_ORIGIN : -STEP_ORIGIN;
  if (a.neighbourAs === b.neighbourAs && a.med !== b.med) return a.med < b.med ? STEP_MED : -STEP_MED;
  if (a.ebgp !== b.ebgp) return a.ebgp ? STEP_EBGP : -STEP_EBGP;
  // igp-cost: no IGP, every next hop costs 0 — never decides.
  if (a.routerId !== b.routerId) return a.routerId < b.routerId ? STEP_ROUTER_ID : -STEP_ROUTER_ID;
  if (a.clusterListLength !== b.clusterListLength)
    return a.clusterListLength < b.clusterListLength ? STEP_CLUSTER_LIST : -STEP_CLUSTER_LIST;
  if (a.peerKey !== b.peerKey) return a.peerKey < b.peerKey ? STEP_PEER_ADDRESS : -STEP_PEER_ADDRESS;
  return 0;
}

export interface Decision {
  readonly best: Path;
  /** The ECMP set, best first; `best.alone` when the best has no equal. */
  readonly multipath: readonly Path[];
  /** The step that set the best apart from the strongest other candidate ("only-path" when alone). */
  readonly step: DecisionStep;
}

/** Whether `p` may share forwarding with `best` (equal through the eBGP-over-iBGP step, same neighbour AS). */
export function multipathEqual(best: Path, p: Path): boolean {
  return (
    !p.local &&
    !best.local &&
    p.localPref === best.localPref &&
    p.asPathLength === best.asPathLength &&
    p.origin === best.origin &&
    p.neighbourAs === best.neighbourAs &&
    p.med === best.med &&
    p.ebgp === best.ebgp
  );
}

/** The best of each neighbouring-AS group (deterministic MED), in first-seen order. */
function groupWinners(paths: readonly Path[]): Path[] {
  const winners: Path[] = [];
  for (const p of paths) {
    if (p.ineligible !== undefined) continue;
    let i = 0;
    while (i < winners.length && winners[i]!.neighbourAs !== p.neighbourAs) i++;
    if (i === winners.length) winners.push(p);
    else if (comparePaths(p, winners[i]!) > 0) winners[i] = p;
  }
  return winners;
}

/** Run the decision over the candidates of one prefix; undefined when none is eligible. */
export function decide(paths: readonly Path[]): Decision | undefined {
  const winners = groupWinners(paths);
  if (winners.length === 0) return undefined;
  let best = winners[0]!;
  for (let i = 1; i < winners.length; i++) if (comparePaths(winners[i]!, best) > 0) best = winners[i]!;
  let step = 0;
  let multipath: Path[] | undefined;
  for (const p of paths) {
    if (p === best || p.ineligible !== undefined) continue;
    if (p.neighbourAs === best.neighbourAs || winners.includes(p))
      step = Math.max(step, comparePaths(best, p));
    if (multipathEqual(best, p)) (multipath ??= [best]).push(p);
  }
  return { best, multipath: multipath ?? best.alone, step: DECISION_STEPS[step]! };
}

/** Where one candidate stands after the decision. */
export type Verdict =
  | { readonly status: 'best'; readonly step: DecisionStep }
  | { readonly status: 'lost'; readonly step: DecisionStep }
  | { readonly status: 'ineligible'; readonly reason: IneligibleReason };

/**
 * Why each candidate is where it is (parallel to `paths`): the best with its deciding step; each loser with
 * the step where it lost — to the best, or to the best of its own neighbouring AS when MED put it out first
 * (deterministic MED); the ineligible with their reason.
 */
export function explain(paths: readonly Path[], decision: Decision | undefined): Verdict[] {
  const winners = groupWinners(paths);
  return paths.map((p): Verdict => {
    if (p.ineligible !== undefined) return { status: 'ineligible', reason: p.ineligible };
    if (decision === undefined || p === decision.best)
      return { status: 'best', step: decision?.step ?? 'only-path' };
    const best = decision.best;
    let against = best;
    if (p.neighbourAs !== best.neighbourAs && !winners.includes(p))
      against = winners.find((w) => w.neighbourAs === p.neighbourAs) ?? best;
    return { status: 'lost', step: DECISION_STEPS[Math.abs(comparePaths(against, p))]! };
  });
}

/** "best: local-pref", "lost: as-path-length", "ineligible: as-path-loop". */
export function formatVerdict(v: Verdict): string {
  return v.status === 'ineligible' ? `ineligible: ${v.reason}` : `${v.status}: ${v.step}`;
}
