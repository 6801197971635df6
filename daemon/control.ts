/**
 * The control socket: a local-only HTTP API on a Unix socket (never a TCP port) that the CLI reads.
 *
 *   GET /neighbors               PeerStatus[]
 *   GET /routes?prefix=&match=   RouteView[] (match: exact | longest | longer; see filterRoutes)
 *   GET /adj-rib-in?peer=        RouteView[] received from the peer
 *   GET /adj-rib-out?peer=       RouteView[] sent to the peer
 *   GET /fib                     FibView: wanted vs kernel
 *   GET /status                  StatusView
 *   GET /config                  the validated configuration (passwords hidden)
 *   GET /bfd                     BfdView: BFD sessions, timers, counters
 *   POST /shutdown?withdraw=     stop the daemon; withdraw=1: Hard Reset to every peer, kernel routes removed
 *
 * The socket is created with mode 0660 in a directory we create (0750); a socket file left by a crash is
 * replaced, but only after checking that nobody answers on it.
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { formatPrefix, parsePrefix, prefixContains, type PrefixKey } from '../ip/prefix.js';
import { NotFound, type ControlSource, type RouteMatch, type RouteView } from './views.js';

export interface ControlServer {
  readonly path: string;
  close(): Promise<void>;
}

export class ControlError extends Error {}

/** Create the directory, replace a dead socket, listen, chmod 0660. */
export async function startControlServer(path: string, source: ControlSource): Promise<ControlServer> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  await removeStaleSocket(path);
  const server = createServer((req, res) => handle(source, req, res));
  const oldMask = process.umask(0o117);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    throw new ControlError(`control socket ${path}: cannot listen: ${(err as Error).message}`);
  } finally {
    process.umask(oldMask);
  }
  chmodSync(path, 0o660);
  return { path, close: () => closeServer(server, path) };
}

function closeServer(server: Server, path: string): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  });
}

/** A socket file nobody answers on is a leftover from a crash: remove it. One that answers is refused. */
export async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket)
    throw new ControlError(`control socket ${path}: exists and is not a socket; refusing to replace it`);
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) throw new ControlError(`control socket ${path}: another nodebgp is answering on it`);
  unlinkSync(path);
}

function handle(source: ControlSource, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://nodebgp');
  if (req.method === 'POST' && url.pathname === '/shutdown') {
    if (source.shutdown === undefined) return send(res, 404, { error: 'shutdown is not available' });
    const w = url.searchParams.get('withdraw');
    return send(res, 200, source.shutdown({ withdraw: w === '1' || w === 'true' }));
  }
  if (req.method !== 'GET')
    return send(res, 405, {
      error: `${req.method} not allowed: the control API is read-only (but POST /shutdown)`,
    });
  try {
    const body = route(source, url);
    if (body === undefined) return send(res, 404, { error: `no such endpoint ${url.pathname}` });
    send(res, 200, body);
  } catch (err) {
    if (err instanceof NotFound) return send(res, 404, { error: err.message });
    if (err instanceof BadRequest) return send(res, 400, { error: err.message });
    send(res, 500, { error: (err as Error).message });
  }
}

class BadRequest extends Error {}

function route(source: ControlSource, url: URL): unknown {
  const q = url.searchParams;
  switch (url.pathname) {
    case '/neighbors':
      return source.neighbors();
    case '/routes': {
      const prefix = q.get('prefix');
      const routes = source.routes();
      if (!prefix) return routes;
      return filterRoutes(routes, prefix, parseMatch(q.get('match'), prefix));
    }
    case '/adj-rib-in':
      return source.adjRibIn(requirePeer(q));
    case '/adj-rib-out':
      return source.adjRibOut(requirePeer(q));
    case '/fib':
      return source.fib();
    case '/status':
      return source.status();
    case '/config':
      return source.config();
    case '/bfd':
      return (
        source.bfd?.() ?? { enabled: false, sessions: [], discards: {}, timerLateMaxMs: 0, timerLate50ms: 0 }
      );
    default:
      return undefined;
  }
}

function requirePeer(q: URLSearchParams): string {
  const peer = q.get('peer');
  if (!peer) throw new BadRequest('missing ?peer=ADDRESS');
  return peer;
}

function parseMatch(m: string | null, prefix: string): RouteMatch {
  if (m === null) return prefix.includes('/') ? 'exact' : 'longest';
  if (m === 'exact' || m === 'longest' || m === 'longer') return m;
  throw new BadRequest(`match=${m}: must be exact, longest or longer`);
}

/**
 * `exact`: routes for exactly this prefix. `longest`: routes for the longest prefix that contains the
 * address (or prefix) — what the kernel would use. `longer`: every route inside the prefix (vtysh
 * `longer-prefixes`). An address without a length is taken as /32 or /128.
 */
export function filterRoutes(routes: readonly RouteView[], query: string, match: RouteMatch): RouteView[] {
  const text = query.includes('/') ? query : `${query}/${query.includes(':') ? 128 : 32}`;
  const key = parsePrefix(text);
  if (key instanceof Error) throw new BadRequest(`prefix ${key.message}`);
  const keyed = routes
    .map((r) => ({ r, k: parsePrefix(r.prefix) }))
    .filter((x): x is { r: RouteView; k: PrefixKey } => !(x.k instanceof Error));
  if (match === 'exact') return keyed.filter((x) => x.k === key).map((x) => x.r);
  if (match === 'longer') return keyed.filter((x) => prefixContains(key, x.k)).map((x) => x.r);
  const covering = keyed.filter((x) => prefixContains(x.k, key));
  let best: PrefixKey | undefined;
  for (const x of covering) if (best === undefined || prefixLength(x.k) > prefixLength(best)) best = x.k;
  return covering.filter((x) => x.k === best).map((x) => x.r);
}

function prefixLength(k: PrefixKey): number {
  const t = formatPrefix(k);
  return Number(t.slice(t.lastIndexOf('/') + 1));
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
