/**
 * Health and metrics over plain HTTP on a local address (default 127.0.0.1:9179 in Kubernetes mode), for the
 * kubelet's probes and a Prometheus scrape from the node:
 *
 *   GET /livez     200 "ok" while the process serves requests
 *   GET /readyz    200 "ok" once BGP is running (in Kubernetes mode: after our Node was seen with a
 *                  podCIDR) and, when peers are configured, at least one session is Established; else 503
 *                  with the reason. Liveness never depends on sessions: a router that is down must not get
 *                  every node's daemon restarted.
 *   GET /metrics   the Prometheus text format, refreshed from the speaker and the FIB on each scrape
 *
 * Anything else is 404; any method but GET/HEAD is 405. The control socket stays the only way to change state.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface HealthSource {
  /** undefined when ready, else why not (shown in the 503 body). */
  notReady(): string | undefined;
  /** The metrics text and its content type. */
  metrics(): Promise<{ readonly contentType: string; readonly text: string }>;
}

/**
 * The session half of /readyz: undefined (ready) with no peers configured (a single node's mesh) or with at
 * least one session Established, else why not. One session is enough: a full mesh with one node down must
 * not make every other node unready, while a node that reaches no peer at all (a bad config or version, a
 * dead uplink) shows as unready and stops a DaemonSet rollout there.
 */
export function sessionsNotReady(peers: readonly { readonly state: string }[]): string | undefined {
  if (peers.length === 0 || peers.some((p) => p.state === 'Established')) return undefined;
  return `no BGP session Established (0 of ${peers.length} peers)`;
}

export interface HealthServer {
  readonly address: { readonly address: string; readonly port: number };
  close(): Promise<void>;
}

export async function startHealthServer(
  where: { readonly address: string; readonly port: number },
  source: HealthSource,
): Promise<HealthServer> {
  const server = createServer((req, res) => void handle(req, res, source));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(where.port, where.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : where.port;
  return { address: { address: where.address, port }, close: () => closeServer(server) };
}

async function handle(req: IncomingMessage, res: ServerResponse, source: HealthSource): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'text/plain', 'GET only\n');
  const path = (req.url ?? '/').split('?')[0];
  switch (path) {
    case '/livez':
      return reply(res, 200, 'text/plain', 'ok\n');
    case '/readyz': {
      const why = source.notReady();
      return why === undefined
        ? reply(res, 200, 'text/plain', 'ok\n')
        : reply(res, 503, 'text/plain', `not ready: ${why}\n`);
    }
    case '/metrics':
      try {
        const m = await source.metrics();
        return reply(res, 200, m.contentType, m.text);
      } catch (err) {
        return reply(res, 500, 'text/plain', `metrics failed: ${(err as Error).message}\n`);
      }
    default:
      return reply(res, 404, 'text/plain', 'not found: /livez, /readyz, /metrics\n');
  }
}

function reply(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
