/**
 * A backend with no kernel behind it: every write acknowledged, nothing dumped, next hops taken as given —
 * for development machines and dry runs, where the mirror shows what would be installed.
 */
import type { Backend, Batch, KernelDump, RouteDump } from './backend.js';

export class NoopBackend implements Backend {
  readonly nexthopResolution = 'as-given';
  readonly maxUnanswered = 32768;
  readonly maxBatchMessages = 32768;
  readonly monitorCapacity = 32768;

  async dump(): Promise<KernelDump> {
    return { links: [], addrs: [], routes: [], nexthops: undefined };
  }
  async dumpRoutes(): Promise<RouteDump> {
    return { routes: [], nexthops: undefined };
  }
  async subscribe(): Promise<void> {}
  batchBuffer(bytes: number): Buffer {
    return Buffer.alloc(bytes);
  }
  /** Answered on a later event-loop turn, as a kernel's answers come: a big load never starves the loop. */
  send(batch: Batch): void {
    setImmediate(() => batch.done(undefined, 0));
  }
  routeEvents(): void {}
  close(): void {}
}
