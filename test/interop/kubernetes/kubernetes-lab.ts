/**
 * A small cluster in network namespaces for the Kubernetes interop scenarios:
 *
 *   lan   a namespace holding one Linux bridge (br0): the node network, 10.100.0.0/24
 *   api   the fake API server as its own process (apiserver-driver.ts), on 10.100.0.254:6443
 *   n<k>  one namespace per node, 10.100.0.<k>, running `bin/nodebgp run` with NODE_NAME=node-<k> and a
 *         kubeconfig that points at the API namespace; its kernel table is the node's own
 *   tor   FRR as a top-of-rack router, 10.100.0.100 (when a scenario asks for it)
 *
 * Every namespace carries the Lab's unique prefix; `teardown()` kills everything in them and deletes them.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import type { PeerStatus } from '../../../bgp/api.js';
import type { RouteView, StatusView } from '../../../daemon/views.js';
import { Daemon, Lab, NODEBGP_BIN, run, until, type Netns } from '../harness/index.js';
import { REPO } from '../harness/nodebgp.js';

export const API_ADDRESS = '10.100.0.254';
export const API_PORT = 6443;
export const CLUSTER_ASN = 64512;

export interface ClusterNode {
  readonly name: string;
  readonly address: string;
  readonly ns: Netns;
  readonly daemon: Daemon;
  readonly socket: string;
}

export class KubernetesLab {
  readonly lab = new Lab();
  readonly lan: Netns;
  private api: ChildProcess | undefined;
  private pending = new Map<number, (reply: { result?: unknown; error?: string }) => void>();
  private nextId = 1;
  readonly nodes = new Map<string, ClusterNode>();

  constructor() {
    this.lan = this.lab.namespace('lan');
    execFileSync('ip', ['-n', this.lan.name, 'link', 'add', 'br0', 'type', 'bridge']);
    execFileSync('ip', ['-n', this.lan.name, 'link', 'set', 'br0', 'up']);
  }

  /** A namespace on the node network with this address (a veth into the bridge). */
  attach(label: string, address: string): Netns {
    const ns = this.lab.namespace(label);
    const link = this.lab.link(ns, this.lan, { a: [`${address}/24`] });
    execFileSync('ip', ['-n', this.lan.name, 'link', 'set', link.b, 'master', 'br0']);
    return ns;
  }

  /** Bundles the driver with esbuild (Node 20 runs no TypeScript) and starts it in the "api" namespace. */
  async startApiServer(): Promise<void> {
    const ns = this.attach('api', API_ADDRESS);
    const out = join(this.lab.tempDir('api'), 'apiserver-driver.mjs');
    await run([
      join(REPO, 'node_modules', '.bin', 'esbuild'),
      join(REPO, 'test', 'interop', 'kubernetes', 'apiserver-driver.ts'),
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--packages=external',
      `--outfile=${out}`,
      '--log-level=warning',
    ]);
    const proc = ns.spawn(process.execPath, [out, API_ADDRESS, String(API_PORT)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.api = proc;
    const ready = new Promise<void>((resolve, reject) => {
      proc.once('exit', (code) => reject(new Error(`api server exited ${code}`)));
      const lines = createInterface({ input: proc.stdout! });
      lines.on('line', (line) => {
        const msg = JSON.parse(line) as { id?: number; ready?: string; result?: unknown; error?: string };
        if (msg.ready !== undefined) resolve();
        else if (msg.id !== undefined) this.pending.get(msg.id)?.(msg);
      });
    });
    await ready;
  }

  /** One command to the API server process (see apiserver-driver.ts). */
  async apiCall<T = unknown>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    const reply = new Promise<{ result?: unknown; error?: string }>((resolve) =>
      this.pending.set(id, resolve),
    );
    this.api!.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    const r = await reply;
    this.pending.delete(id);
    if (r.error !== undefined) throw new Error(`api ${op}: ${r.error}`);
    return r.result as T;
  }

  addNode(k: number, opts: { podCIDR?: boolean; labels?: Record<string, string> } = {}): Promise<unknown> {
    return this.apiCall('addNode', `node-${k}`, {
      podCIDRs: opts.podCIDR === false ? [] : [`10.244.${k}.0/24`],
      internalIPs: [`10.100.0.${k}`],
      labels: opts.labels,
    });
  }

  /**
   * `bin/nodebgp run` for node-<k> in its namespace; resolves once its control socket answers. `kubernetes`
   * adds keys to the config's kubernetes section, `top` top-level keys (e.g. `gracefulRestart`).
   */
  async startNode(
    k: number,
    kubernetes: Record<string, unknown> = {},
    top: Record<string, unknown> = {},
  ): Promise<ClusterNode> {
    const name = `node-${k}`;
    const address = `10.100.0.${k}`;
    const ns = this.attach(`n${k}`, address);
    const dir = this.lab.tempDir(name);
    const kubeconfig = join(dir, 'kubeconfig.yaml');
    writeFileSync(kubeconfig, kubeconfigText());
    const socket = join(dir, 'nodebgp.sock');
    const config = {
      asn: CLUSTER_ASN,
      kubernetes: {
        enabled: true,
        kubeconfig,
        resyncBackoff: { initialMs: 200, maxMs: 1000 },
        ...kubernetes,
      },
      kernel: { enabled: true, staleGraceSeconds: 3 },
      controlSocket: socket,
      log: { level: 'debug' },
      ...top,
    };
    const configFile = join(dir, 'nodebgp.yaml');
    writeFileSync(configFile, stringify(config));
    const proc = ns.spawn(process.execPath, [NODEBGP_BIN, 'run', '--config', configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_NAME: name },
    });
    const node: ClusterNode = { name, address, ns, daemon: new Daemon('nodebgp', ns, dir, proc), socket };
    this.nodes.set(name, node);
    await until(async () => Array.isArray(await this.neighbors(node)), {
      timeout: 20_000,
      what: `${name} control socket`,
      failIf: () => (node.daemon.running ? undefined : `${name} exited: ${node.daemon.log().slice(-2000)}`),
    });
    return node;
  }

  node(k: number): ClusterNode {
    const n = this.nodes.get(`node-${k}`);
    if (!n) throw new Error(`no node-${k}`);
    return n;
  }

  async cli<T>(node: ClusterNode, args: readonly string[]): Promise<T> {
    const out = await run([process.execPath, NODEBGP_BIN, ...args, '--json', '--socket', node.socket]);
    return JSON.parse(out) as T;
  }

  neighbors(node: ClusterNode): Promise<PeerStatus[]> {
    return this.cli<PeerStatus[]>(node, ['neighbors']);
  }

  routes(node: ClusterNode): Promise<RouteView[]> {
    return this.cli<RouteView[]>(node, ['routes']);
  }

  status(node: ClusterNode): Promise<StatusView> {
    return this.cli<StatusView>(node, ['status']);
  }

  /** `ip -n NS -j route show proto 202`, as prefix → gateway ("10.244.2.0/24" → "10.100.0.2"). */
  async kernelRoutes(node: ClusterNode): Promise<Record<string, string>> {
    const out = await node.ns.ip(['-j', 'route', 'show', 'proto', '202']);
    const routes = JSON.parse(out || '[]') as { dst: string; gateway?: string }[];
    return Object.fromEntries(routes.map((r) => [r.dst, r.gateway ?? '']));
  }

  /** Established peers' addresses, sorted. */
  async established(node: ClusterNode): Promise<string[]> {
    const peers = await this.neighbors(node);
    return peers
      .filter((p) => p.state === 'Established')
      .map((p) => p.address)
      .sort();
  }

  /** Each node's neighbors and the tail of its log, for a failed scenario's message. */
  async dump(): Promise<string> {
    const parts: string[] = [];
    for (const n of this.nodes.values()) {
      const peers = await this.neighbors(n).catch((e: Error) => e.message);
      parts.push(`== ${n.name} neighbors: ${JSON.stringify(peers)}\n${n.daemon.log().slice(-3000)}`);
    }
    return parts.join('\n');
  }

  teardown(): Promise<void> {
    return this.lab.teardown();
  }
}

function kubeconfigText(): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    // client-node refuses plain HTTP unless TLS verification is off (the fake server speaks HTTP).
    clusters: [
      {
        name: 'lab',
        cluster: { server: `http://${API_ADDRESS}:${API_PORT}`, 'insecure-skip-tls-verify': true },
      },
    ],
    users: [{ name: 'lab', user: { token: 'lab-token' } }],
    contexts: [{ name: 'lab', context: { cluster: 'lab', user: 'lab' } }],
    'current-context': 'lab',
  });
}
