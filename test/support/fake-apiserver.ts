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
 *
 * Test controls: add/modify/delete nodes, queue plain HTTP errors, send BOOKMARK or ERROR events, cut every
 * watch abruptly, close the server and reopen it on the same port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { V1Node, V1NodeCondition } from '@kubernetes/client-node';

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

export class FakeApiServer {
  readonly nodes = new Map<string, V1Node>();
  readonly patches: RecordedPatch[] = [];
  readonly requests: RecordedRequest[] = [];
  private rv = 100;
  private compactedBelow = 0;
  private readonly log: LoggedEvent[] = [];
  private readonly watches = new Set<ServerResponse>();
  private readonly sockets = new Set<Socket>();
  private readonly continues = new Map<
    string,
    { snapshot: { rv: number; items: V1Node[] }; offset: number }
  >();
  private readonly failures: { route: Route; status: number }[] = [];
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

  get openWatches(): number {
    return this.watches.size;
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
    this.watches.clear();
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---- State ----------------------------------------------------------------------------------------------

  addNode(node: V1Node): void {
    this.record('ADDED', this.stamp(node));
  }

  modifyNode(name: string, change: (node: V1Node) => void): void {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`fake apiserver: no node ${name}`);
    const copy = structuredClone(node);
    change(copy);
    this.record('MODIFIED', this.stamp(copy));
  }

  deleteNode(name: string): void {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`fake apiserver: no node ${name}`);
    this.nodes.delete(name);
    this.rv++;
    const object = structuredClone(node);
    object.metadata = { ...object.metadata, resourceVersion: String(this.rv) };
    this.push({ rv: this.rv, type: 'DELETED', object });
  }

  /** Forget the event log up to now: a watch from an older resourceVersion gets 410 Expired. */
  compact(): void {
    this.compactedBelow = this.rv;
    this.log.length = 0;
  }

  /** The next request of this kind answers with a plain HTTP error (Status body). */
  failNext(route: Route, status: number, times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push({ route, status });
  }

  /** Sends a BOOKMARK at the current resourceVersion (advanced by one, as etcd progress would). */
  bookmark(): string {
    this.rv++;
    const object = { kind: 'Node', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) } };
    for (const res of this.watches) res.write(JSON.stringify({ type: 'BOOKMARK', object }) + '\n');
    return String(this.rv);
  }

  /** Sends an ERROR event with a Status to every open watch, then ends the streams. */
  errorWatches(code = 410, reason = 'Expired', message?: string): void {
    const object = status(code, reason, message ?? `too old resource version: 1 (${this.rv})`);
    for (const res of this.watches) res.end(JSON.stringify({ type: 'ERROR', object }) + '\n');
    this.watches.clear();
  }

  /** Cuts every watch connection mid-stream. */
  dropWatches(): void {
    for (const res of this.watches) res.socket?.destroy();
    this.watches.clear();
  }

  // ---- HTTP -----------------------------------------------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams);
    this.requests.push({ method: req.method ?? '', path: url.pathname, query });
    const m = /^\/api\/v1\/nodes(?:\/([^/]+))?(\/status)?$/.exec(url.pathname);
    if (!m) return send(res, 404, status(404, 'NotFound', `the server could not find ${url.pathname}`));
    const [, name, sub] = m;
    const isWatch = query.watch === 'true' || query.watch === '1';
    const route: Route =
      req.method === 'PATCH' && name && sub ? 'patch' : name ? 'get' : isWatch ? 'watch' : 'list';
    const failure = this.failures.findIndex((f) => f.route === route);
    if (failure !== -1) {
      const { status: code } = this.failures.splice(failure, 1)[0]!;
      return send(res, code, status(code, code === 410 ? 'Expired' : 'InternalError', `injected ${code}`));
    }
    if (req.method === 'GET' && route === 'list') return this.list(res, query);
    if (req.method === 'GET' && route === 'watch') return this.watch(res, query.resourceVersion);
    if (req.method === 'GET' && route === 'get') return this.get(res, name!);
    if (route === 'patch') return this.patch(req, res, name!);
    send(res, 405, status(405, 'MethodNotAllowed', `${req.method} is not supported here`));
  }

  /** A list, paged by `limit`; the continue token carries the snapshot (the items of the first page's time). */
  private list(res: ServerResponse, query: Record<string, string>): void {
    let snapshot: { rv: number; items: V1Node[] };
    let offset = 0;
    if (query.continue) {
      const token = this.continues.get(query.continue);
      if (!token) return send(res, 410, status(410, 'Expired', 'the provided continue parameter is too old'));
      ({ snapshot, offset } = token);
    } else {
      const items = [...this.nodes.values()].sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
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
    send(res, 200, { kind: 'NodeList', apiVersion: 'v1', metadata, items });
  }

  private get(res: ServerResponse, name: string): void {
    const node = this.nodes.get(name);
    if (!node) return send(res, 404, status(404, 'NotFound', `nodes "${name}" not found`));
    send(res, 200, node);
  }

  private watch(res: ServerResponse, from: string | undefined): void {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const since = from === undefined || from === '' ? this.rv : Number(from);
    if (since < this.compactedBelow) {
      const object = status(410, 'Expired', `too old resource version: ${since} (${this.compactedBelow})`);
      res.end(JSON.stringify({ type: 'ERROR', object }) + '\n');
      return;
    }
    for (const e of this.log)
      if (e.rv > since) res.write(JSON.stringify({ type: e.type, object: e.object }) + '\n');
    this.watches.add(res);
    res.on('close', () => this.watches.delete(res));
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

  private stamp(node: V1Node): V1Node {
    this.rv++;
    const copy = structuredClone(node);
    copy.apiVersion = 'v1';
    copy.kind = 'Node';
    copy.metadata = { ...copy.metadata, resourceVersion: String(this.rv) };
    this.nodes.set(copy.metadata.name!, copy);
    return copy;
  }

  private record(type: WatchEventType, object: V1Node): void {
    this.push({ rv: Number(object.metadata!.resourceVersion), type, object });
  }

  private push(e: LoggedEvent): void {
    this.log.push(e);
    for (const res of this.watches) res.write(JSON.stringify({ type: e.type, object: e.object }) + '\n');
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
