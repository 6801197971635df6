/**
 * The namespace runner: brings a containerlab topology up without Docker and takes it down again. Each `up`
 * is a run with a name of its own (state.ts), so one topology can be up several times on one machine.
 *
 * up:   claims the run's state directory and writes state.json first (so a failed up can always be undone),
 *       then one namespace per node (`clab-<run>-<node>`), a Linux bridge `br0` in each bridge node's
 *       namespace, one veth pair per link with the file's interface names (bridge-side ends enslaved to br0),
 *       each node's exec lines in order inside its namespace (pod namespaces renamed for the run), then FRR
 *       (image contains "frr") or nodebgp (image contains "nodebgp").
 * down: every process in every namespace of the run, the namespaces (pods included), the state directory.
 *       Idempotent; works after a failed up, and from any process.
 */
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  addVeth,
  alive,
  createNamespace,
  destroyNamespaces,
  inNs,
  destroyNamespacesSync,
  listNamespaces,
  onExit,
  run,
  startLogged,
  until,
} from '../../toolkit/index.js';
import { startFrr, bindFor } from './frr.js';
import {
  claimRun,
  controlSocket,
  frrDir,
  labDir,
  listRuns,
  newRunName,
  nodeNamespace,
  podNamespace,
  readState,
  RUN_NAME,
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
  /** The run's name (default `<lab>-<4 random characters>`); refused when a run of that name is up. */
  readonly name?: string;
  /** Leave what was brought up when `up` fails (and when it is interrupted), to look at it. */
  readonly keepOnFailure?: boolean;
  /**
   * Take the run down when this process exits, also on SIGINT/SIGTERM (tests). Otherwise the run outlives the
   * process once `up` has succeeded (the CLI): `lab down` finds it by its state.
   */
  readonly teardownOnExit?: boolean;
  readonly log?: (line: string) => void;
}

function planState(topo: Topology, run: string, owner: number | undefined): LabState {
  const dir = labDir(run);
  return {
    name: run,
    lab: topo.name,
    topologyFile: topo.file,
    createdAt: new Date().toISOString(),
    ...(owner !== undefined ? { owner } : {}),
    nodes: topo.nodes.map((n) => ({
      name: n.name,
      role: n.role,
      ns: nodeNamespace(run, n.name),
      podNamespaces: n.podNamespaces.map((p) => podNamespace(topo.name, run, p)),
      dir: join(dir, n.name),
    })),
  };
}

/**
 * Claims a run name: the given one, or a fresh `<lab>-xxxx`. A name is taken when its state directory exists,
 * or when a namespace already carries it (left by a run whose state was removed by hand).
 */
function claimName(topo: Topology, wanted: string | undefined): string {
  const inUse = (run: string): boolean =>
    [...listNamespaces()].some((ns) => ns.startsWith(`clab-${run}-`) || ns.startsWith(`${run}-`));
  if (wanted !== undefined) {
    if (!RUN_NAME.test(wanted))
      throw new Error(`labs: run name '${wanted}' must be 1-32 characters of a-z, 0-9 and -`);
    if (inUse(wanted) || !claimRun(wanted))
      throw new Error(`labs: lab ${wanted} is already up (lab down ${wanted} first)`);
    return wanted;
  }
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const name = newRunName(topo.name);
    if (!inUse(name) && claimRun(name)) return name;
  }
  throw new Error(`labs: no free run name for lab ${topo.name}`);
}

/** What each run this process owns needs to forget when it is taken down by `down` (its exit hook). */
const exitHooks = new Map<string, () => void>();

/**
 * Brings a run of the topology up and returns its state. On failure it is taken down again (unless
 * keepOnFailure), and so it is when the process is interrupted while bringing it up.
 */
export async function up(topo: Topology, opts: UpOptions = {}): Promise<LabState> {
  const log = opts.log ?? (() => {});
  const run = claimName(topo, opts.name);
  const state = planState(topo, run, opts.teardownOnExit ? process.pid : undefined);
  writeState(state);
  const forget = opts.keepOnFailure ? () => false : onExit(() => downSync(state));
  exitHooks.set(run, forget);
  try {
    await createNodes(topo, state, log);
    createLinks(topo, state);
    const pods = new Map(
      topo.nodes.flatMap((n) => n.podNamespaces.map((p) => [p, podNamespace(topo.name, run, p)])),
    );
    for (const node of topo.nodes) await runExec(node, byName(state, node.name), pods, log);
    for (const node of topo.nodes) await startNode(node, byName(state, node.name), log);
  } catch (e) {
    if (!opts.keepOnFailure) await down(run);
    throw e;
  }
  if (!opts.teardownOnExit) {
    forget();
    exitHooks.delete(run);
  }
  return state;
}

const byName = (s: LabState, name: string): NodeState => s.nodes.find((n) => n.name === name) as NodeState;

async function createNodes(topo: Topology, state: LabState, log: (l: string) => void): Promise<void> {
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
      // The topology's own, before the node's links exist: `default.*` then applies to its veths.
      const node = topo.nodes.find((n) => n.name === st.name);
      for (const [key, value] of Object.entries(node?.sysctls ?? {}))
        await run(inNs(st.ns, ['sysctl', '-qw', `${key}=${value}`]));
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

/** Runs a node's exec lines, with the file's pod namespace names replaced by the run's (`pods`). */
async function runExec(
  node: LabNode,
  st: NodeState,
  pods: ReadonlyMap<string, string>,
  log: (l: string) => void,
): Promise<void> {
  for (const line of node.exec) {
    const argv = line.map((word) => pods.get(word) ?? word);
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

/**
 * Takes a run down: kills every process in its namespaces, deletes them and its state directory; returns the
 * namespaces it deleted. Without a state (removed by hand) it still takes the node namespaces named like the
 * run's (`clab-<run>-*`) that no other run's state claims (run "a" must not take "a-b"'s clab-a-b-n1).
 */
export async function down(run: string): Promise<string[]> {
  const state = readState(run);
  const existing = listNamespaces();
  const owned = state ? labNamespaces(state) : [];
  if (!state) {
    const others = new Set(
      listRuns()
        .filter((r) => r.name !== run)
        .flatMap(labNamespaces),
    );
    for (const ns of existing) if (ns.startsWith(`clab-${run}-`) && !others.has(ns)) owned.push(ns);
  }
  const removed = await destroyNamespaces(
    owned.filter((ns) => existing.has(ns)),
    1500,
  );
  rmSync(labDir(run), { recursive: true, force: true });
  exitHooks.get(run)?.();
  exitHooks.delete(run);
  return removed;
}

/** `down` for an exit handler: no grace period, synchronous. */
function downSync(state: LabState): void {
  destroyNamespacesSync(labNamespaces(state));
  rmSync(labDir(state.name), { recursive: true, force: true });
}

/**
 * Takes down the runs whose owner process is gone (a test run killed before its exit handler could run);
 * returns their names. Runs without an owner (brought up by the CLI) are never touched.
 */
export async function downStale(): Promise<string[]> {
  const stale = listRuns().filter((r) => r.owner !== undefined && r.owner !== process.pid && !alive(r.owner));
  for (const r of stale) await down(r.name);
  return stale.map((r) => r.name);
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
