/**
 * Register nodebgp's route protocol number with iproute2, so `ip route` prints `proto nodebgp` instead of
 * `proto 202`: a one-line file in /etc/iproute2/rt_protos.d/ (read by iproute2 ≥ 4.x). Best effort — a
 * read-only /etc (a container image) only costs the pretty name.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KERNEL_DEFAULTS } from './defaults.js';

export const NODEBGP_PROTOCOL = KERNEL_DEFAULTS.protocol;
export const RT_PROTOS_DIR = '/etc/iproute2/rt_protos.d';

/** Returns true if the file is in place (written now or already right), false if it could not be written. */
export async function registerProtocol(
  protocol = NODEBGP_PROTOCOL,
  name = 'nodebgp',
  dir = RT_PROTOS_DIR,
): Promise<boolean> {
  const file = join(dir, `${name}.conf`);
  const line = `${protocol}\t${name}\n`;
  try {
    if ((await readFile(file, 'utf8').catch(() => '')) === line) return true;
    await mkdir(dir, { recursive: true });
    await writeFile(file, line);
    return true;
  } catch {
    return false;
  }
}
