/**
 * The subset of the containerlab topology format that the namespace runner understands, parsed with zod.
 *
 * Accepted: `name`, `mgmt` (ignored), `topology.{defaults,kinds,nodes,links}`; nodes of kind `linux` or
 * `bridge` with `image`, `binds`, `exec`, `env`, `labels`, `sysctls` (set in the node's namespace before its
 * links exist), `mgmt-ipv4`/`mgmt-ipv6` (ignored); links written
 * as `endpoints: ["a:eth1", "b:eth1"]`. Anything else is refused by name, e.g.
 *
 *   labs: topology.nodes.spine1.kind 'ceos' is not supported by the namespace runner
 *
 * so a topology never half-runs. The full format is checked separately against containerlab's own schema.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export class TopologyError extends Error {}

/** What the runner does with a node: derived from kind and image. */
export type NodeRole = 'bridge' | 'frr' | 'nodebgp' | 'linux';

export interface Bind {
  /** Absolute path on this machine (resolved against the topology file's directory). */
  readonly source: string;
  /** Path inside the container. */
  readonly target: string;
}

export interface LabNode {
  readonly name: string;
  readonly kind: 'linux' | 'bridge';
  readonly role: NodeRole;
  readonly image?: string;
  readonly binds: readonly Bind[];
  readonly exec: readonly (readonly string[])[];
  readonly env: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /** `sysctl -w` settings for the node's namespace (`net.ipv6.conf.all.accept_dad: 0`). */
  readonly sysctls: Readonly<Record<string, string>>;
  /** Namespaces the node's exec lines create with `ip netns add` (its "pods"). */
  readonly podNamespaces: readonly string[];
}

export interface LabLink {
  readonly a: { readonly node: string; readonly iface: string };
  readonly b: { readonly node: string; readonly iface: string };
}

export interface Topology {
  readonly name: string;
  /** Absolute path of the .clab.yml file. */
  readonly file: string;
  readonly nodes: readonly LabNode[];
  readonly links: readonly LabLink[];
}

const NAME = /^[a-z0-9][a-z0-9-]{0,19}$/;
const IFACE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/;
const NODE_KEYS = [
  'kind',
  'image',
  'binds',
  'exec',
  'env',
  'labels',
  'sysctls',
  'mgmt-ipv4',
  'mgmt-ipv6',
] as const;
/** A namespaced sysctl's name: dotted words, nothing a shell or a path could make more of. */
const SYSCTL = /^net\.[a-z0-9_]+(\.[a-zA-Z0-9_-]+)+$/;

const envValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const nodeFields = z
  .object({
    kind: z.string().optional(),
    image: z.string().optional(),
    binds: z.array(z.string()).optional(),
    exec: z.array(z.string()).optional(),
    env: z.record(z.string(), envValue).optional(),
    labels: z.record(z.string(), envValue).optional(),
    sysctls: z.record(z.string(), z.union([z.string(), z.number()]).transform(String)).optional(),
    'mgmt-ipv4': z.string().optional(),
    'mgmt-ipv6': z.string().optional(),
  })
  .loose();
type NodeFields = z.infer<typeof nodeFields>;

const fileSchema = z
  .object({
    name: z
      .string()
      .regex(NAME, 'must be 1-20 characters of a-z, 0-9 and -, starting with a letter or digit'),
    mgmt: z.unknown().optional(),
    topology: z
      .object({
        defaults: nodeFields.optional(),
        kinds: z.record(z.string(), nodeFields).optional(),
        nodes: z.record(z.string(), nodeFields.nullable()),
        links: z.array(z.object({ endpoints: z.tuple([z.string(), z.string()]) }).loose()).optional(),
      })
      .loose(),
  })
  .loose();

function refuseExtraKeys(obj: object, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(obj))
    if (!allowed.includes(key))
      throw new TopologyError(`labs: ${where}.${key} is not supported by the namespace runner`);
}

/** Reads and parses a topology file; throws TopologyError naming the first unsupported field. */
export function loadTopology(file: string): Topology {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TopologyError(`labs: cannot read ${path}: ${(e as Error).message}`);
  }
  return parseTopology(text, path);
}

/** Parses topology text; `file` locates relative bind paths. */
export function parseTopology(text: string, file: string): Topology {
  const raw: unknown = parseYaml(text);
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TopologyError(`labs: ${issue.path.join('.') || '(file)'}: ${issue.message}`);
  }
  const doc = parsed.data;
  refuseExtraKeys(doc, ['name', 'mgmt', 'topology'], '(file)');
  const topo = doc.topology;
  refuseExtraKeys(topo, ['defaults', 'kinds', 'nodes', 'links'], 'topology');
  if (topo.defaults) refuseExtraKeys(topo.defaults, NODE_KEYS, 'topology.defaults');
  for (const [kind, fields] of Object.entries(topo.kinds ?? {})) {
    if (kind !== 'linux' && kind !== 'bridge')
      throw new TopologyError(`labs: topology.kinds.${kind} is not supported by the namespace runner`);
    refuseExtraKeys(fields, NODE_KEYS, `topology.kinds.${kind}`);
  }
  const dir = dirname(file);
  const nodes = Object.entries(topo.nodes).map(([name, fields]) =>
    buildNode(doc.name, name, fields ?? {}, topo.defaults ?? {}, topo.kinds ?? {}, dir),
  );
  const links = (topo.links ?? []).map((l, i) => buildLink(l, i, nodes));
  checkInterfaces(links);
  return { name: doc.name, file, nodes, links };
}

