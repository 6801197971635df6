/**
 * The service source: a list + watch of all Services (`/api/v1/services`) and all EndpointSlices
 * (`/apis/discovery.k8s.io/v1/endpointslices`), each with list-watch.ts's resilience (relist on 410,
 * bookmarks, back-off, nothing forgotten while the API server is away), kept as compact views and turned into
 * this node's Service plan (services.ts) after every change.
 *
 * Events (debounced to one per event-loop turn):
 *   `plan`  (ServicePlan)   what this node advertises changed, or why something is not advertised changed;
 *                           first sent once both kinds have been listed (a Local Service is not withdrawn and
 *                           announced again because its slices came in a moment after it)
 *   `connected` / `disconnected` ({ what, … }) per watch, `log` as the node source's
 */
import { EventEmitter } from 'node:events';
import {
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  type V1EndpointSlice,
  type V1Service,
} from '@kubernetes/client-node';
import { ListWatch, oncePerTurn, type Backoff, type ListWatchEvents } from './list-watch.js';
import type { ServicesConfig } from './schema.js';
import {
  planServices,
  sameServiceView,
  sameSliceView,
  serviceView,
  sliceView,
  type ServicePlan,
  type ServiceView,
  type SliceView,
} from './services.js';

export interface ServiceSourceOptions {
  readonly kubeConfig: KubeConfig;
  readonly nodeName: string;
  readonly config: ServicesConfig;
  readonly resyncBackoff?: Backoff;
  readonly minHealthyWatchMs?: number;
  readonly listPageSize?: number;
}

export interface ServiceSourceEvents {
  plan: [ServicePlan];
  connected: [{ what: string; resourceVersion: string }];
  disconnected: [{ what: string; reason: string }];
  log: ListWatchEvents['log'];
}

/** A cache of views by `namespace/name`, filled by one ListWatch. */
class ViewCache<T, V> {
  readonly views = new Map<string, V>();
  synced = false;
  constructor(
    private readonly view: (obj: T) => V & { key: string },
    private readonly same: (a: V, b: V) => boolean,
    private readonly onChange: () => void,
  ) {}

  replace(items: readonly T[]): void {
    const seen = new Set<string>();
    for (const obj of items) seen.add(this.put(obj));
    for (const key of [...this.views.keys()]) if (!seen.has(key)) this.views.delete(key);
    this.synced = true;
  }

  put(obj: T): string {
    const v = this.view(obj);
    const old = this.views.get(v.key);
    if (old === undefined || !this.same(old, v)) this.views.set(v.key, v);
    return v.key;
  }

  remove(obj: T): void {
    this.views.delete(this.view(obj).key);
  }

  sink() {
    return {
      replace: (items: readonly T[]) => this.replace(items),
      put: (obj: T) => void this.put(obj),
      remove: (obj: T) => this.remove(obj),
      changed: () => this.onChange(),
    };
  }
}

export class ServiceSource extends EventEmitter<ServiceSourceEvents> {
  private readonly services: ViewCache<V1Service, ServiceView>;
  private readonly slices: ViewCache<V1EndpointSlice, SliceView>;
  private readonly watches: ListWatch<V1Service | V1EndpointSlice>[];
  private readonly scheduleFlush = oncePerTurn(() => this.flush());
  private lastText: string | undefined;
  private lastPlan: ServicePlan | undefined;

  constructor(private readonly opts: ServiceSourceOptions) {
    super();
    const changed = () => this.scheduleFlush();
    this.services = new ViewCache(serviceView, sameServiceView, changed);
    this.slices = new ViewCache(sliceView, sameSliceView, changed);
    const core = opts.kubeConfig.makeApiClient(CoreV1Api);
    const discovery = opts.kubeConfig.makeApiClient(DiscoveryV1Api);
    const common = {
      kubeConfig: opts.kubeConfig,
      ...(opts.resyncBackoff !== undefined ? { resyncBackoff: opts.resyncBackoff } : {}),
      ...(opts.minHealthyWatchMs !== undefined ? { minHealthyWatchMs: opts.minHealthyWatchMs } : {}),
      ...(opts.listPageSize !== undefined ? { listPageSize: opts.listPageSize } : {}),
    };
    const serviceWatch = new ListWatch<V1Service>({
      ...common,
      what: 'services',
      path: '/api/v1/services',
      list: (limit, next) => core.listServiceForAllNamespaces({ limit, _continue: next }),
      sink: this.services.sink(),
    });
    const sliceWatch = new ListWatch<V1EndpointSlice>({
      ...common,
      what: 'endpointslices',
      path: '/apis/discovery.k8s.io/v1/endpointslices',
      list: (limit, next) => discovery.listEndpointSliceForAllNamespaces({ limit, _continue: next }),
      sink: this.slices.sink(),
    });
    this.watches = [serviceWatch, sliceWatch] as ListWatch<V1Service | V1EndpointSlice>[];
    for (const [w, what] of [
      [serviceWatch, 'services'],
      [sliceWatch, 'endpointslices'],
    ] as const) {
      w.on('connected', (e) => this.emit('connected', { what, ...e }));
      w.on('disconnected', (e) => this.emit('disconnected', { what, ...e }));
      w.on('log', (e) => this.emit('log', e));
    }
  }

  /** The last plan sent (undefined until both kinds were listed once). */
  get plan(): ServicePlan | undefined {
    return this.lastPlan;
  }

  /** Both watches are up. */
  get connected(): boolean {
    return this.watches.every((w) => w.connected);
  }

  get counts(): { services: number; endpointSlices: number } {
    return { services: this.services.views.size, endpointSlices: this.slices.views.size };
  }

  start(): void {
    for (const w of this.watches) w.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.watches.map((w) => w.stop()));
  }

  private flush(): void {
    if (!this.services.synced || !this.slices.synced) return;
    const plan = planServices(
      this.services.views.values(),
      this.slices.views.values(),
      this.opts.nodeName,
      this.opts.config,
    );
    const text = JSON.stringify([
      plan.entries,
      plan.routes,
      plan.problems,
      [...plan.known.hosts].map(String).sort(),
    ]);
    if (text === this.lastText) return;
    const problemsBefore = this.lastPlan?.problems ?? [];
    this.lastText = text;
    this.lastPlan = plan;
    for (const problem of plan.problems)
      if (!problemsBefore.includes(problem))
        this.emit('log', { level: 'warn', event: 'k8s-service-invalid', problem });
    this.emit('plan', plan);
  }
}
