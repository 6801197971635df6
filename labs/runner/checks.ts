/**
 * What a lab looks like from outside: BGP sessions per node (FRR through vtysh json, nodebgp through its
 * control socket), kernel route tables, pod addresses, pod-to-pod pings, and convergence measured by polling
 * every node's kernel tables.
 */
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { inNs, tryRun, until } from '../../toolkit/index.js';
import { vtysh } from './frr.js';
import { controlSocket, type LabState, type NodeState } from './state.js';
import { loadTopology } from './topology.js';
import { NODEBGP_CONFIG_TARGET } from './lab.js';
import { bindFor } from './frr.js';

export interface Session {
  readonly peer: string;
  readonly state: string;
}

/** GET a path on a nodebgp control socket and parse the JSON body. */
export function controlGet(socket: string, path: string, timeoutMs = 3000): Promise<unknown> {
  return new Promise((res, rej) => {
    const req = request({ socketPath: socket, path, method: 'GET', timeout: timeoutMs }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => {
        try {
          res(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (e) {
          rej(e as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', rej);
    req.end();
  });
}

/** The BGP sessions of a node; an unreachable daemon yields a rejected promise. */
export async function sessions(st: NodeState): Promise<Session[]> {
  if (st.role === 'frr') {
    const body = JSON.parse(await vtysh(st, 'show bgp neighbors json')) as Record<
      string,
      { bgpState?: string }
    >;
    return Object.entries(body).map(([peer, v]) => ({ peer, state: v.bgpState ?? 'unknown' }));
  }
  if (st.role === 'nodebgp') {
    const body = (await controlGet(controlSocket(st), '/neighbors')) as { address: string; state: string }[];
    return body.map((p) => ({ peer: p.address, state: p.state }));
  }
  return [];
}

/** Label naming a node's pod CIDRs (comma-separated) when it is not a nodebgp node, e.g. an FRR stand-in. */
export const POD_CIDRS_LABEL = 'labs.pod-cidrs';

/** Pod CIDRs per node: nodebgp nodes from their bound config (`node.podCIDRs`), others from a label. */
export function podCidrs(state: LabState): Map<string, string[]> {
  const topo = loadTopology(state.topologyFile);
  const out = new Map<string, string[]>();
  for (const node of topo.nodes) {
    const label = node.labels[POD_CIDRS_LABEL];
    if (label !== undefined)
      out.set(
        node.name,
        label.split(',').map((c) => c.trim()),
      );
    if (node.role !== 'nodebgp') continue;
    const file = bindFor(node, NODEBGP_CONFIG_TARGET);
    if (!file) continue;
    const doc = parseYaml(readFileSync(file, 'utf8')) as { node?: { podCIDRs?: string[] } };
    out.set(node.name, doc.node?.podCIDRs ?? []);
  }
  return out;
}

export interface KernelRoute {
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly protocol?: string;
  readonly nexthops?: readonly { gateway?: string; dev?: string }[];
}

/** The main table (IPv4 and IPv6) of a namespace, as `ip -j route` prints it. */
export async function kernelRoutes(ns: string): Promise<KernelRoute[]> {
  const [v4, v6] = await Promise.all([
    tryRun(['ip', '-n', ns, '-j', 'route', 'show', 'table', 'main']),
    tryRun(['ip', '-n', ns, '-6', '-j', 'route', 'show', 'table', 'main']),
  ]);
  const parse = (t: string): KernelRoute[] => (t.trim() ? (JSON.parse(t) as KernelRoute[]) : []);
  return [...(v4.code === 0 ? parse(v4.stdout) : []), ...(v6.code === 0 ? parse(v6.stdout) : [])];
}

export interface PodAddresses {
  readonly node: string;
  readonly pod: string;
  readonly addresses: readonly string[];
}

/** The global addresses of each pod's eth0. */
export async function podAddresses(state: LabState): Promise<PodAddresses[]> {
  const out: PodAddresses[] = [];
  for (const n of state.nodes)
    for (const pod of n.podNamespaces) {
      const r = await tryRun(['ip', '-n', pod, '-j', 'addr', 'show', 'dev', 'eth0']);
      const body =
        r.code === 0 ? (JSON.parse(r.stdout) as { addr_info: { local: string; scope: string }[] }[]) : [];
      const addresses = body.flatMap((l) =>
        l.addr_info.filter((a) => a.scope === 'global').map((a) => a.local),
      );
      out.push({ node: n.name, pod, addresses });
    }
  return out;
}

/** Whether `ns` holds a route whose destination is exactly `cidr`. */
export const hasRoute = (routes: readonly KernelRoute[], cidr: string): boolean =>
  routes.some((r) => r.dst === cidr);

export interface Readiness {
  readonly ready: boolean;
  readonly missing: string[];
}

/** Every session Established, every nodebgp node holding a route for every other node's pod CIDRs. */
export async function readiness(state: LabState): Promise<Readiness> {
  const missing: string[] = [];
  for (const n of state.nodes) {
    try {
      for (const s of await sessions(n))
        if (s.state !== 'Established') missing.push(`${n.name}: session ${s.peer} ${s.state}`);
    } catch (e) {
      missing.push(`${n.name}: cannot read sessions: ${(e as Error).message}`);
    }
  }
  const cidrs = podCidrs(state);
  for (const [name] of cidrs) {
    const routes = await kernelRoutes(state.nodes.find((n) => n.name === name)?.ns ?? '');
    for (const [other, list] of cidrs)
      if (other !== name)
        for (const c of list) if (!hasRoute(routes, c)) missing.push(`${name}: no route to ${c} (${other})`);
  }
  return { ready: missing.length === 0, missing };
}

/** Polls readiness until ready or timeout; resolves with the last readiness. */
export async function waitReady(state: LabState, timeoutMs: number, pollMs = 250): Promise<Readiness> {
  let last: Readiness = { ready: false, missing: ['not checked yet'] };
  await until(async () => (last = await readiness(state)).ready, {
    timeout: timeoutMs,
    interval: pollMs,
  }).catch(() => undefined);
  return last;
}

export interface PingResult {
  readonly from: string;
  readonly to: string;
  readonly address: string;
  readonly ok: boolean;
}

/** From the first pod of every node to the first pod of every other node, every address family. */
export async function pingMatrix(state: LabState, count = 1): Promise<PingResult[]> {
  const firstPods = new Map<string, PodAddresses>();
  for (const p of await podAddresses(state)) if (!firstPods.has(p.node)) firstPods.set(p.node, p);
  const jobs: Promise<PingResult>[] = [];
  for (const src of firstPods.values())
    for (const dst of firstPods.values()) {
      if (src.node === dst.node) continue;
      for (const address of dst.addresses)
        jobs.push(
          tryRun(
            inNs(src.pod, ['ping', '-n', '-q', '-c', String(count), '-i', '0.2', '-W', '1', address]),
          ).then((r) => ({
            from: src.node,
            to: dst.node,
            address,
            ok: r.code === 0,
          })),
        );
    }
  return Promise.all(jobs);
}

/** The matrix as text: one row per source node, one column per destination node. */
export function formatMatrix(results: readonly PingResult[]): string {
  const nodes = [...new Set(results.flatMap((r) => [r.from, r.to]))].sort();
  const cell = (from: string, to: string): string => {
    if (from === to) return '-';
    const rs = results.filter((r) => r.from === from && r.to === to);
    if (rs.length === 0) return '?';
    return rs.map((r) => (r.ok ? 'ok' : 'FAIL')).join('/');
  };
  const width = Math.max(8, ...nodes.map((n) => n.length + 2));
  const pad = (s: string): string => s.padEnd(width);
  const lines = [pad('from\\to') + nodes.map(pad).join('')];
  for (const f of nodes) lines.push(pad(f) + nodes.map((t) => pad(cell(f, t))).join(''));
  return lines.join('\n') + '\n';
}
