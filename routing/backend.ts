/**
 * The two backends behind the FIB mirror: `netlink` (the kernel) and `noop` (no writes, every write
 * acknowledged, every next hop taken as given — for development machines and dry runs).
 */
import {
  RouteMsg,
  NlMsg,
  NexthopMsg,
  decodeRoute,
  decodeAddr,
  decodeLink,
  decodeNexthop,
} from './netlink/codec.js';
import { RTM, RTNLGRP } from './netlink/constants.js';
import { dumpMessages } from './netlink/codec.js';
import { unansweredLimit } from './netlink/channel.js';
import { MonitorThread } from './netlink/monitor.js';
import { Batch, RtnlWriter } from './netlink/writer.js';
import { AddrMsg, LinkMsg } from './netlink/codec.js';

export interface KernelDump {
  links: LinkMsg[];
  addrs: AddrMsg[];
  /** The route dump as the kernel sent it (read with forEachMessage). */
  routes: Buffer[];
}

export type MonitorEvent =
  | { kind: 'link'; deleted: boolean; link: LinkMsg }
  | { kind: 'addr'; deleted: boolean; addr: AddrMsg }
  | { kind: 'route'; deleted: boolean; route: RouteMsg }
  | { kind: 'overrun' }
  /** An exception in our handling of a notification (then also an overrun: a dump catches up). */
  | { kind: 'fault'; where: string; message: string };

export interface Backend {
  readonly name: 'netlink' | 'noop';
  dump(): Promise<KernelDump>;
  dumpRoutes(): Promise<Buffer[]>;
  /** Whether the kernel has nexthop objects (Linux ≥ 5.3). */
  nexthopObjects(): Promise<boolean>;
  /** The kernel's nexthop objects (everyone's). */
  dumpNexthops(): Promise<NexthopMsg[]>;
  /**
   * Listen to link, address and route changes; resolves once listening. RTM_NEWROUTE notifications with
   * `skip`'s rtm_protocol and rtm_table bytes (the echoes of our own writes) are not delivered.
   */
  subscribe(onEvent: (e: MonitorEvent) => void, skip: { protocol: number; tableByte: number }): Promise<void>;
  /** `n` consecutive sequence numbers for a batch; returns the first. */
  reserveSeq(n: number): number;
  /** Route messages that may be sent and unanswered at once (see unansweredLimit in netlink/socket.ts). */
  readonly maxUnanswered: number;
  /**
   * Route notifications the monitor socket holds before it overflows (the same sysctl-capped buffer, about
   * 1 KiB each). Our writes come back as notifications; more than this unread at once would overflow it.
   */
  readonly monitorCapacity: number;
  send(batch: Batch): void;
  /** Stop / restart route notifications (during a burst of our own writes, each would echo back). */
  routeEvents(on: boolean): void;
  close(): void;
}

export interface NetlinkBackendOptions {
  /**
   * SO_RCVBUF of the netlink sockets (default: 32 MiB, forced past net.core.rmem_max where the process may).
   * Tests set it small to make the monitor socket overflow.
   */
  recvBufferBytes?: number;
}

export class NetlinkBackend implements Backend {
  readonly name = 'netlink';
  /** Route writes and dumps (on a worker thread). */
  private readonly writer: RtnlWriter;
  /** The writer thread queues batches itself; here the bound is memory (256 batches of 64 KiB). */
  readonly maxUnanswered = 256 * 1024;
  private monitor: MonitorThread | undefined;
  private seq = 1 + Math.floor(Math.random() * 0x3fffffff);

  constructor(private readonly opts: NetlinkBackendOptions = {}) {
    this.writer = new RtnlWriter(opts);
  }

  get monitorCapacity(): number {
    return unansweredLimit(this.monitor?.recvBufferBytes || 2 * 212992);
  }

  async dump(): Promise<KernelDump> {
    const links = dumpMessages(await this.writer.dump(RTM.RTM_GETLINK, 0))
      .filter((m) => m.type === RTM.RTM_NEWLINK)
      .map((m) => decodeLink(m.payload));
    const addrs = dumpMessages(await this.writer.dump(RTM.RTM_GETADDR, 0))
      .filter((m) => m.type === RTM.RTM_NEWADDR)
      .map((m) => decodeAddr(m.payload));
    return { links, addrs, routes: await this.dumpRoutes() };
  }