function buildNode(
  lab: string,
  name: string,
  own: NodeFields,
  defaults: NodeFields,
  kinds: Record<string, NodeFields>,
  dir: string,
): LabNode {
  const where = `topology.nodes.${name}`;
  if (!NAME.test(name)) throw new TopologyError(`labs: ${where}: node names must match ${NAME.source}`);
  refuseExtraKeys(own, NODE_KEYS, where);
  const kind = own.kind ?? defaults.kind;
  if (kind === undefined) throw new TopologyError(`labs: ${where}.kind is missing`);
  if (kind !== 'linux' && kind !== 'bridge')
    throw new TopologyError(`labs: ${where}.kind '${kind}' is not supported by the namespace runner`);
  const byKind = kinds[kind] ?? {};
  const image = own.image ?? byKind.image ?? defaults.image;
  const binds = [...(defaults.binds ?? []), ...(byKind.binds ?? []), ...(own.binds ?? [])];
  const exec = [...(defaults.exec ?? []), ...(byKind.exec ?? []), ...(own.exec ?? [])];
  const env = { ...defaults.env, ...byKind.env, ...own.env };
  const labels = { ...defaults.labels, ...byKind.labels, ...own.labels };
  const sysctls = { ...defaults.sysctls, ...byKind.sysctls, ...own.sysctls };
  for (const [key, value] of Object.entries(sysctls)) {
    if (!SYSCTL.test(key))
      throw new TopologyError(
        `labs: ${where}.sysctls: '${key}' is not a network sysctl the runner sets (net.…, in the node's namespace)`,
      );
    if (!/^[a-zA-Z0-9_.:-]+$/.test(value))
      throw new TopologyError(
        `labs: ${where}.sysctls.${key}: value '${value}' is not a plain word or number`,
      );
  }
  if (kind === 'bridge' && (exec.length > 0 || binds.length > 0 || Object.keys(sysctls).length > 0))
    throw new TopologyError(`labs: ${where}: a bridge node takes no exec, binds or sysctls`);
  const role: NodeRole =
    kind === 'bridge'
      ? 'bridge'
      : /nodebgp/.test(image ?? '')
        ? 'nodebgp'
        : /frr/.test(image ?? '')
          ? 'frr'
          : 'linux';
  const argvs = exec.map((line, i) => splitCommand(line, `${where}.exec[${i}]`));
  const podNamespaces = argvs.flatMap((argv, i) => podNamespace(lab, name, argv, `${where}.exec[${i}]`));
  return {
    name,
    kind,
    role,
    ...(image !== undefined ? { image } : {}),
    binds: binds.map((b, i) => parseBind(b, dir, `${where}.binds[${i}]`)),
    exec: argvs,
    env,
    labels,
    sysctls,
    podNamespaces,
  };
}

/**
 * `ip netns add NAME` inside a node creates a global namespace under the runner (there is one /run/netns),
 * while under Docker it stays inside the container. Pod namespace names must therefore start with
 * `<lab>-<node>-` so they are unique on the host and `down` can find them.
 */
function podNamespace(lab: string, node: string, argv: readonly string[], where: string): string[] {
  if (argv[0] !== 'ip' || argv[1] !== 'netns' || argv[2] !== 'add') return [];
  const ns = argv[3] ?? '';
  if (!ns.startsWith(`${lab}-${node}-`))
    throw new TopologyError(`labs: ${where}: pod namespace '${ns}' must start with '${lab}-${node}-'`);
  return [ns];
}

function parseBind(text: string, dir: string, where: string): Bind {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3 || parts[0] === '' || parts[1] === '')
    throw new TopologyError(`labs: ${where} '${text}' is not SOURCE:TARGET[:ro]`);
  const source = isAbsolute(parts[0]) ? parts[0] : resolve(dir, parts[0]);
  return { source, target: parts[1] };
}

function buildLink(link: Record<string, unknown>, i: number, nodes: readonly LabNode[]): LabLink {
  refuseExtraKeys(link, ['endpoints'], `topology.links[${i}]`);
  const eps = link.endpoints as [string, string];
  const [a, b] = eps.map((ep, j) => {
    const where = `topology.links[${i}].endpoints[${j}]`;
    const m = /^([^:]+):([^:]+)$/.exec(ep);
    if (!m) throw new TopologyError(`labs: ${where} '${ep}' is not NODE:INTERFACE`);
    if (!nodes.some((n) => n.name === m[1])) throw new TopologyError(`labs: ${where}: no node '${m[1]}'`);
    if (!IFACE.test(m[2])) throw new TopologyError(`labs: ${where}: interface '${m[2]}' is not a valid name`);
    return { node: m[1], iface: m[2] };
  });
  return { a, b };
}

function checkInterfaces(links: readonly LabLink[]): void {
  const seen = new Set<string>();
  for (const l of links)
    for (const ep of [l.a, l.b]) {
      const key = `${ep.node}:${ep.iface}`;
      if (seen.has(key)) throw new TopologyError(`labs: endpoint ${key} is used by two links`);
      seen.add(key);
    }
}

/**
 * Splits an exec line into argv the way a shell would for plain words and quotes; pipes, redirections and
 * variables are refused (containerlab runs exec lines without a shell too).
 */
export function splitCommand(line: string, where: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: '"' | "'" | undefined;
  let inWord = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else if ('|&;<>$`'.includes(ch)) {
      throw new TopologyError(`labs: ${where}: '${ch}' needs a shell; write one plain command per line`);
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new TopologyError(`labs: ${where}: unterminated quote`);
  if (inWord) out.push(cur);
  if (out.length === 0) throw new TopologyError(`labs: ${where}: empty command`);
  return out;
}
