/**
 * The state of each lab run, so `down`, `status` and `exec` work from another process than `up`.
 *
 * Every `up` is a run with a name unique on the machine — `<lab>-<4 random characters>` unless given — and
 * every name the run puts on the host derives from it, so two runs of one topology (two users, two test files,
 * two helpers on a shared machine) never meet:
 *
 *   node namespaces   clab-<run>-<node>           (containerlab names its containers clab-<lab>-<node>)
 *   pod namespaces    <run>-<node>-<rest>         (the file's <lab>-<node>-<rest>, renamed in its exec lines)
 *   state directory   $NODEBGP_LABS_STATE (default /run/nodebgp-labs)/<run>/
 *     state.json      the topology, every namespace the run owns (written before any is created)
 *     <node>/         per node: FRR sockets, pid files and logs, the nodebgp control socket and log,
 *       bin/vtysh     a wrapper pointing vtysh at this node's FRR
 *       bin/nodebgp   a wrapper pointing the nodebgp CLI at this node's control socket
 *
 * Interfaces keep the file's names: veths are created straight into their namespaces, so they never exist
 * on the host and cannot collide. The default root is short on purpose: Unix socket paths are limited to
 * 107 bytes.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
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
  /** The run's name: its state directory, and the prefix of its namespaces. */
  readonly name: string;
  /** The topology's name (`name:` in the .clab.yml). */
  readonly lab: string;
  readonly topologyFile: string;
  readonly createdAt: string;
  /** The process that takes the run down when it exits (a test run); absent when the run outlives `up`. */
  readonly owner?: number;
  readonly nodes: readonly NodeState[];
}

/** A run name: what a lab name may be, and room for the run's suffix. */
export const RUN_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

export function stateRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.NODEBGP_LABS_STATE ?? '/run/nodebgp-labs';
}

export function labDir(run: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(stateRoot(env), run);
}

/** A new run name for a lab: `<lab>-` and four random base-36 characters. */
export function newRunName(lab: string): string {
  const n = randomBytes(4).readUInt32BE(0) % 36 ** 4;
  return `${lab}-${n.toString(36).padStart(4, '0')}`;
}

/** The namespace of a node of a run: `clab-<run>-<node>`. */
export function nodeNamespace(run: string, node: string): string {
  return `clab-${run}-${node}`;
}

/** A pod namespace of the file (`<lab>-<node>-…`, which the parser enforces) renamed for a run. */
export function podNamespace(lab: string, run: string, filePod: string): string {
  return `${run}-${filePod.slice(lab.length + 1)}`;
}

/**
 * Takes the state directory of a new run: the one step that makes its name unique (mkdir either creates the
 * directory or fails because it exists). False when a run of that name exists.
 */
export function claimRun(run: string, env: NodeJS.ProcessEnv = process.env): boolean {
  mkdirSync(stateRoot(env), { recursive: true });
  try {
    mkdirSync(labDir(run, env));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

export function writeState(state: LabState, env: NodeJS.ProcessEnv = process.env): void {
  const dir = labDir(state.name, env);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state, null, 2) + '\n');
}

export function readState(run: string, env: NodeJS.ProcessEnv = process.env): LabState | undefined {
  const file = join(labDir(run, env), 'state.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as LabState;
}

/** Every run whose state is under the root. */
export function listRuns(env: NodeJS.ProcessEnv = process.env): LabState[] {
  const root = stateRoot(env);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .sort()
    .flatMap((d) => readState(d, env) ?? []);
}

/**
 * The run `arg` names: the run of that name, else the only run of the lab of that name. Throws when nothing
 * matches, or when several runs of the lab are up (naming them: the caller must pick one).
 */
export function findRun(arg: string, runs: readonly LabState[]): LabState {
  const exact = runs.find((r) => r.name === arg);
  if (exact) return exact;
  const ofLab = runs.filter((r) => r.lab === arg);
  if (ofLab.length === 1) return ofLab[0];
  if (ofLab.length === 0) throw new Error(`labs: lab ${arg} is not up`);
  throw new Error(
    `labs: ${ofLab.length} runs of lab ${arg} are up (${ofLab.map((r) => r.name).join(', ')}): name one`,
  );
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
