/**
 * The control socket client the CLI uses: one GET (or the POST of `shutdown`) over the Unix socket, JSON back, and errors an operator
 * can act on ("is it running?", "permission denied").
 */
import { request } from 'node:http';
import { DEFAULT_CONTROL_SOCKET } from './config.js';

export class ClientError extends Error {}

/** `--socket`, then `NODEBGP_SOCKET`, then /run/nodebgp/nodebgp.sock. */
export function socketPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.NODEBGP_SOCKET ?? DEFAULT_CONTROL_SOCKET;
}

export function get<T>(socket: string, path: string, timeoutMs = 10_000): Promise<T> {
  return call<T>('GET', socket, path, timeoutMs);
}

/** The one command that changes something (`POST /shutdown`). */
export function post<T>(socket: string, path: string, timeoutMs = 10_000): Promise<T> {
  return call<T>('POST', socket, path, timeoutMs);
}

function call<T>(method: 'GET' | 'POST', socket: string, path: string, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const req = request({ socketPath: socket, path, method, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return reject(
            new ClientError(
              `nodebgp at ${socket} answered ${res.statusCode} with no JSON: ${text.slice(0, 200)}`,
            ),
          );
        }
        if (res.statusCode !== 200) {
          const msg = isErrorBody(body) ? body.error : text;
          return reject(new ClientError(msg));
        }
        resolve(body as T);
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err: NodeJS.ErrnoException) => reject(new ClientError(describe(socket, err))));
    req.end();
  });
}

function isErrorBody(v: unknown): v is { error: string } {
  return typeof v === 'object' && v !== null && typeof (v as { error?: unknown }).error === 'string';
}

function describe(socket: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
      return `cannot reach nodebgp at ${socket}: is it running?`;
    case 'EACCES':
    case 'EPERM':
      return `cannot reach nodebgp at ${socket}: permission denied (run as root or as a member of the socket's group)`;
    default:
      return `cannot reach nodebgp at ${socket}: ${err.message}`;
  }
}
