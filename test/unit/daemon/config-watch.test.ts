import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watchConfigFile, type ConfigWatcher } from '../../../daemon/config-watch.js';
import { until } from '../../../toolkit/index.js';

describe('config file watch', () => {
  let dir: string;
  let watcher: ConfigWatcher | undefined;
  afterEach(() => {
    watcher?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reloads once per real change, not when the same bytes are written again', async () => {
    dir = mkdtempSync(join(tmpdir(), 'nbcw-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'asn: 1\n');
    let reloads = 0;
    watcher = watchConfigFile(file, () => reloads++, 50);
    writeFileSync(file, 'asn: 1\n'); // touched, unchanged
    await new Promise((r) => setTimeout(r, 300));
    expect(reloads).toBe(0);
    writeFileSync(file, 'asn: 2\n');
    await until(() => reloads === 1, { timeout: 3000 });
    // An editor's save: a new file renamed over the old one.
    writeFileSync(join(dir, '.config.yaml.swp'), 'asn: 3\n');
    renameSync(join(dir, '.config.yaml.swp'), file);
    await until(() => reloads === 2, { timeout: 3000 });
    await new Promise((r) => setTimeout(r, 200));
    expect(reloads).toBe(2);
  });

  it('follows a ConfigMap volume update (the ..data symlink is swapped)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'nbcw-'));
    const v1 = join(dir, '..2026_11_23_v1');
    const v2 = join(dir, '..2026_11_23_v2');
    mkdirSync(v1);
    mkdirSync(v2);
    writeFileSync(join(v1, 'config.yaml'), 'asn: 1\n');
    writeFileSync(join(v2, 'config.yaml'), 'asn: 2\n');
    symlinkSync('..2026_11_23_v1', join(dir, '..data'));
    symlinkSync('..data/config.yaml', join(dir, 'config.yaml'));
    let reloads = 0;
    watcher = watchConfigFile(join(dir, 'config.yaml'), () => reloads++, 50);
    symlinkSync('..2026_11_23_v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await until(() => reloads === 1, { timeout: 3000 });
  });
});
