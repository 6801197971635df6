/** Path attributes as operators read them (the way `show bgp` prints them), for `RouteView`. */
import type { RouteView } from '../api.js';
import { formatPrefix, type PrefixKey } from '../../ip/prefix.js';
import type { AsPathSegment, PathAttributes } from '../wire/types.js';
import type { Path } from './path.js';

const ORIGIN_WORDS = ['igp', 'egp', 'incomplete'] as const;

/** `65001 65002 {65003,65004}`; confederation sequences `(65010 65011)`, confederation sets `[65012,65013]`. */
export function formatAsPath(segments: readonly AsPathSegment[]): string {
  return segments
    .map((seg) => {
      switch (seg.type) {
        case 1:
          return `{${seg.asns.join(',')}}`;
        case 2:
          return seg.asns.join(' ');
        case 3:
          return `(${seg.asns.join(' ')})`;
        case 4:
          return `[${seg.asns.join(',')}]`;
      }
    })
    .filter((s) => s !== '')
    .join(' ');
}

/** RFC 1997 community as `high:low`. */
export function formatCommunity(c: number): string {
  return `${Math.floor(c / 65536)}:${c % 65536}`;
}

export function formatAttributes(
  a: PathAttributes,
): Pick<RouteView, 'asPath' | 'origin' | 'localPref' | 'med' | 'communities' | 'largeCommunities'> {
  return {
    asPath: formatAsPath(a.asPath),
    origin: ORIGIN_WORDS[a.origin ?? 0] ?? 'incomplete',
    ...(a.localPref !== undefined ? { localPref: a.localPref } : {}),
    ...(a.med !== undefined ? { med: a.med } : {}),
    communities: (a.communities ?? []).map(formatCommunity),
    largeCommunities: (a.largeCommunities ?? []).map((l) => l.join(':')),
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
    nexthops: opts.nexthops ?? (path.nextHop === '' ? [] : [path.nextHop]),
    peer: path.peer?.address ?? 'local',
    ...formatAttributes(path.attributes),
    best: opts.best,
    multipath: opts.multipath,
    reason: opts.reason,
    local: path.peer === null,
    age: Math.max(0, Math.floor((opts.now - path.since) / 1000)),
  };
}
