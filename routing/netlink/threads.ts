/**
 * The netlink worker threads (writer.ts, monitor.ts) run compiled JavaScript. Where the TypeScript sources
 * run directly (unit tests) there is none, and the caller does the same work on its own thread.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** The compiled worker script `name` beside this module, or undefined when there is none. */
export function compiledWorker(name: string): URL | undefined {
  const url = new URL(`./${name}.js`, import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

/** Stop a worker without waiting for it (its messages are no longer wanted). */
export function stopWorker(w: Worker | undefined): void {
  if (w) void w.terminate();
}
