/**
 * `nodebgp lab ...`: bring containerlab topologies up in network namespaces (no Docker) and look at them.
 * Exit codes: 0 ok, 1 failure (lab not ready, a ping failed, a command failed), 2 usage.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatMatrix, pingMatrix, sessions, waitReady } from './runner/checks.js';
import { frrPids } from './runner/frr.js';
import { down, execIn, repoRoot, up } from './runner/lab.js';
import { alive } from '../toolkit/index.js';
import { findRun, listRuns, nodeState, type LabState, type NodeState } from './runner/state.js';
import { loadTopology, TopologyError } from './runner/topology.js';

const USAGE = `usage: nodebgp lab COMMAND ...

  lab up <topology-file|name> [--name RUN] [--keep-on-failure]
                                       bring a topology up in network namespaces, as a new run
  lab down <run|lab>                   stop everything of the run and delete its namespaces
  lab status [<run|lab>] [--json]      processes and BGP sessions per node; without a name: the runs
  lab exec <run|lab> <node> -- <cmd...>  run a command in a node (vtysh/nodebgp point at it)
  lab ping-matrix <run|lab>            ping from a pod on every node to every other node
  lab wait <run|lab> [--timeout 60]    until sessions are up and every podCIDR is routed

A topology <name> alone means labs/<name>/<name>.clab.yml. Every up is a run with its own name
(<lab>-xxxx, or --name), its own namespaces and state, so a topology can be up more than once;
a lab's name stands for its run while only one is up. State: $NODEBGP_LABS_STATE or /run/nodebgp-labs.
`;

class UsageError extends Error {}

/** Resolves `mesh` to labs/mesh/mesh.clab.yml; anything with a slash or .yml is a path. */
export function topologyPath(arg: string): string {
  if (arg.includes('/') || arg.endsWith('.yml') || arg.endsWith('.yaml')) return arg;
  return join(repoRoot(), 'labs', arg, `${arg}.clab.yml`);
}

/** A run or lab name, or a topology file whose lab is meant (so `lab down labs/mesh/mesh.clab.yml` works too). */
function labName(arg: string): string {
  return arg.endsWith('.yml') || arg.endsWith('.yaml') ? loadTopology(arg).name : arg;
}

/** The run an argument names: the run itself, or the only run of a lab (state.ts findRun). */
function loaded(arg: string): LabState {
  return findRun(labName(arg), listRuns());
}

async function cmdUp(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'keep-on-failure': { type: 'boolean' }, name: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('lab up takes one topology');
  const topo = loadTopology(topologyPath(positionals[0]));
  const state = await up(topo, {
    ...(values.name !== undefined ? { name: values.name } : {}),
    keepOnFailure: values['keep-on-failure'] === true,
    log: (l) => process.stdout.write(`${l}\n`),
  });
  process.stdout.write(
    `lab ${topo.name} is up as ${state.name} (${topo.nodes.length} nodes, ${topo.links.length} links)\n`,
  );
  return 0;
}

async function cmdDown(args: string[]): Promise<number> {
  if (args.length !== 1) throw new UsageError('lab down takes one run or lab name');
  const name = labName(args[0]);
  const runs = listRuns();
  // A name that matches no run is still taken down: what a run of that name left without its state.
  const run = runs.some((r) => r.name === name || r.lab === name) ? findRun(name, runs).name : name;
  const removed = await down(run);
  process.stdout.write(`lab ${run} is down (${removed.length} namespaces removed)\n`);
  return 0;
}

function processes(st: NodeState): Record<string, number> {
  if (st.role === 'frr') return frrPids(st);
  if (st.role !== 'nodebgp') return {};
  const file = join(st.dir, 'nodebgp.pid');
  if (!existsSync(file)) return {};
  const pid = Number(readFileSync(file, 'utf8').trim());
  return alive(pid) ? { nodebgp: pid } : {};
}

