/**
 * A small Kubernetes API server on 127.0.0.1 for tests, speaking the real JSON of the core/v1 Node API:
 *
 *   GET   /api/v1/nodes[?limit=N&continue=T]    NodeList with metadata.resourceVersion, paged by limit
 *   GET   /api/v1/nodes/NAME                    Node, or a 404 Status
 *   GET   /api/v1/nodes?watch=true&resourceVersion=RV&allowWatchBookmarks=true
 *                                               chunked stream of newline-delimited watch events, first the
 *                                               ones after RV from the event log, then live ones; a RV older
 *                                               than the compaction point gets an ERROR event with a 410
 *                                               Expired Status, as the real server sends it
 *   PATCH /api/v1/nodes/NAME/status             recorded with its Content-Type; a strategic merge of
 *                                               status.conditions (merge key: type) is applied
 *   GET   /api/v1/services                      ServiceList / watch, as for nodes (all namespaces)
 *   GET   /apis/discovery.k8s.io/v1/endpointslices   EndpointSliceList / watch, as for nodes
 *
 * One resourceVersion counter for every kind, as etcd has; each kind has its own event log and watches.
 * Test controls: add/modify/delete nodes, Services and EndpointSlices, queue plain HTTP errors, send BOOKMARK
 * or ERROR events, cut watches abruptly (every kind, or one), close the server and reopen it on the same port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { V1EndpointSlice, V1Node, V1NodeCondition, V1Service } from '@kubernetes/client-node';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

interface LoggedEvent {
  readonly rv: number;
  readonly type: WatchEventType;
  readonly object: unknown;
}

export interface RecordedPatch {
  readonly name: string;
  readonly contentType: string;
  readonly body: unknown;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
}

type Route = 'list' | 'watch' | 'get' | 'patch';

/** The kinds the server holds. */
export type Resource = 'nodes' | 'services' | 'endpointslices';

interface KindInfo {
  readonly kind: string;
  readonly apiVersion: string;
}

const KINDS: Record<Resource, KindInfo> = {
  nodes: { kind: 'Node', apiVersion: 'v1' },
  services: { kind: 'Service', apiVersion: 'v1' },
  endpointslices: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1' },
};

interface NamedObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

/** One kind's objects, event log and open watches. */
class Collection<T extends NamedObject> {
  readonly items = new Map<string, T>();
  readonly log: LoggedEvent[] = [];
  readonly watches = new Set<ServerResponse>();
  compactedBelow = 0;
  constructor(readonly info: KindInfo) {}
}

/** A namespaced object's key, `namespace/name`; a Node's, its name. */
function keyOf(o: NamedObject): string {
  const m = o.metadata ?? {};
  return m.namespace !== undefined ? `${m.namespace}/${m.name ?? ''}` : (m.name ?? '');
}

export class FakeApiServer {
  private readonly kinds = {
    nodes: new Collection<V1Node>(KINDS.nodes),
    services: new Collection<V1Service>(KINDS.services),
    endpointslices: new Collection<V1EndpointSlice>(KINDS.endpointslices),
  };
  readonly nodes = this.kinds.nodes.items;
  /** By `namespace/name`. */
  readonly services = this.kinds.services.items;
  readonly endpointSlices = this.kinds.endpointslices.items;
  readonly patches: RecordedPatch[] = [];
  readonly requests: RecordedRequest[] = [];
  private rv = 100;
  private readonly sockets = new Set<Socket>();
  private readonly continues = new Map<
    string,
    { snapshot: { rv: number; items: unknown[] }; offset: number }
  >();
  private readonly failures: { route: Route; status: number; resource?: Resource }[] = [];
  private server: Server | undefined;
  port = 0;
  /** The address to listen on (interop tests run the server in a namespace, on that namespace's address). */
  host = '127.0.0.1';

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  /** Open watch streams, of every kind or of one. */
  get openWatches(): number {
    return Object.values(this.kinds).reduce((n, c) => n + c.watches.size, 0);
  }

  watchesOf(resource: Resource): number {
    return this.kinds[resource].watches.size;
  }

  /** Listens on `host` (127.0.0.1): a random port the first time, the same port when reopened. */
  async listen(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    this.port = address.port;
    this.server = server;
  }

