/**
 * The namespace runner: brings a containerlab topology up without Docker and takes it down again.
 *
 * up:   state.json first (so a failed up can always be undone), then one namespace per node
 *       (`clab-<lab>-<node>`), a Linux bridge `br0` in each bridge node's namespace, one veth pair per link
 *       with the file's interface names (bridge-side ends enslaved to br0), each node's exec lines in order
 *       inside its namespace, then FRR (image contains "frr") or nodebgp (image contains "nodebgp").
 * down: every process in every namespace of the lab, the namespaces (pods included), the state directory.
 *       Idempotent; works after a failed up.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  addVeth,
  alive,
  createNamespace,
  destroyNamespaces,
  inNs,
  listNamespaces,
  run,
  startLogged,
  until,
} from '../../toolkit/index.js';
import { startFrr, bindFor } from './frr.js';
import {
  controlSocket,
  frrDir,
  labDir,
  nodeNamespace,
  readState,
  stateRoot,
  writeState,
  type LabState,
  type NodeState,
} from './state.js';
import type { LabNode, Topology } from './topology.js';

/** The repository root (labs/runner/ → ../..; dist/labs/runner/ → ../../..). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('labs: cannot find the repository root');
    dir = up;
  }
  return dir;
}

export const NODEBGP_CONFIG_TARGET = '/etc/nodebgp/config.yaml';

export interface UpOptions {
  readonly keepOnFailure?: boolean;
  readonly log?: (line: string) => void;
}

function planState(topo: Topology): LabState {
  const dir = labDir(topo.name);
  return {
    name: topo.name,
    topologyFile: topo.file,
    createdAt: new Date().toISOString(),
    nodes: topo.nodes.map((n) => ({
      name: n.name,
      role: n.role,
      ns: nodeNamespace(topo.name, n.name),
      podNamespaces: n.podNamespaces,
      dir: join(dir, n.name),
    })),
  };
}

/** Brings the lab up; on failure takes it down again unless keepOnFailure. */
export async function up(topo: Topology, opts: UpOptions = {}): Promise<LabState> {
  const log = opts.log ?? (() => {});
  if (readState(topo.name))
    throw new Error(`labs: lab ${topo.name} is already up (lab down ${topo.name} first)`);
  const state = planState(topo);
  writeState(state);
  try {
    await createNodes(state, log);
    createLinks(topo, state);
    for (const node of topo.nodes) await runExec(node, byName(state, node.name), log);
    for (const node of topo.nodes) await startNode(node, byName(state, node.name), log);
    return state;
  } catch (e) {
    if (!opts.keepOnFailure) await down(topo.name);
    throw e;
  }
}

const byName = (s: LabState, name: string): NodeState => s.nodes.find((n) => n.name === name) as NodeState;

