/**
 * FRR inside one node's namespace. The container image runs FRR with /etc/frr/daemons and /etc/frr/frr.conf;
 * here the toolkit's FRR starter (toolkit/frr.ts) runs zebra and the daemons the bound `daemons` file enables,
 * detached so they outlive `nodebgp lab up`, each with its own vty/zserv/pid/log paths under the node's
 * state directory and an empty startup config (never the host's /etc/frr); the bound frr.conf is then applied
 * with `vtysh --vty_socket DIR -f frr.conf`, as the image's integrated config would be.
 */
import { readFileSync } from 'node:fs';
import {
  frrPids as instancePids,
  inNs,
  startFrr as startFrrInstance,
  tryRun,
  vtyshArgv,
} from '../../toolkit/index.js';
import { frrDir, type NodeState } from './state.js';
import type { LabNode } from './topology.js';

/** Daemons the runner can start (zebra always runs), in start order: bfdd before bgpd asks it for sessions. */
const SUPPORTED = ['bfdd', 'bgpd', 'staticd'] as const;

export function bindFor(node: LabNode, target: string): string | undefined {
  return node.binds.find((b) => b.target === target)?.source;
}

/** The daemons a `daemons` file switches on (`bgpd=yes`), limited to those the runner supports. */
export function enabledDaemons(text: string): (typeof SUPPORTED)[number][] {
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

/** Starts zebra and the enabled daemons in the node's namespace and applies the bound frr.conf. */
export async function startFrr(node: LabNode, st: NodeState): Promise<void> {
  const conf = bindFor(node, '/etc/frr/frr.conf');
  const daemonsFile = bindFor(node, '/etc/frr/daemons');
  if (!conf) throw new Error(`labs: node ${node.name}: no bind for /etc/frr/frr.conf`);
  const daemons = daemonsFile ? enabledDaemons(readFileSync(daemonsFile, 'utf8')) : ['bgpd' as const];
  await startFrrInstance({ ns: st.ns, dir: frrDir(st), daemons, apply: conf, detached: true });
}

/** Pids of the node's FRR daemons that are running. */
export function frrPids(st: NodeState): Record<string, number> {
  return instancePids(frrDir(st));
}

/** Runs one vtysh command against the node's FRR; resolves with stdout. */
export async function vtysh(st: NodeState, command: string): Promise<string> {
  const r = await tryRun(inNs(st.ns, vtyshArgv(frrDir(st), [command])));
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