  /** Stops listening and destroys every connection (watches end without a final chunk, as on a crash). */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const c of Object.values(this.kinds)) c.watches.clear();
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---- State ----------------------------------------------------------------------------------------------

  addNode(node: V1Node): void {
    this.add('nodes', node);
  }

  modifyNode(name: string, change: (node: V1Node) => void): void {
    this.modify('nodes', name, change);
  }

  deleteNode(name: string): void {
    this.delete('nodes', name);
  }

  /** Adds a Service, or replaces it (MODIFIED) when one of that namespace/name exists. */
  putService(svc: V1Service): void {
    this.put('services', svc);
  }

  modifyService(key: string, change: (svc: V1Service) => void): void {
    this.modify('services', key, change);
  }

  deleteService(key: string): void {
    this.delete('services', key);
  }

  /** Adds an EndpointSlice, or replaces it (MODIFIED) when one of that namespace/name exists. */
  putEndpointSlice(slice: V1EndpointSlice): void {
    this.put('endpointslices', slice);
  }

  deleteEndpointSlice(key: string): void {
    this.delete('endpointslices', key);
  }

  /** Forget every event log up to now: a watch from an older resourceVersion gets 410 Expired. */
  compact(): void {
    for (const c of Object.values(this.kinds)) {
      c.compactedBelow = this.rv;
      c.log.length = 0;
    }
  }

  /** The next request of this kind (of this resource, or any) answers with a plain HTTP error (Status body). */
  failNext(route: Route, status: number, times = 1, resource?: Resource): void {
    for (let i = 0; i < times; i++) this.failures.push({ route, status, ...(resource ? { resource } : {}) });
  }

  /** Sends a BOOKMARK at the current resourceVersion (advanced by one, as etcd progress would), to every watch. */
  bookmark(resource?: Resource): string {
    this.rv++;
    for (const c of this.collections(resource)) {
      const object = { ...c.info, metadata: { resourceVersion: String(this.rv) } };
      for (const res of c.watches) res.write(JSON.stringify({ type: 'BOOKMARK', object }) + '\n');
    }
    return String(this.rv);
  }

  /** Sends an ERROR event with a Status to every open watch (of one resource, or all), then ends the streams. */
  errorWatches(code = 410, reason = 'Expired', message?: string, resource?: Resource): void {
    const object = status(code, reason, message ?? `too old resource version: 1 (${this.rv})`);
    for (const c of this.collections(resource)) {
      for (const res of c.watches) res.end(JSON.stringify({ type: 'ERROR', object }) + '\n');
      c.watches.clear();
    }
  }

  /** Cuts every watch connection (of one resource, or all) mid-stream. */
  dropWatches(resource?: Resource): void {
    for (const c of this.collections(resource)) {
      for (const res of c.watches) res.socket?.destroy();
      c.watches.clear();
    }
  }

  private collections(resource?: Resource): Collection<NamedObject>[] {
    return resource ? [this.kinds[resource]] : Object.values(this.kinds);
  }

  private add<R extends Resource>(resource: R, obj: NamedObject): void {
    this.record(resource, 'ADDED', this.stamp(resource, obj));
  }

  private put<R extends Resource>(resource: R, obj: NamedObject): void {
    const exists = this.kinds[resource].items.has(keyOf(obj));
    this.record(resource, exists ? 'MODIFIED' : 'ADDED', this.stamp(resource, obj));
  }

  private modify<T extends NamedObject>(resource: Resource, key: string, change: (obj: T) => void): void {
    const obj = this.kinds[resource].items.get(key) as T | undefined;
    if (!obj) throw new Error(`fake apiserver: no ${resource} ${key}`);
    const copy = structuredClone(obj);
    change(copy);
    this.record(resource, 'MODIFIED', this.stamp(resource, copy));
  }

  private delete(resource: Resource, key: string): void {
    const c = this.kinds[resource] as Collection<NamedObject>;
    const obj = c.items.get(key);
    if (!obj) throw new Error(`fake apiserver: no ${resource} ${key}`);
    c.items.delete(key);
    this.rv++;
    const object = structuredClone(obj);
    object.metadata = { ...object.metadata, resourceVersion: String(this.rv) };
    this.push(resource, { rv: this.rv, type: 'DELETED', object });
  }

  // ---- HTTP -----------------------------------------------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams);
    this.requests.push({ method: req.method ?? '', path: url.pathname, query });
    const m =
      /^\/api\/v1\/(nodes)(?:\/([^/]+))?(\/status)?$/.exec(url.pathname) ??
      /^\/api\/v1\/(services)()()$/.exec(url.pathname) ??
      /^\/apis\/discovery\.k8s\.io\/v1\/(endpointslices)()()$/.exec(url.pathname);
    if (!m) return send(res, 404, status(404, 'NotFound', `the server could not find ${url.pathname}`));
    const resource = m[1] as Resource;
    const name = m[2] || undefined;
    const sub = m[3] || undefined;
    const isWatch = query.watch === 'true' || query.watch === '1';
    const route: Route =
      req.method === 'PATCH' && name && sub ? 'patch' : name ? 'get' : isWatch ? 'watch' : 'list';
    const failure = this.failures.findIndex(
      (f) => f.route === route && (f.resource === undefined || f.resource === resource),
    );
    if (failure !== -1) {
      const { status: code } = this.failures.splice(failure, 1)[0]!;
      return send(res, code, status(code, code === 410 ? 'Expired' : 'InternalError', `injected ${code}`));
    }
    if (req.method === 'GET' && route === 'list') return this.list(resource, res, query);
    if (req.method === 'GET' && route === 'watch') return this.watch(resource, res, query.resourceVersion);
    if (req.method === 'GET' && route === 'get') return this.get(res, name!);
    if (route === 'patch') return this.patch(req, res, name!);
    send(res, 405, status(405, 'MethodNotAllowed', `${req.method} is not supported here`));
  }

  /** A list, paged by `limit`; the continue token carries the snapshot (the items of the first page's time). */
  private list(resource: Resource, res: ServerResponse, query: Record<string, string>): void {
    const c = this.kinds[resource] as Collection<NamedObject>;
    let snapshot: { rv: number; items: unknown[] };
    let offset = 0;
    if (query.continue) {
      const token = this.continues.get(query.continue);
      if (!token) return send(res, 410, status(410, 'Expired', 'the provided continue parameter is too old'));
      ({ snapshot, offset } = token);
    } else {
      const items = [...c.items.values()].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
      snapshot = { rv: this.rv, items };
    }
    const limit = query.limit ? Number(query.limit) : Infinity;
    const items = snapshot.items.slice(offset, offset + limit);
    const metadata: Record<string, string> = { resourceVersion: String(snapshot.rv) };
    if (offset + items.length < snapshot.items.length) {
      const token = `c${this.continues.size + 1}`;
      this.continues.set(token, { snapshot, offset: offset + items.length });
      metadata.continue = token;
    }
    send(res, 200, { kind: `${c.info.kind}List`, apiVersion: c.info.apiVersion, metadata, items });
  }

  private get(res: ServerResponse, name: string): void {
    const node = this.nodes.get(name);
    if (!node) return send(res, 404, status(404, 'NotFound', `nodes "${name}" not found`));
    send(res, 200, node);
  }

  private watch(resource: Resource, res: ServerResponse, from: string | undefined): void {
    const c = this.kinds[resource] as Collection<NamedObject>;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const since = from === undefined || from === '' ? this.rv : Number(from);
    if (since < c.compactedBelow) {
      const object = status(410, 'Expired', `too old resource version: ${since} (${c.compactedBelow})`);
      res.end(JSON.stringify({ type: 'ERROR', object }) + '\n');
      return;
    }
    for (const e of c.log)
      if (e.rv > since) res.write(JSON.stringify({ type: e.type, object: e.object }) + '\n');
    c.watches.add(res);
    res.on('close', () => c.watches.delete(res));
  }

  private patch(req: IncomingMessage, res: ServerResponse, name: string): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const contentType = req.headers['content-type'] ?? '';
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
      this.patches.push({ name, contentType, body });
      const node = this.nodes.get(name);
      if (!node) return send(res, 404, status(404, 'NotFound', `nodes "${name}" not found`));
      if (contentType !== 'application/strategic-merge-patch+json')
        return send(res, 415, status(415, 'UnsupportedMediaType', `unsupported patch type ${contentType}`));
      const conditions = (body as { status?: { conditions?: V1NodeCondition[] } })?.status?.conditions ?? [];
      this.modifyNode(name, (n) => {
        const merged = [...(n.status?.conditions ?? [])];
        for (const c of conditions) {
          const i = merged.findIndex((x) => x.type === c.type);
          if (i === -1) merged.push(c);
          else merged[i] = { ...merged[i]!, ...c };
        }
        n.status = { ...n.status, conditions: merged };
      });
      send(res, 200, this.nodes.get(name));
    });
  }

  // ---- Internals ------------------------------------------------------------------------------------------

  private stamp<T extends NamedObject>(resource: Resource, obj: T): T {
    this.rv++;
    const copy = structuredClone(obj);
    const c = this.kinds[resource] as Collection<NamedObject>;
    copy.apiVersion = c.info.apiVersion;
    copy.kind = c.info.kind;
    copy.metadata = { ...copy.metadata, resourceVersion: String(this.rv) };
    c.items.set(keyOf(copy), copy);
    return copy;
  }

  private record(resource: Resource, type: WatchEventType, object: NamedObject): void {
    this.push(resource, { rv: Number(object.metadata!.resourceVersion), type, object });
  }

  private push(resource: Resource, e: LoggedEvent): void {
    const c = this.kinds[resource];
    c.log.push(e);
    for (const res of c.watches) res.write(JSON.stringify({ type: e.type, object: e.object }) + '\n');
  }
}