async function createNodes(state: LabState, log: (l: string) => void): Promise<void> {
  for (const st of state.nodes) {
    mkdirSync(join(st.dir, 'bin'), { recursive: true });
    writeWrappers(st);
    createNamespace(st.ns);
    if (st.role === 'bridge') {
      await run(['ip', '-n', st.ns, 'link', 'add', BRIDGE, 'type', 'bridge']);
      await run(['ip', '-n', st.ns, 'link', 'set', BRIDGE, 'up']);
    } else {
      await run(inNs(st.ns, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']));
      await run(inNs(st.ns, ['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']));
    }
    log(`node ${st.name}: namespace ${st.ns} (${st.role})`);
  }
}

/** A bridge node's Linux bridge, inside its namespace. */
const BRIDGE = 'br0';

function createLinks(topo: Topology, state: LabState): void {
  const end = (ep: { node: string; iface: string }) => {
    const st = byName(state, ep.node);
    return { ns: st.ns, name: ep.iface, ...(st.role === 'bridge' ? { master: BRIDGE } : {}) };
  };
  for (const l of topo.links) addVeth(end(l.a), end(l.b));
}

/**
 * `ip netns add|delete` runs outside the node: `ip netns exec` gives its command a private (slave) mount
 * namespace, so a namespace bind-mounted from inside would never appear in the host's /run/netns.
 * Pod namespaces are separate namespaces either way (never nested), so the result is the same.
 */
const onHost = (argv: readonly string[]): boolean =>
  argv[0] === 'ip' && argv[1] === 'netns' && (argv[2] === 'add' || argv[2] === 'delete' || argv[2] === 'del');

async function runExec(node: LabNode, st: NodeState, log: (l: string) => void): Promise<void> {
  for (const argv of node.exec) {
    await run(onHost(argv) ? argv : inNs(st.ns, argv));
    log(`node ${node.name}: ${argv.join(' ')}`);
  }
}

async function startNode(node: LabNode, st: NodeState, log: (l: string) => void): Promise<void> {
  if (node.role === 'frr') {
    await startFrr(node, st);
    log(`node ${node.name}: FRR started`);
  } else if (node.role === 'nodebgp') {
    await startNodebgp(node, st);
    log(`node ${node.name}: nodebgp started`);
  }
}

/** Starts `bin/nodebgp run` in the node's namespace with its bound config and a per-node control socket. */
export async function startNodebgp(node: LabNode, st: NodeState): Promise<number> {
  const config = bindFor(node, NODEBGP_CONFIG_TARGET);
  if (!config) throw new Error(`labs: node ${node.name}: no bind for ${NODEBGP_CONFIG_TARGET}`);
  const bin = join(repoRoot(), 'bin', 'nodebgp');
  const sock = controlSocket(st);
  rmSync(sock, { force: true });
  const argv = inNs(st.ns, [process.execPath, bin, 'run', '--config', config, '--control-socket', sock]);
  const child = startLogged(argv, join(st.dir, 'nodebgp.log'), {
    env: { ...process.env, ...node.env },
    detached: true,
  });
  const pid = child.pid as number;
  writeFileSync(join(st.dir, 'nodebgp.pid'), `${pid}\n`);
  await until(() => existsSync(sock), {
    what: `labs: node ${node.name}: nodebgp control socket ${sock}`,
    timeout: 15_000,
    interval: 50,
    failIf: () =>
      child.exitCode !== null || !alive(pid)
        ? `nodebgp exited at start; see ${join(st.dir, 'nodebgp.log')}`
        : undefined,
  });
  return pid;
}

function writeWrappers(st: NodeState): void {
  const bin = join(st.dir, 'bin');
  const files: [string, string][] = [
    ['vtysh', `#!/bin/sh\nexec /usr/bin/vtysh --vty_socket '${frrDir(st)}' "$@"\n`],
    [
      'nodebgp',
      `#!/bin/sh\nNODEBGP_SOCKET='${controlSocket(st)}' exec '${process.execPath}' '${join(repoRoot(), 'bin', 'nodebgp')}' "$@"\n`,
    ],
  ];
  for (const [name, text] of files) {
    writeFileSync(join(bin, name), text);
    chmodSync(join(bin, name), 0o755);
  }
}

/** The environment `lab exec` gives a command: this node's vtysh/nodebgp wrappers first on PATH. */
export function nodeEnv(st: NodeState): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${join(st.dir, 'bin')}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
    NODEBGP_SOCKET: controlSocket(st),
  };
}

/** Every namespace the lab owns, pods first (they live inside nodes under Docker). */
export function labNamespaces(state: LabState): string[] {
  return [...state.nodes.flatMap((n) => n.podNamespaces), ...state.nodes.map((n) => n.ns)];
}

function otherLabs(lab: string): LabState[] {
  const root = stateRoot();
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((d) => d !== lab)
    .flatMap((d) => readState(d) ?? []);
}

/** Takes the lab down: kills every process in its namespaces, deletes them and the state directory. */
export async function down(lab: string): Promise<string[]> {
  const state = readState(lab);
  const existing = listNamespaces();
  const owned = state ? labNamespaces(state) : [];
  // Without state.json (removed by hand), still catch namespaces named like ours (clab-<lab>-*), but never
  // one that another lab's state claims (lab "a" must not take "a-b"'s clab-a-b-n1).
  if (!state) {
    const others = new Set(otherLabs(lab).flatMap(labNamespaces));
    for (const ns of existing) if (ns.startsWith(`clab-${lab}-`) && !others.has(ns)) owned.push(ns);
  }
  const removed = await destroyNamespaces(
    owned.filter((ns) => existing.has(ns)),
    1500,
  );
  rmSync(labDir(lab), { recursive: true, force: true });
  return removed;
}

/** Runs argv in a node's namespace with its environment; resolves with the exit code (output inherited). */
export async function execIn(st: NodeState, argv: readonly string[]): Promise<number> {
  const { spawn } = await import('node:child_process');
  return new Promise((res) => {
    const child = spawn('ip', ['netns', 'exec', st.ns, ...argv], { stdio: 'inherit', env: nodeEnv(st) });
    child.on('exit', (code) => res(code ?? 1));
    child.on('error', () => res(127));
  });
}
