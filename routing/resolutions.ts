/**
 * Next-hop sets resolved once per set, not once per prefix: Want → the RouteShape to install, or why none
 * can be (per family), forgotten whenever the kernel's links, addresses or routes change.
 */
import type { Want } from './want.js';
import type { KernelState } from './kernel.js';
import type { NexthopRegistry } from './nexthops.js';
import type { RouteShape, ShapeTable } from './shape.js';
import { AF_INET, AF_INET6, Family, nexthopAlternatives, parseAddress } from './prefix.js';
import { gatewayFamily, type RouteNexthop } from './netlink/codec.js';
import { RTN } from './netlink/constants.js';

export class Resolutions {
  private readonly byFamily = new Map<number, Map<Want, RouteShape | string>>([
    [AF_INET, new Map()],
    [AF_INET6, new Map()],
  ]);
  private lastWant: Want | undefined;
  private lastFamily = 0;
  private last: RouteShape | string | undefined;

  constructor(
    private readonly kernel: KernelState,
    private readonly shapes: ShapeTable,
    private readonly metric: number,
    /** `as-given`: next hops are used as they are, without a device. */
    private readonly mode: 'kernel' | 'as-given',
  ) {}

  /** The shape for `want` in `family`, or the reasons none of its next hops can be used. */
  get(want: Want, family: Family, nexthops: NexthopRegistry | undefined): RouteShape | string {
    // A table's prefixes mostly share one next-hop set: the last answer is kept aside.
    if (want === this.lastWant && family === this.lastFamily) return this.last!;
    const cache = this.byFamily.get(family)!;
    let r = cache.get(want);
    if (r === undefined) cache.set(want, (r = this.resolve(want, family, nexthops)));
    this.lastWant = want;
    this.lastFamily = family;
    return (this.last = r);
  }

  forget(): void {
    for (const m of this.byFamily.values()) m.clear();
    this.lastWant = undefined;
    this.last = undefined;
  }

  forEachShape(fn: (s: RouteShape) => void): void {
    for (const m of this.byFamily.values()) for (const s of m.values()) if (typeof s !== 'string') fn(s);
  }

  private resolve(want: Want, family: Family, registry: NexthopRegistry | undefined): RouteShape | string {
    const nexthops: RouteNexthop[] = [];
    const reasons: string[] = [];
    for (const entry of want.nexthops) {
      // `global|link-local%zone`: the first alternative that resolves; the reasons of all when none does.
      const why: string[] = [];
      for (const text of nexthopAlternatives(entry)) {
        const r = this.resolveOne(text, family);
        if (typeof r === 'string') why.push(r);
        else {
          nexthops.push(r);
          why.length = 0;
          break;
        }
      }
      reasons.push(...why);
    }
    // ECMP entries that resolve to the same gateway and device are one next hop.
    const seen = new Set<string>();
    for (let i = nexthops.length - 1; i >= 0; i--) {
      const k = `${nexthops[i].gateway?.toString('hex')}@${nexthops[i].oif}`;
      if (seen.has(k)) nexthops.splice(i, 1);
      else seen.add(k);
    }
    if (!nexthops.length) return reasons.join('; ');
    // One next hop: through a nexthop object of ours. ECMP sets keep RTA_MULTIPATH.
    // The object's family is its gateway's (an IPv6 object for an IPv4 route via IPv6).
    const nhid =
      registry && nexthops.length === 1
        ? registry.for(gatewayFamily(family, nexthops[0].gateway), nexthops[0]).id
        : 0;
    return this.shapes.get(family, RTN.RTN_UNICAST, this.metric, nexthops, nhid);
  }

  private resolveOne(text: string, family: Family): RouteNexthop | string {
    const a = parseAddress(text);
    // RFC 8950: an IPv4 prefix may go through an IPv6 next hop (RTA_VIA, or an IPv6 nexthop object); the
    // kernel has no IPv6 route through an IPv4 gateway.
    if (a && a.family !== family && !(family === AF_INET && a.family === AF_INET6))
      return `next hop ${text} is an IPv4 address: an IPv6 prefix needs an IPv6 next hop`;
    if (this.mode === 'as-given')
      return a ? { gateway: a.addr, oif: 0, flags: 0, hops: 0 } : `not an IP address: ${text}`;
    const r = this.kernel.resolve(text);
    return r.ok ? r.nexthop : r.reason;
  }
}
