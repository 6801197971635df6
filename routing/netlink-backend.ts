/**
 * The kernel behind the FIB: rtnetlink sockets of our own (netlink/channel.ts, libc through koffi), one for
 * writes and dumps on a worker thread (netlink/writer.ts) and one for notifications on another
 * (netlink/monitor.ts). Every socket error reaches the FIB as a value: a batch lost with its errno (retried),
 * a failed dump (the resync is redone), an overrun (a resync), a fault (logged).
 */
import {
  NlMsg,
  NexthopMsg,
  decodeRoute,
  decodeAddr,
  decodeLink,
  decodeNexthop,
  dumpMessages,
} from './netlink/codec.js';
import { RTM, RTNLGRP } from './netlink/constants.js';
import { unansweredLimit } from './netlink/channel.js';
import { MonitorThread } from './netlink/monitor.js';
import { Batch, RtnlWriter } from './netlink/writer.js';
import type { Backend, KernelDump, MonitorEvent, RouteDump } from './backend.js';

export interface NetlinkBackendOptions {
  /**
   * SO_RCVBUF of the netlink sockets (default: 32 MiB, forced past net.core.rmem_max where the process may).
   * Tests set it small to make the monitor socket overflow.
   */
  recvBufferBytes?: number;
}

export class NetlinkBackend implements Backend {
  readonly nexthopResolution = 'kernel';
  /** Route writes and dumps (on a worker thread). */
  private readonly writer: RtnlWriter;
  /**
   * The writer thread queues batches itself; here the bound is memory: about 50 batches of 64 KiB, a quarter
   * of a second of the kernel's work at full speed — enough to keep it busy through a main-thread stall. The
   * 200 allowed before cost peak RSS: a million routes through the Fib alone peaked at 205 MB, now 177 MB.
   */
  readonly maxUnanswered = 64 * 1024;
  private monitor: MonitorThread | undefined;

  constructor(private readonly opts: NetlinkBackendOptions = {}) {
    this.writer = new RtnlWriter(opts);
  }

  get monitorCapacity(): number {
    return unansweredLimit(this.monitor?.recvBufferBytes || 2 * 212992);
  }

  /** Messages one batch may hold: as many error answers as the writer socket's buffer takes. */
  get maxBatchMessages(): number {
    return this.writer.maxBatchMessages;
  }

  async dump(): Promise<KernelDump> {
    const links = dumpMessages(await this.writer.dump(RTM.RTM_GETLINK, 0))
      .filter((m) => m.type === RTM.RTM_NEWLINK)
      .map((m) => decodeLink(m.payload));
    const addrs = dumpMessages(await this.writer.dump(RTM.RTM_GETADDR, 0))
      .filter((m) => m.type === RTM.RTM_NEWADDR)
      .map((m) => decodeAddr(m.payload));
    // A kernel without nexthop objects (before 5.3) refuses their dump; no object is made to find out.
    const nexthops = await this.dumpNexthops().catch(() => undefined);
    return { links, addrs, nexthops, routes: await this.writer.dump(RTM.RTM_GETROUTE, 0) };
  }

  async dumpRoutes(withNexthops: boolean): Promise<RouteDump> {
    const nexthops = withNexthops ? await this.dumpNexthops() : undefined;
    return { nexthops, routes: await this.writer.dump(RTM.RTM_GETROUTE, 0) };
  }

  private async dumpNexthops(): Promise<NexthopMsg[]> {
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

  batchBuffer(bytes: number): Buffer {
    return this.writer.batchBuffer(bytes);
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
