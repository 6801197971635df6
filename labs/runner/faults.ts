/**
 * Faults to inject into a running lab (for failure tests and demos): stop or restart a node's FRR or nodebgp,
 * remove a node altogether, and measure traffic with a continuous ping while it happens.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { frrPids, startFrr } from './frr.js';
import { startNodebgp } from './lab.js';
import { alive, destroyNamespacesSync, inNs, tryRun, until } from '../../toolkit/index.js';
import { nodeState, type LabState } from './state.js';
import { loadTopology, type LabNode } from './topology.js';

function labNode(state: LabState, name: string): LabNode {
  const n = loadTopology(state.topologyFile).nodes.find((x) => x.name === name);
  if (!n) throw new Error(`labs: ${state.topologyFile} has no node '${name}'`);
  return n;
}

async function waitGone(pids: readonly number[], ms = 5000): Promise<void> {
  await until(() => !pids.some(alive), {
    what: `labs: processes ${pids.join(', ')} to exit`,
    timeout: ms,
    interval: 20,
  });
}

/** Stops a node's FRR daemons with `signal` (SIGTERM: clean shutdown; SIGKILL: a crash). */
export async function stopFrr(
  state: LabState,
  node: string,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  const pids = Object.values(frrPids(nodeState(state, node)));
  for (const p of pids) process.kill(p, signal);
  await waitGone(pids);
}

/**
 * Sends a signal to some of a node's FRR daemons without waiting: SIGSTOP freezes them (TCP sessions stay
 * open but fall silent, so peers notice only when their hold timer expires), SIGCONT thaws them.
 */
export function signalFrr(state: LabState, node: string, signal: NodeJS.Signals, daemons = ['bgpd']): void {
  for (const [d, pid] of Object.entries(frrPids(nodeState(state, node))))
    if (daemons.includes(d)) process.kill(pid, signal);
}

/** Starts a node's FRR again with its bound config. */
export async function startFrrAgain(state: LabState, node: string): Promise<void> {
  await startFrr(labNode(state, node), nodeState(state, node));
}

function nodebgpPid(state: LabState, node: string): number | undefined {
  const file = join(nodeState(state, node).dir, 'nodebgp.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return alive(pid) ? pid : undefined;
}

/** Stops a node's nodebgp with `signal`. */
export async function stopNodebgp(
  state: LabState,
  node: string,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  const pid = nodebgpPid(state, node);
  if (pid === undefined) return;
  process.kill(pid, signal);
  await waitGone([pid], 10_000);
}

/** Starts a node's nodebgp again; resolves once its control socket answers. */
export async function startNodebgpAgain(state: LabState, node: string): Promise<number> {
  return startNodebgp(labNode(state, node), nodeState(state, node));
}

/** Removes a node as if its machine vanished: its processes are killed, its namespaces (pods too) deleted. */
export async function removeNode(state: LabState, node: string): Promise<void> {
  const st = nodeState(state, node);
  destroyNamespacesSync([...st.podNamespaces, st.ns]);
}

export interface PingRun {
  readonly sent: number;
  readonly received: number;
}

/** A ping every `intervalMs` for `count` packets from namespace `ns` to `address`. */
export async function continuousPing(
  ns: string,
  address: string,
  count: number,
  intervalMs = 50,
): Promise<PingRun> {
  const r = await tryRun(
    inNs(ns, ['ping', '-n', '-q', '-i', String(intervalMs / 1000), '-c', String(count), '-W', '1', address]),
    { timeoutMs: count * intervalMs + 10_000 },
  );
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return m ? { sent: Number(m[1]), received: Number(m[2]) } : { sent: count, received: 0 };
}
