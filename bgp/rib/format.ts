/**
 * Path attributes as operators read them (the way `show bgp` prints them), for `RouteView`. The AS_PATH and
 * community texts are the codec's (`wire/as-path.ts`, `wire/attr-communities.ts`), so the CLI, the control
 * socket and the logs spell a route the same way.
 */
import type { RouteView } from '../api.js';
import { formatPrefix, type PrefixKey } from '../../ip/prefix.js';
import { formatAsPath } from '../wire/as-path.js';
import { formatOrigin } from '../wire/attr-basic.js';
import { formatCommunity, formatLargeCommunity } from '../wire/attr-communities.js';
import type { PathAttributes } from '../wire/types.js';
import type { Path } from './path.js';

export function formatAttributes(
  a: PathAttributes,
): Pick<RouteView, 'asPath' | 'origin' | 'localPref' | 'med' | 'communities' | 'largeCommunities'> {
  return {
    asPath: formatAsPath(a.asPath),
    origin: formatOrigin(a.origin),
    ...(a.localPref !== undefined ? { localPref: a.localPref } : {}),
    ...(a.med !== undefined ? { med: a.med } : {}),
    communities: (a.communities ?? []).map(formatCommunity),
    largeCommunities: (a.largeCommunities ?? []).map(formatLargeCommunity),
  };
}

/** One path as a `RouteView`; `age` in whole seconds when `now` and `since` are in milliseconds. */
export function pathView(
  prefix: PrefixKey,
  path: Path,
  opts: { nexthops?: readonly string[]; best: boolean; multipath: boolean; reason: string; now: number },
): RouteView {
  return {
    prefix: formatPrefix(prefix),
    // The FIB's set, each entry's preferred next hop (`global|link-local%local`, see fibNextHop, shows `global`).
    nexthops: opts.nexthops?.map((n) => n.split('|')[0]!) ?? (path.nextHop === '' ? [] : [path.nextHop]),
    peer: path.peer?.address ?? 'local',
    ...formatAttributes(path.attributes),
    best: opts.best,
    multipath: opts.multipath,
    reason: opts.reason,
    local: path.peer === null,
    age: Math.max(0, Math.floor((opts.now - path.since) / 1000)),
  };
}
