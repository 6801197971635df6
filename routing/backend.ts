/**
 * What the FIB shell (fib.ts) needs of a kernel: dumps, a subscription to changes, and batches of writes
 * answered per message. The shell is handed one (an object, never a name): NetlinkBackend (the kernel,
 * netlink-backend.ts), NoopBackend (no kernel: every write acknowledged, for dry runs), or a test's fake.
 */
import type { AddrMsg, LinkMsg, NexthopMsg, RouteMsg } from './netlink/codec.js';
import type { Batch } from './netlink/writer.js';

export type { Batch } from './netlink/writer.js';

export interface KernelDump {
  links: LinkMsg[];
  addrs: AddrMsg[];
  /** The route dump as the kernel sent it (read with scanRoutes). */
  routes: Buffer[];
  /** The kernel's nexthop objects (everyone's); undefined when it has none (Linux before 5.3). */
  nexthops: NexthopMsg[] | undefined;
}

/** A resync's dump: nexthop objects first (the kernel removes one and its routes together), then routes. */
export interface RouteDump {
  routes: Buffer[];
  nexthops: NexthopMsg[] | undefined;
}

export type MonitorEvent =
  | { kind: 'link'; deleted: boolean; link: LinkMsg }
  | { kind: 'addr'; deleted: boolean; addr: AddrMsg }
  | { kind: 'route'; deleted: boolean; route: RouteMsg }
  /** Notifications were lost (ENOBUFS, or the socket was replaced): only a dump can tell what changed. */
  | { kind: 'overrun' }
  /** A socket error, or an exception in our handling of a notification (then also an overrun). */
  | { kind: 'fault'; where: string; message: string };

export interface Backend {
  /**
   * How next hops become kernel next hops: `kernel` — resolved through the kernel's links, addresses and
   * routes (kernel.ts); `as-given` — the address alone, no device (a backend without a kernel behind it).
   */
  readonly nexthopResolution: 'kernel' | 'as-given';
  dump(): Promise<KernelDump>;
  dumpRoutes(withNexthops: boolean): Promise<RouteDump>;
  /**
   * Listen to link, address and route changes; resolves once listening. RTM_NEWROUTE notifications with
   * `skip`'s rtm_protocol and rtm_table bytes (the echoes of our own writes) are not delivered.
   */
  subscribe(onEvent: (e: MonitorEvent) => void, skip: { protocol: number; tableByte: number }): Promise<void>;
  /** Route messages that may be sent and unanswered at once. */
  readonly maxUnanswered: number;
  /** Route messages one batch may hold (their error answers must fit the socket's receive buffer). */
  readonly maxBatchMessages: number;
  /**
   * Route notifications the monitor socket holds before it overflows (about 1 KiB each). Our writes come
   * back as notifications; more than this unread at once would overflow it.
   */
  readonly monitorCapacity: number;
  /** Memory for one batch of up to `bytes` (its own ArrayBuffer: it may be handed to another thread). */
  batchBuffer(bytes: number): Buffer;
  send(batch: Batch): void;
  /** Stop / restart route notifications (during a burst of our own writes, each would echo back). */
  routeEvents(on: boolean): void;
  close(): void;
}