async function cmdStatus(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean' } },
  });
  if (positionals.length > 1) throw new UsageError('lab status takes one run or lab name, or none');
  if (positionals.length === 0) return listStatus(values.json === true);
  const state = loaded(positionals[0]);
  const nodes = [];
  for (const st of state.nodes) {
    let bgp: { peer: string; state: string }[] | string;
    try {
      bgp = await sessions(st);
    } catch (e) {
      bgp = `unreachable: ${(e as Error).message}`;
    }
    nodes.push({ node: st.name, role: st.role, namespace: st.ns, processes: processes(st), sessions: bgp });
  }
  if (values.json) {
    process.stdout.write(JSON.stringify({ lab: state.lab, run: state.name, nodes }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(`lab ${state.lab}, run ${state.name}\n`);
  for (const n of nodes) {
    const procs =
      Object.entries(n.processes)
        .map(([k, v]) => `${k}[${v}]`)
        .join(' ') || '-';
    process.stdout.write(`${n.node.padEnd(10)} ${n.role.padEnd(8)} ${n.namespace.padEnd(26)} ${procs}\n`);
    if (typeof n.sessions === 'string') process.stdout.write(`    ${n.sessions}\n`);
    else for (const s of n.sessions) process.stdout.write(`    ${s.peer.padEnd(28)} ${s.state}\n`);
  }
  return 0;
}

/** The runs that are up, one a line (or as JSON). */
function listStatus(json: boolean): number {
  const runs = listRuns().map((r) => ({
    run: r.name,
    lab: r.lab,
    nodes: r.nodes.length,
    createdAt: r.createdAt,
    ...(r.owner !== undefined ? { owner: r.owner } : {}),
  }));
  if (json) process.stdout.write(JSON.stringify(runs, null, 2) + '\n');
  else if (runs.length === 0) process.stdout.write('no lab is up\n');
  else
    for (const r of runs)
      process.stdout.write(
        `${r.run.padEnd(34)} ${r.lab.padEnd(20)} ${String(r.nodes).padStart(3)} nodes  since ${r.createdAt}` +
          `${r.owner !== undefined ? `  (taken down with process ${r.owner})` : ''}\n`,
      );
  return 0;
}

async function cmdExec(args: string[]): Promise<number> {
  const sep = args.indexOf('--');
  if (sep !== 2 || args.length < 4) throw new UsageError('lab exec <name> <node> -- <cmd...>');
  const st = nodeState(loaded(args[0]), args[1]);
  return execIn(st, args.slice(3));
}

async function cmdPing(args: string[]): Promise<number> {
  if (args.length !== 1) throw new UsageError('lab ping-matrix takes one run or lab name');
  const results = await pingMatrix(loaded(args[0]));
  process.stdout.write(formatMatrix(results));
  const failed = results.filter((r) => !r.ok);
  for (const f of failed) process.stdout.write(`FAIL ${f.from} -> ${f.to} ${f.address}\n`);
  return failed.length === 0 && results.length > 0 ? 0 : 1;
}

async function cmdWait(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { timeout: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('lab wait takes one run or lab name');
  const seconds = Number(values.timeout ?? '60');
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new UsageError(`--timeout ${values.timeout}: expected seconds`);
  const state = loaded(positionals[0]);
  const start = Date.now();
  const r = await waitReady(state, seconds * 1000);
  if (r.ready) {
    process.stdout.write(`lab ${state.name} ready in ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
    return 0;
  }
  process.stdout.write(
    `lab ${state.name} not ready after ${seconds} s:\n${r.missing.map((m) => `  ${m}\n`).join('')}`,
  );
  return 1;
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  up: cmdUp,
  down: cmdDown,
  status: cmdStatus,
  exec: cmdExec,
  'ping-matrix': cmdPing,
  wait: cmdWait,
};

/** Entry point for `nodebgp lab ...`; argv is everything after `lab`. */
export async function labMain(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const handler = cmd === undefined ? undefined : COMMANDS[cmd];
  if (!handler) {
    process.stderr.write(USAGE);
    return cmd === undefined || cmd === '--help' || cmd === 'help' ? (cmd === undefined ? 2 : 0) : 2;
  }
  try {
    return await handler(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`lab: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`${e instanceof TopologyError ? e.message : (e as Error).message}\n`);
    return 1;
  }
}
