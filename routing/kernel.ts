/**
 * What nodebgp knows of the kernel besides its own routes: links (up or not), addresses (the connected
 * subnets) and the other programs' routes, kept from dumps and notifications. The next-hop resolver works
 * on it:
 *
 * 1. a link-local IPv6 next hop needs its interface, which must be up: named (`fe80::1%eth0`), or given by
 *    one of our addresses (`fe80::1%10.0.0.2`: the interface holding 10.0.0.2 — BGP knows a session's local
 *    address, not its interface);
 * 2. a next hop inside the subnet of an address on an up interface is *connected*: gateway + oif;
 * 3. otherwise it is resolved *recursively* (BIRD's `gateway recursive`): longest match among the other
 *    routes of the main table and ours (never our own routes, never a default route — as FRR without
 *    `resolve-via-default`), whose gateway must itself resolve, or which is a device route on an up link;
 * 4. otherwise it is unresolvable, with the reason.
 */
import { AddrMsg, LinkMsg, RouteMsg, RouteNexthop } from './netlink/codec.js';
import { IFF_UP, IFF_LOWER_UP, RTN } from './netlink/constants.js';
import { AF_INET, AF_INET6, Family, PrefixKey, encodeKey, parseAddress } from './prefix.js';
import { formatAddress, isLinkLocal6 } from '../ip/address.js';
import { maskedCopy as maskAddress, prefixContainsAddress } from '../ip/prefix.js';

export interface Link {
  index: number;
  name: string;
  flags: number;
  operstate: string;
}

export interface Address {
  family: number;
  index: number;
  prefixLen: number;
  /** The interface address (IFA_LOCAL where present, else IFA_ADDRESS). */
  local: Buffer;
  /** The subnet: IFA_ADDRESS masked (on point-to-point links, the peer's prefix). */
  subnet: Buffer;
}

export type Resolution = { ok: true; nexthop: RouteNexthop } | { ok: false; reason: string };

const MAX_DEPTH = 4;

export class KernelState {
  readonly links = new Map<number, Link>();
  private addrs: Address[] = [];
  /** Other routes, per family, per prefix length: masked address (hex) → routes. */
  private readonly routes = new Map<number, Map<string, RouteMsg[]>[]>();

  /** Other programs' routes in our table, any type: prefix → metric → protocol (a write there would replace them). */
  private readonly occupied = new Map<PrefixKey, Map<number, number>>();

  constructor(private readonly table: number) {}

  linkUp(index: number): boolean {
    const l = this.links.get(index);
    return !!l && (l.flags & IFF_UP) !== 0 && (l.flags & IFF_LOWER_UP) !== 0;
  }

  linkByName(name: string): Link | undefined {
    for (const l of this.links.values()) if (l.name === name) return l;
    return undefined;
  }

  /** The link holding `text` as one of its addresses (a zone given as an address), if it is one. */
  private linkOfAddress(text: string): Link | undefined {
    const p = parseAddress(text);
    if (!p || p.zone !== undefined) return undefined;
    const a = this.addrs.find((x) => x.family === p.family && x.local.equals(p.addr));
    return a ? this.links.get(a.index) : undefined;
  }

  /** Apply RTM_NEWLINK / RTM_DELLINK; returns true if the link's usability changed. */
  applyLink(m: LinkMsg, deleted: boolean): boolean {
    const before = this.linkUp(m.index);
    if (deleted) this.links.delete(m.index);
    else {
      const old = this.links.get(m.index);
      this.links.set(m.index, {
        index: m.index,
        flags: m.flags,
        name: m.name ?? old?.name ?? '',
        operstate: m.operstate ?? old?.operstate ?? 'unknown',
      });
    }
    return before !== this.linkUp(m.index) || deleted;
  }

  applyAddr(m: AddrMsg, deleted: boolean): void {
    const addr = m.local ?? m.address;
    if (!addr) return;
    const subnet = maskAddress(m.address ?? addr, m.prefixLen);
    this.addrs = this.addrs.filter(
      (a) =>
        !(
          a.index === m.index &&
          a.family === m.family &&
          a.local.equals(addr) &&
          a.prefixLen === m.prefixLen
        ),
    );
    if (!deleted)
      this.addrs.push({ family: m.family, index: m.index, prefixLen: m.prefixLen, local: addr, subnet });
  }

  /** A cheap identity of the other routes (changes when any of them does): decides whether to re-resolve. */
  fingerprint(): string {
    const parts: string[] = [];
    for (const [family, byLen] of this.routes) {
      byLen.forEach((m, len) => {
        for (const [k, list] of m)
          for (const r of list)
            parts.push(
              `${family}|${k}/${len}|${r.table}|${r.priority}|${r.nexthops.map((n) => `${n.gateway?.toString('hex')}@${n.oif}`).join(',')}`,
            );
      });
    }
    return parts.sort().join(';');
  }

  clearRoutes(): void {
    this.routes.clear();
    this.occupied.clear();
  }

