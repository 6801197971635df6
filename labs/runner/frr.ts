/**
 * FRR inside one node's namespace. The container image runs FRR with /etc/frr/daemons and /etc/frr/frr.conf;
 * here every daemon gets its own vty/zserv/pid paths under the node's state directory (`--vty_socket`, `-z`,
 * `-i`), starts with an empty config (never the host's /etc/frr), and the bound frr.conf is then applied
 * with `vtysh --vty_socket DIR -f frr.conf`, as the image's integrated config would be.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alive, inNs, run, sleep, tryRun } from '../../toolkit/index.js';
import { frrDir, type NodeState } from './state.js';
import type { LabNode } from './topology.js';

const FRR_BIN = '/usr/lib/frr';
/**
 * FRR drops to this user; root cannot be used because the daemons insist that their user belongs to the
 * vty group (frrvty), which root is not on Debian. The node's FRR directory is handed to it.
 */
const FRR_USER = 'frr';
/** Daemons the runner can start (zebra always runs). */
const SUPPORTED = ['bgpd', 'staticd'] as const;

export function bindFor(node: LabNode, target: string): string | undefined {
  return node.binds.find((b) => b.target === target)?.source;
}

/** The daemons a `daemons` file switches on (`bgpd=yes`), limited to those the runner supports. */
export function enabledDaemons(text: string): string[] {
  const on = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z0-9]+)\s*=\s*"?yes"?\s*$/.exec(line);
    if (m) on.add(m[1]);
  }
  const unsupported = [...on].filter((d) => d !== 'zebra' && !(SUPPORTED as readonly string[]).includes(d));
  if (unsupported.length > 0)
    throw new Error(`labs: daemons ${unsupported.join(', ')} are not supported by the namespace runner`);
  return SUPPORTED.filter((d) => on.has(d));
}

function daemonArgv(daemon: string, dir: string): string[] {
  return [
    join(FRR_BIN, daemon),
    '-d',
    '-u',
    FRR_USER,
    '-g',
    FRR_USER,
    '-P',
    '0',
    '-f',
    join(dir, 'empty.conf'),
    '--vty_socket',
    dir,
    '-z',
    join(dir, 'zserv.api'),
    '-i',
    join(dir, `${daemon}.pid`),
    '--log',
    `file:${join(dir, `${daemon}.log`)}`,
  ];
}

async function waitFor(path: string, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new Error(`labs: ${what}: ${path} did not appear within ${ms} ms`);
    await sleep(25);
  }
}

/** Starts zebra and the enabled daemons in the node's namespace and applies the bound frr.conf. */
export async function startFrr(node: LabNode, st: NodeState): Promise<void> {
  const conf = bindFor(node, '/etc/frr/frr.conf');
  const daemonsFile = bindFor(node, '/etc/frr/daemons');
  if (!conf) throw new Error(`labs: node ${node.name}: no bind for /etc/frr/frr.conf`);
  const daemons = daemonsFile ? enabledDaemons(readFileSync(daemonsFile, 'utf8')) : ['bgpd'];
  const dir = frrDir(st);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) rmSync(join(dir, f), { force: true });
  writeFileSync(join(dir, 'empty.conf'), '');
  await run(['chown', '-R', `${FRR_USER}:${FRR_USER}`, dir]);
  await run(inNs(st.ns, daemonArgv('zebra', dir)));
  await waitFor(join(dir, 'zserv.api'), `${node.name} zebra`);
  for (const d of daemons) {
    await run(inNs(st.ns, daemonArgv(d, dir)));
    await waitFor(join(dir, `${d}.vty`), `${node.name} ${d}`);
  }
  await run(inNs(st.ns, ['vtysh', '--vty_socket', dir, '-f', conf]));
}

/** Pids of the node's FRR daemons that are running. */
export function frrPids(st: NodeState): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of ['zebra', ...SUPPORTED]) {
    const file = join(frrDir(st), `${d}.pid`);
    if (!existsSync(file)) continue;
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (pid > 0 && alive(pid)) out[d] = pid;
  }
  return out;
}

/** Runs one vtysh command against the node's FRR; resolves with stdout. */
export async function vtysh(st: NodeState, command: string): Promise<string> {
  const r = await tryRun(inNs(st.ns, ['vtysh', '--vty_socket', frrDir(st), '-c', command]));
  if (r.code !== 0)
    throw new Error(`labs: ${st.name}: vtysh -c '${command}': ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** Stops FRR on a node the hard way (SIGKILL), as a crash would; returns the daemons killed. */
export function killFrr(st: NodeState, only?: readonly string[]): string[] {
  const killed: string[] = [];
  for (const [d, pid] of Object.entries(frrPids(st))) {
    if (only && !only.includes(d)) continue;
    process.kill(pid, 'SIGKILL');
    killed.push(d);
  }
  return killed;
}
