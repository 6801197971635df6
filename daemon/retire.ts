/**
 * Make-before-break for node-to-node sessions that a change of roles removes (Kubernetes mode): when the
 * cluster switches from the full mesh to route reflectors, every node's mesh sessions to non-reflectors go,
 * and the routes they carried must then come through the reflectors. Removing them at once withdraws those
 * routes from the kernel until the reflectors have sent them (measured: every pod route of every node,
 * for tens of milliseconds). So a session removed while its Node still exists is *retired* instead:
 *
 *   kept, routes and all, until
 *     (a) every reflector session is Established and has sent End-of-RIB since, and
 *     (b) every prefix the retiring peer sent us and we accepted has a path through a session we keep,
 *   both holding for SETTLE_MS (the other end, checking the same on its side, gets the same reflected
 *   routes at about the same moment; the settle time covers that), then removed (Cease 6/3).
 *
 * While (a) fails (a reflector is down or still connecting) the session is kept: breaking it would cost
 * traffic and gain nothing. When (a) holds but (b) still fails after GIVE_UP_MS (a reflector that does not
 * reflect some prefix), the session is removed anyway, and the prefixes without another path are logged.
 *
 * A peer removed because its Node is gone, or an external peer removed from the config, goes at once.
 * Pure: `retireStep` takes what the daemon observed and the time, and says what to do.
 */

/** Both conditions must hold this long before the session is removed. */
export const SETTLE_MS = 1000;
/** With the reflectors up, a prefix still without another path after this long no longer holds it. */
export const GIVE_UP_MS = 60_000;

export interface Retiring {
  /** When the cluster stopped wanting the session. */
  readonly since: number;
  /** Since when (a) and (b) have both held, if they do. */
  readonly readySince?: number;
  /** Since when (a) has held, if it does. */
  readonly reflectorsUpSince?: number;
}

export interface RetireObservation {
  /** (a): every reflector session Established, with End-of-RIB since. */
  readonly reflectorsUp: boolean;
  /** (b) fails for these prefixes (text, for the log): accepted from the peer, no path through a kept one. */
  readonly uncovered: readonly string[];
}

export type RetireStep =
  | { readonly action: 'keep'; readonly state: Retiring }
  | {
      readonly action: 'remove';
      readonly why: 'reflected' | 'gave-up';
      readonly uncovered: readonly string[];
    };

export function retireStep(state: Retiring, seen: RetireObservation, now: number): RetireStep {
  if (!seen.reflectorsUp) return { action: 'keep', state: { since: state.since } };
  const upSince = state.reflectorsUpSince ?? now;
  if (seen.uncovered.length > 0) {
    if (now - upSince >= GIVE_UP_MS) return { action: 'remove', why: 'gave-up', uncovered: seen.uncovered };
    return { action: 'keep', state: { since: state.since, reflectorsUpSince: upSince } };
  }
  const readySince = state.readySince ?? now;
  if (now - readySince >= SETTLE_MS) return { action: 'remove', why: 'reflected', uncovered: [] };
  return { action: 'keep', state: { since: state.since, reflectorsUpSince: upSince, readySince } };
}

/**
 * Make-before-break for a node that becomes a route reflector (or changes its cluster id). RFC 4456 §8: a
 * route whose CLUSTER_LIST holds our own CLUSTER_ID is ignored. A second reflector of the same cluster therefore
 * drops, the moment it takes the id, every route the first one reflected to it — which until its own client
 * sessions are up and have sent their tables are its only paths to the other nodes' pods (measured: its kernel
 * lost two pod routes and a ping while the switch ran). So the new id is taken only once every client session
 * is Established and has sent End-of-RIB, or after CLUSTER_ID_GIVE_UP_MS; leaving the reflector role (no id) is
 * taken at once.
 */
export const CLUSTER_ID_GIVE_UP_MS = 30_000;

export interface PendingClusterId {
  readonly clusterId: string | undefined;
  readonly since: number;
}

export function clusterIdStep(
  pending: PendingClusterId,
  clientsUp: boolean,
  now: number,
): 'apply' | 'wait' | 'give-up' {
  if (pending.clusterId === undefined || clientsUp) return 'apply';
  return now - pending.since >= CLUSTER_ID_GIVE_UP_MS ? 'give-up' : 'wait';
}
