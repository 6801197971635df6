/**
 * Reload on a changed config file, as SIGHUP does. The directory is watched, not the file: editors replace a
 * file by renaming a new one over it, and a Kubernetes ConfigMap volume swaps a `..data` symlink, so a watch
 * on the file itself would go quiet after the first change. Events are debounced, and a reload happens only
 * when the file's bytes differ from what was last loaded — touching the file, or a ConfigMap resync that
 * changes nothing, resets no session.
 */
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface ConfigWatcher {
  close(): void;
}

/** Calls `onChange` (at most once per `debounceMs`) when the contents of `file` change. */
export function watchConfigFile(file: string, onChange: () => void, debounceMs = 300): ConfigWatcher {
  let last = readOrUndefined(file);
  let timer: NodeJS.Timeout | undefined;
  const name = basename(file);
  const check = () => {
    timer = undefined;
    const now = readOrUndefined(file);
    if (now === undefined || now === last) return; // mid-replace, removed, or unchanged
    last = now;
    onChange();
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
      // ConfigMap volumes change `..data`; everything else changes the file's own name.
      if (changed !== null && changed !== name && !String(changed).startsWith('..')) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(check, debounceMs);
      timer.unref();
    });
  } catch {
    watcher = undefined; // no such directory: SIGHUP still works
  }
  return {
    close() {
      if (timer) clearTimeout(timer);
      watcher?.close();
    },
  };
}

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
