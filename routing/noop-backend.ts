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
  send(batch: Batch): void {
    queueMicrotask(() => batch.done(undefined, 0));
  }
  routeEvents(): void {}
  close(): void {}
}