function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** A Node as the API returns it, from the parts tests care about. */
export function makeNode(
  name: string,
  opts: {
    podCIDRs?: string[];
    internalIPs?: string[];
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  } = {},
): V1Node {
  const spec: V1Node['spec'] = {};
  if (opts.podCIDRs && opts.podCIDRs.length > 0) {
    spec.podCIDR = opts.podCIDRs[0];
    spec.podCIDRs = opts.podCIDRs;
  }
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { 'kubernetes.io/hostname': name, ...opts.labels },
      annotations: opts.annotations,
    },
    spec,
    status: {
      addresses: [
        ...(opts.internalIPs ?? []).map((address) => ({ type: 'InternalIP', address })),
        { type: 'Hostname', address: name },
      ],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

/** A KubeConfig options object for `KubeConfig.loadFromOptions`, pointing at the fake server. */
export function kubeConfigOptions(server: FakeApiServer): Record<string, unknown> {
  return {
    clusters: [{ name: 'fake', server: server.url, skipTLSVerify: true }],
    users: [{ name: 'fake', token: 'fake-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
    currentContext: 'fake',
  };
}

/** A Service as the API returns it, from the parts tests care about (namespace "default" unless `key` says). */
export function makeService(
  key: string,
  opts: {
    type?: string;
    clusterIPs?: string[];
    loadBalancerIPs?: string[];
    externalIPs?: string[];
    externalTrafficPolicy?: 'Cluster' | 'Local';
    internalTrafficPolicy?: 'Cluster' | 'Local';
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  } = {},
): V1Service {
  const [namespace, name] = key.includes('/') ? key.split('/') : ['default', key];
  const type = opts.type ?? 'LoadBalancer';
  const clusterIPs = opts.clusterIPs ?? ['10.96.0.10'];
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace, name, labels: opts.labels, annotations: opts.annotations, uid: `uid-${key}` },
    spec: {
      type,
      clusterIP: clusterIPs[0],
      clusterIPs,
      ipFamilies: clusterIPs.map((ip) => (ip.includes(':') ? 'IPv6' : 'IPv4')),
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
      selector: { app: name! },
      externalIPs: opts.externalIPs,
      ...(type === 'LoadBalancer' || type === 'NodePort'
        ? { externalTrafficPolicy: opts.externalTrafficPolicy ?? 'Cluster' }
        : {}),
      internalTrafficPolicy: opts.internalTrafficPolicy ?? 'Cluster',
    },
    status: { loadBalancer: { ingress: (opts.loadBalancerIPs ?? []).map((ip) => ({ ip, ipMode: 'VIP' })) } },
  };
}

/**
 * An EndpointSlice of a Service as the EndpointSlice controller writes it: one endpoint per entry, on that
 * node, ready unless `ready: false`.
 */
export function makeEndpointSlice(
  service: string,
  endpoints: readonly { node: string; address: string; ready?: boolean }[],
  name = `${service.split('/').pop()}-x1`,
): V1EndpointSlice {
  const [namespace, svc] = service.includes('/') ? service.split('/') : ['default', service];
  const family = endpoints[0]?.address.includes(':') === true ? 'IPv6' : 'IPv4';
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    addressType: family,
    metadata: {
      namespace,
      name,
      labels: {
        'kubernetes.io/service-name': svc!,
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
      },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc!, uid: `uid-${namespace}/${svc}` }],
    },
    endpoints: endpoints.map((e) => ({
      addresses: [e.address],
      conditions: { ready: e.ready ?? true, serving: e.ready ?? true, terminating: false },
      nodeName: e.node,
      targetRef: { kind: 'Pod', namespace, name: `${svc}-${e.node}` },
    })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}