  dumpRoutes(): Promise<Buffer[]> {
    return this.writer.dump(RTM.RTM_GETROUTE, 0);
  }

  async nexthopObjects(): Promise<boolean> {
    // A kernel without them (before 5.3) refuses the RTM_GETNEXTHOP dump; no object is made to find out.
    try {
      await this.dumpNexthops();
      return true;
    } catch {
      return false;
    }
  }

  async dumpNexthops(): Promise<NexthopMsg[]> {
    const msgs = dumpMessages(await this.writer.dump(RTM.RTM_GETNEXTHOP, 0));
    return msgs.filter((m) => m.type === RTM.RTM_NEWNEXTHOP).map((m) => decodeNexthop(m.payload));
  }

  /**
   * Join RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR/IPV6_IFADDR, RTNLGRP_IPV4_ROUTE/IPV6_ROUTE, on a thread of its own
   * (netlink/monitor.ts). Notifications of our own RTM_NEWROUTE writes (as many as the writes) are dropped
   * there; our own deletions are passed on (a deletion by someone else must be re-asserted).
   */
  subscribe(
    onEvent: (e: MonitorEvent) => void,
    skip: { protocol: number; tableByte: number },
  ): Promise<void> {
    const groups = [
      RTNLGRP.RTNLGRP_LINK,
      RTNLGRP.RTNLGRP_IPV4_IFADDR,
      RTNLGRP.RTNLGRP_IPV6_IFADDR,
      RTNLGRP.RTNLGRP_IPV4_ROUTE,
      RTNLGRP.RTNLGRP_IPV6_ROUTE,
    ];
    const isOurs = (p: Buffer): boolean => p[5] === skip.protocol && p[4] === skip.tableByte;
    this.monitor = new MonitorThread(
      { groups, skip, recvBufferBytes: this.opts.recvBufferBytes },
      (m: NlMsg) => {
        switch (m.type) {
          case RTM.RTM_NEWLINK:
          case RTM.RTM_DELLINK:
            return onEvent({
              kind: 'link',
              deleted: m.type === RTM.RTM_DELLINK,
              link: decodeLink(m.payload),
            });
          case RTM.RTM_NEWADDR:
          case RTM.RTM_DELADDR:
            return onEvent({
              kind: 'addr',
              deleted: m.type === RTM.RTM_DELADDR,
              addr: decodeAddr(m.payload),
            });
          case RTM.RTM_NEWROUTE:
            if (isOurs(m.payload)) return;
            return onEvent({ kind: 'route', deleted: false, route: decodeRoute(m.payload) });
          case RTM.RTM_DELROUTE:
            return onEvent({ kind: 'route', deleted: true, route: decodeRoute(m.payload) });
        }
      },
      () => onEvent({ kind: 'overrun' }),
      (err, where) => onEvent({ kind: 'fault', where, message: err.message }),
    );
    return this.monitor.ready;
  }

  reserveSeq(n: number): number {
    if (this.seq + n > 0x7fffffff) this.seq = 1;
    const first = this.seq;
    this.seq += n;
    return first;
  }

  send(batch: Batch): void {
    this.writer.send(batch);
  }

  routeEvents(on: boolean): void {
    for (const g of [RTNLGRP.RTNLGRP_IPV4_ROUTE, RTNLGRP.RTNLGRP_IPV6_ROUTE]) {
      if (on) this.monitor?.join(g);
      else this.monitor?.leave(g);
    }
  }

  close(): void {
    this.writer.close();
    this.monitor?.close();
  }
}

export class NoopBackend implements Backend {
  readonly name = 'noop';
  async dump(): Promise<KernelDump> {
    return { links: [], addrs: [], routes: [] };
  }
  async dumpRoutes(): Promise<Buffer[]> {
    return [];
  }
  async nexthopObjects(): Promise<boolean> {
    return false;
  }
  async dumpNexthops(): Promise<NexthopMsg[]> {
    return [];
  }
  async subscribe(): Promise<void> {}
  readonly maxUnanswered = 32768;
  readonly monitorCapacity = 32768;
  private seq = 1;
  reserveSeq(n: number): number {
    const first = this.seq;
    this.seq += n;
    return first;
  }
  send(batch: Batch): void {
    queueMicrotask(() => batch.done(undefined, 0));
  }
  routeEvents(): void {}
  close(): void {}
}