  /** The protocol of another program's route at exactly this prefix and metric in our table, if any. */
  occupiedBy(key: PrefixKey, priority: number): number | undefined {
    return this.occupied.size === 0 ? undefined : this.occupied.get(key)?.get(priority);
  }

  /** Apply another program's route (never one of ours). Only the main table and ours matter. */
  applyRoute(r: RouteMsg, deleted: boolean): boolean {
    if (r.table === this.table && (r.family === AF_INET || r.family === AF_INET6)) {
      const k = encodeKey(r.family, r.dst ?? Buffer.alloc(r.family === AF_INET ? 4 : 16), r.dstLen);
      let byMetric = this.occupied.get(k);
      if (!deleted) {
        if (!byMetric) this.occupied.set(k, (byMetric = new Map()));
        byMetric.set(r.priority ?? 0, r.protocol);
      } else if (byMetric) {
        byMetric.delete(r.priority ?? 0);
        if (byMetric.size === 0) this.occupied.delete(k);
      }
    }
    if (r.table !== 254 && r.table !== this.table) return false;
    if (r.type !== RTN.RTN_UNICAST || r.dstLen === 0) return false;
    let byLen = this.routes.get(r.family);
    if (!byLen) this.routes.set(r.family, (byLen = []));
    const m = (byLen[r.dstLen] ??= new Map());
    const k = maskAddress(r.dst ?? Buffer.alloc(r.family === AF_INET ? 4 : 16), r.dstLen).toString('hex');
    const same = (x: RouteMsg): boolean =>
      x.table === r.table && x.priority === r.priority && x.tos === r.tos;
    const list = (m.get(k) ?? []).filter((x) => !same(x));
    if (!deleted) list.push(r);
    if (list.length) m.set(k, list);
    else m.delete(k);
    return true;
  }

  addresses(): readonly Address[] {
    return this.addrs;
  }

  /** The connected subnet (longest) on an up link that contains `addr`. */
  connected(family: number, addr: Buffer): Address | undefined {
    let best: Address | undefined;
    for (const a of this.addrs) {
      if (a.family !== family || !this.linkUp(a.index)) continue;
      const max = family === AF_INET ? 32 : 128;
      if (a.prefixLen === max && !a.subnet.equals(addr)) continue;
      if (a.local.equals(addr)) continue;
      if (prefixContainsAddress(a.subnet, a.prefixLen, addr) && (!best || a.prefixLen > best.prefixLen))
        best = a;
    }
    return best;
  }

  /** Longest-match among the other routes (lowest metric on a tie). */
  lookup(family: number, addr: Buffer): RouteMsg | undefined {
    const byLen = this.routes.get(family);
    if (!byLen) return undefined;
    for (let len = byLen.length - 1; len >= 1; len--) {
      const m = byLen[len];
      if (!m || m.size === 0) continue;
      const list = m.get(maskAddress(addr, len).toString('hex'));
      if (list?.length) return list.reduce((a, b) => ((a.priority ?? 0) <= (b.priority ?? 0) ? a : b));
    }
    return undefined;
  }

  resolve(text: string): Resolution {
    const p = parseAddress(text);
    if (!p) return { ok: false, reason: `not an IP address: ${text}` };
    if (p.family === 10 && isLinkLocal6(p.addr)) {
      if (!p.zone)
        return { ok: false, reason: `link-local next hop ${text} needs its interface (${text}%eth0)` };
      const l = this.linkByName(p.zone) ?? this.linkOfAddress(p.zone);
      if (!l) return { ok: false, reason: `no interface ${p.zone}` };
      if (!this.linkUp(l.index)) return { ok: false, reason: `interface ${p.zone} is down` };
      return { ok: true, nexthop: { gateway: p.addr, oif: l.index, flags: 0, hops: 0 } };
    }
    return this.resolveAddr(p.family, p.addr, 0, text);
  }

  private resolveAddr(family: Family, addr: Buffer, depth: number, text: string): Resolution {
    const c = this.connected(family, addr);
    if (c) return { ok: true, nexthop: { gateway: addr, oif: c.index, flags: 0, hops: 0 } };
    if (depth >= MAX_DEPTH)
      return { ok: false, reason: `next hop ${text}: recursion deeper than ${MAX_DEPTH}` };
    const r = this.lookup(family, addr);
    if (!r) return { ok: false, reason: `next hop ${text} is not reachable (no connected subnet, no route)` };
    for (const nh of r.nexthops) {
      if (!nh.gateway) {
        if (nh.oif && this.linkUp(nh.oif))
          return { ok: true, nexthop: { gateway: addr, oif: nh.oif, flags: 0, hops: 0 } };
        continue;
      }
      const sub = this.resolveAddr(family, nh.gateway, depth + 1, formatAddress(nh.gateway));
      if (sub.ok) return sub;
    }
    return { ok: false, reason: `next hop ${text}: the route covering it has no usable next hop` };
  }
}
