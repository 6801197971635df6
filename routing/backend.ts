/**
 * The two backends behind the FIB mirror: `netlink` (the kernel) and `noop` (no writes, every write
 * acknowledged, every next hop taken as given — for development machines and dry runs).
 */
import { RouteMsg, NlMsg, decodeRoute, decodeAddr, decodeLink } from './netlink/codec.js';
import { RTM, RTNLGRP } from './netlink/constants.js';
import { RtnlSocket, RtnlMonitor, WriteOp } from './netlink/socket.js';
import { AddrMsg, LinkMsg } from './netlink/codec.js';

export interface KernelDump {
  links: LinkMsg[];
  addrs: AddrMsg[];
  routes: RouteMsg[];
}

export type MonitorEvent =
  | { kind: 'link'; deleted: boolean; link: LinkMsg }
  | { kind: 'addr'; deleted: boolean; addr: AddrMsg }
  | { kind: 'route'; deleted: boolean; route: RouteMsg }
  | { kind: 'overrun' };

export interface Backend {
  readonly name: 'netlink' | 'noop';
  dump(): Promise<KernelDump>;
  dumpRoutes(): Promise<RouteMsg[]>;
  subscribe(onEvent: (e: MonitorEvent) => void, isOurs: (payload: Buffer) => boolean): void;
  write(ops: readonly WriteOp[]): void;
  /** Stop / restart route notifications (during a burst of our own writes, each would echo back). */
  routeEvents(on: boolean): void;
  close(): void;
}

export class NetlinkBackend implements Backend {
  readonly name = 'netlink';
  private readonly sock = new RtnlSocket();
  private monitor: RtnlMonitor | undefined;

  async dump(): Promise<KernelDump> {
    const links = (await this.sock.dump(RTM.RTM_GETLINK, 0)).filter((m) => m.type === RTM.RTM_NEWLINK).map((m) => decodeLink(m.payload));
    const addrs = (await this.sock.dump(RTM.RTM_GETADDR, 0)).filter((m) => m.type === RTM.RTM_NEWADDR).map((m) => decodeAddr(m.payload));
    return { links, addrs, routes: await this.dumpRoutes() };
  }

  async dumpRoutes(): Promise<RouteMsg[]> {
    const msgs = await this.sock.dump(RTM.RTM_GETROUTE, 0);
    return msgs.filter((m) => m.type === RTM.RTM_NEWROUTE).map((m) => decodeRoute(m.payload));
  }

  /**
   * Join RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR/IPV6_IFADDR, RTNLGRP_IPV4_ROUTE/IPV6_ROUTE. Notifications of
   * our own RTM_NEWROUTE writes (as many as the writes) are recognised from the rtmsg alone and skipped
   * without decoding; our own deletions are passed on (a deletion by someone else must be re-asserted).
   */
  subscribe(onEvent: (e: MonitorEvent) => void, isOurs: (payload: Buffer) => boolean): void {
    const groups = [RTNLGRP.RTNLGRP_LINK, RTNLGRP.RTNLGRP_IPV4_IFADDR, RTNLGRP.RTNLGRP_IPV6_IFADDR, RTNLGRP.RTNLGRP_IPV4_ROUTE, RTNLGRP.RTNLGRP_IPV6_ROUTE];
    this.monitor = new RtnlMonitor(groups, (m: NlMsg) => {
      switch (m.type) {
        case RTM.RTM_NEWLINK:
        case RTM.RTM_DELLINK:
          return onEvent({ kind: 'link', deleted: m.type === RTM.RTM_DELLINK, link: decodeLink(m.payload) });
        case RTM.RTM_NEWADDR:
        case RTM.RTM_DELADDR:
          return onEvent({ kind: 'addr', deleted: m.type === RTM.RTM_DELADDR, addr: decodeAddr(m.payload) });
        case RTM.RTM_NEWROUTE:
          if (isOurs(m.payload)) return;
          return onEvent({ kind: 'route', deleted: false, route: decodeRoute(m.payload) });
        case RTM.RTM_DELROUTE:
          return onEvent({ kind: 'route', deleted: true, route: decodeRoute(m.payload) });
      }
    }, () => onEvent({ kind: 'overrun' }));
  }

  write(ops: readonly WriteOp[]): void {
    this.sock.write(ops);
  }

  routeEvents(on: boolean): void {
    for (const g of [RTNLGRP.RTNLGRP_IPV4_ROUTE, RTNLGRP.RTNLGRP_IPV6_ROUTE]) {
      if (on) this.monitor?.join(g);
      else this.monitor?.leave(g);
    }
  }

  close(): void {
    this.sock.close();
    this.monitor?.close();
  }
}

export class NoopBackend implements Backend {
  readonly name = 'noop';
  async dump(): Promise<KernelDump> {
    return { links: [], addrs: [], routes: [] };
  }
  async dumpRoutes(): Promise<RouteMsg[]> {
    return [];
  }
  subscribe(): void {}
  write(ops: readonly WriteOp[]): void {
    queueMicrotask(() => { for (const op of ops) op.done(0); });
  }
  routeEvents(): void {}
  close(): void {}
}
