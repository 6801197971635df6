/**
 * The per-lab state directory, so `down`, `status` and `exec` work from another process than `up`:
 *
 *   $NODEBGP_LABS_STATE (default /run/nodebgp-labs)/<lab>/
 *     state.json            the topology file, every namespace the lab owns (written before any is created)
 *     <node>/               per node: FRR sockets and pid files, the nodebgp control socket, logs,
 *       bin/vtysh           a wrapper pointing vtysh at this node's FRR
 *       bin/nodebgp         a wrapper pointing the nodebgp CLI at this node's control socket
 *
 * The default is short on purpose: Unix socket paths are limited to 107 bytes.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeRole } from './topology.js';

export interface NodeState {
  readonly name: string;
  readonly role: NodeRole;
  readonly ns: string;
  readonly podNamespaces: readonly string[];
  readonly dir: string;
}

export interface LabState {
  readonly name: string;
  readonly topologyFile: string;
  readonly createdAt: string;
  readonly nodes: readonly NodeState[];
}

export function stateRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.NODEBGP_LABS_STATE ?? '/run/nodebgp-labs';
}

export function labDir(lab: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(stateRoot(env), lab);
}

/** The namespace of a node: `clab-<lab>-<node>`, like containerlab's container names. */
export function nodeNamespace(lab: string, node: string): string {
  return `clab-${lab}-${node}`;
}

export function writeState(state: LabState, env: NodeJS.ProcessEnv = process.env): void {
  const dir = labDir(state.name, env);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state, null, 2) + '\n');
}

export function readState(lab: string, env: NodeJS.ProcessEnv = process.env): LabState | undefined {
  const file = join(labDir(lab, env), 'state.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as LabState;
}

export function nodeState(state: LabState, node: string): NodeState {
  const n = state.nodes.find((x) => x.name === node);
  if (!n)
    throw new Error(
      `labs: lab ${state.name} has no node '${node}' (nodes: ${state.nodes.map((x) => x.name).join(', ')})`,
    );
  return n;
}

/** The nodebgp control socket of a node. */
export const controlSocket = (n: NodeState): string => join(n.dir, 'nodebgp.sock');
/** The directory of a node's FRR vty sockets, zserv socket and pid files. */
export const frrDir = (n: NodeState): string => join(n.dir, 'frr');
