/**
 * The daemon's configuration: one YAML file, validated with a zod schema, overridable by flags and
 * environment. Every key is documented in docs/config.md. Errors name the field path and the bad value:
 *
 *   config /etc/nodebgp/config.yaml: peers[0].holdTime: 2 is not allowed: must be 0 or 3..65535
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import type { PeerConfig } from '../bgp/api.js';
import { PEER_FAMILIES, PEER_INTEGER_RULES, peerFieldProblem } from '../bgp/peer-config.js';
import { ipAddress, kubernetesSchema, type KubernetesConfig } from './kubernetes/schema.js';
import { formatRule, importRulesSchema, type ImportRule } from './import-rules.js';
import { peerSecurityShape, type BfdSettings } from './security-schema.js';
import { formatPrefix as formatPrefixText, parsePrefix, type PrefixKey } from '../ip/prefix.js';
import { canonicalAddress as canonical, parseIpv4 } from '../ip/address.js';
import { KERNEL_DEFAULTS } from '../routing/defaults.js';

export const DEFAULT_CONFIG_PATH = '/etc/nodebgp/config.yaml';
export const DEFAULT_CONTROL_SOCKET = '/run/nodebgp/nodebgp.sock';
export const DEFAULT_HEALTH_PORT = 9179;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

// ---- Field types ----------------------------------------------------------------------------------------

const ipv4Address = z
  .string('expected an IPv4 address')
  .refine((s) => parseIpv4(s) !== undefined, 'not an IPv4 address (dotted quad)');
const ipv6Address = ipAddress.refine((s) => s.includes(':'), 'not an IPv6 address');
const int = (what: string) => z.number(`expected ${what}`).int(`expected ${what}`);
const ranged = (lo: number, hi: number, what = 'an integer') =>
  int(what).min(lo, `must be ${lo}..${hi}`).max(hi, `must be ${lo}..${hi}`);

/**
 * A peer field checked by the BGP library's own rule (bgp/peer-config.ts), so the file and `Speaker.addPeer`
 * accept exactly the same values and a limit is written once.
 */
function peerRule<T extends z.ZodType>(field: keyof PeerConfig, schema: T): T {
  return schema.superRefine((v, ctx) => {
    const why = peerFieldProblem(field, v);
    if (why !== undefined) ctx.addIssue({ code: 'custom', message: why });
  });
}
const peerInteger = (field: keyof typeof PEER_INTEGER_RULES) =>
  peerRule(field, z.number(`expected ${PEER_INTEGER_RULES[field].what}`));
const asn = peerInteger('asn');
const port = peerInteger('port');

/** A prefix as text → its PrefixKey; host bits set is an error (parsePrefix says which bits). */
const prefix = z.string('expected a prefix such as 10.244.2.0/24').transform((text, ctx) => {
  const key = parsePrefix(text);
  if (key instanceof Error) {
    ctx.addIssue({ code: 'custom', message: key.message.replace(/^"[^"]*": /, '') });
    return z.NEVER;
  }
  return key;
});

const family = z.enum(PEER_FAMILIES, `must be ${PEER_FAMILIES.join(' or ')}`);

const peerSchema = z.strictObject({
  address: ipAddress,
  asn,
  port: port.optional(),
  holdTime: peerInteger('holdTime').optional(),
  keepaliveTime: peerInteger('keepaliveTime').optional(),
  connectRetryTime: peerInteger('connectRetryTime').optional(),
  passive: z.boolean('expected true or false').optional(),
  localAddress: ipAddress.optional(),
  ttl: peerInteger('ttl').optional(),
  /** ttlSecurity, password, passwordFile, bfd (security-schema.ts). */
  ...peerSecurityShape,
  description: z.string('expected text').max(200, 'must be at most 200 characters').optional(),
  routeReflectorClient: z.boolean('expected true or false').optional(),
  families: peerRule('families', z.array(family, 'expected a list')).optional(),
  gracefulRestartTime: peerInteger('gracefulRestartTime').optional(),
  dampPeerOscillations: z.boolean('expected true or false').optional(),
  /** What this peer may give us (replaces `importPrefixes` for it); `[]`: nothing. */
  import: importRulesSchema.optional(),
});

const listenSchema = z.union(
  [z.literal(false), z.strictObject({ address: ipAddress.optional(), port: port.default(179) })],
  'expected false or { address, port }',
);

/** The HTTP health endpoints (/livez, /readyz, /metrics), bound to a local address; `false` for none. */
const healthSchema = z.union(
  [
    z.literal(false),
    z.strictObject({ address: ipAddress.default('127.0.0.1'), port: port.default(DEFAULT_HEALTH_PORT) }),
  ],
  'expected false or { address, port }',
);

const kernelSchema = z.strictObject({
  enabled: z.boolean('expected true or false').default(true),
  table: ranged(1, 4294967295, 'a routing table number')
    .refine((t) => t !== 255, 'must not be 255 (local)')
    .default(KERNEL_DEFAULTS.table),
  metric: ranged(0, 4294967295, 'a metric').default(KERNEL_DEFAULTS.metric),
  protocol: ranged(5, 255, 'a route protocol number').default(KERNEL_DEFAULTS.protocol),
  blackholePodCIDRs: z.boolean('expected true or false').default(false),
  staleGraceSeconds: ranged(0, 3600, 'seconds').default(120),
});

/** RFC 4724 graceful restart for every peer that sets no `gracefulRestartTime` of its own (docs/config.md). */
const gracefulRestartSchema = z.strictObject({
  restartTime: peerInteger('gracefulRestartTime').optional(),
  selectionDeferralTime: ranged(1, 3600, 'seconds').optional(),
});

/** Graceful restart's default restart time in Kubernetes mode (seconds); off in static mode unless set. */
export const KUBERNETES_RESTART_TIME = 120;
/** The selection deferral's default upper bound after our own restart (seconds; never above the restart time). */
export const DEFAULT_SELECTION_DEFERRAL = 60;

const configSchema = z
  .strictObject({
    asn,
    gracefulRestart: gracefulRestartSchema.optional(),
    routerId: ipv4Address.optional(),
    listen: listenSchema.optional(),
    node: z
      .strictObject({
        address: ipAddress.optional(),
        address6: ipv6Address.optional(),
        podCIDRs: z.array(prefix, 'expected a list of prefixes').default([]),
      })
      .optional(),
    peers: z.array(peerSchema, 'expected a list of peers').default([]),
    importPrefixes: importRulesSchema.optional(),
    /** The Kubernetes node source (daemon/kubernetes/, documented in docs/kubernetes.md). */
    kubernetes: kubernetesSchema.optional(),
    health: healthSchema.optional(),
    kernel: kernelSchema.default({
      enabled: true,
      ...KERNEL_DEFAULTS,
      blackholePodCIDRs: false,
      staleGraceSeconds: 120,
    }),
    controlSocket: z
      .string('expected a path')
      .refine((p) => p.startsWith('/'), 'must be an absolute path')
      .default(DEFAULT_CONTROL_SOCKET),
    log: z
      .strictObject({ level: z.enum(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`).default('info') })
      .default({
        level: 'info',
      }),
  })
  .superRefine((c, ctx) => {
    const fromCluster = c.kubernetes?.enabled === true;
    if (!fromCluster && c.node?.address === undefined)
      ctx.addIssue({
        code: 'custom',
        path: c.node === undefined ? ['node'] : ['node', 'address'],
        message: 'is required (unless kubernetes.enabled: the Node object gives it)',
      });
    const address = c.node?.address;
    if (c.routerId === undefined && address !== undefined && parseIpv4(address) === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['routerId'],
        message: 'is required when node.address is not IPv4 (the BGP identifier is a dotted quad)',
      });
    const seen = new Map<string, number>();
    c.peers.forEach((p, i) => {
      if (p.ttl !== undefined && p.ttlSecurity !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['peers', i, 'ttlSecurity'],
          message: 'is not allowed with ttl (ttlSecurity sends TTL 255): set one of them',
        });
      if (p.password !== undefined && p.passwordFile !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['peers', i, 'passwordFile'],
          message: 'is not allowed with password: set one of them',
        });
      const key = canonicalAddress(p.address);
      const first = seen.get(key);
      if (first !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['peers', i, 'address'],
          message: `duplicate of peers[${first}].address`,
        });
      else seen.set(key, i);
    });
  });

type Parsed = z.output<typeof configSchema>;

/**
 * The validated configuration, with defaults filled in and prefixes parsed. With `kubernetes.enabled` and no
 * `node.address` / `routerId` in the file, `node.address`, `routerId` and `listen.address` are '' until the
 * daemon has seen its Node (`withNodeIdentity`).
 */
export interface DaemonConfig {
  readonly asn: number;
  readonly routerId: string;
  readonly listen: { readonly address: string; readonly port: number } | false;
  readonly node: {
    readonly address: string;
    readonly address6?: string;
    readonly podCIDRs: readonly PrefixKey[];
  };
  /** The speaker's peers (with their BFD and password-file settings), without their import rules. */
  readonly peers: readonly DaemonPeer[];
  /** `peers[].import`, by canonical peer address. */
  readonly peerImport: ReadonlyMap<string, readonly ImportRule[]>;
  /** The import rules of peers without their own; with neither, nothing is accepted from a peer. */
  readonly importPrefixes?: readonly ImportRule[];
  readonly kernel: Parsed['kernel'];
  /**
   * Graceful restart (RFC 4724) for peers without their own `gracefulRestartTime`: restartTime 0 = off.
   * With it on, kernel routes stay in place when nodebgp stops or crashes, and after a restart our tables wait
   * for End-of-RIB from every peer or `selectionDeferralTime`.
   */
  readonly gracefulRestart: { readonly restartTime: number; readonly selectionDeferralTime: number };
  /** Where /livez, /readyz and /metrics are served; false: not at all. */
  readonly health: { readonly address: string; readonly port: number } | false;
  readonly controlSocket: string;
  readonly log: { readonly level: LogLevel };
  /** The `kubernetes:` section, when present (see docs/kubernetes.md). */
  readonly kubernetes?: KubernetesConfig;
  /** The file it came from (for messages and the control socket's /config). */
  readonly source: string;
}

/**
 * A peer as the daemon holds it: the speaker's PeerConfig plus what the daemon applies around the session —
 * BFD, and a password kept in a file (a mounted Secret) that is read when the peer is configured.
 */
export type DaemonPeer = PeerConfig & { readonly bfd?: BfdSettings; readonly passwordFile?: string };

/** Fields whose values are secrets: never printed, in an error or anywhere else. */
const SECRET_FIELDS = new Set(['password']);

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Flags and environment that override the file. Flags win over environment; both win over the file. */
export interface ConfigOverrides {
  readonly config?: string;
  readonly logLevel?: string;
  readonly controlSocket?: string;
}

/** The path to read: `--config`, then `NODEBGP_CONFIG`, then the default. */
export function configPath(flags: ConfigOverrides, env: NodeJS.ProcessEnv = process.env): string {
  return flags.config ?? env.NODEBGP_CONFIG ?? DEFAULT_CONFIG_PATH;
}

/** Read, override and validate. Throws ConfigError with every problem, one per line. */
export function loadConfig(flags: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): DaemonConfig {
  const file = configPath(flags, env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`config ${file}: cannot read: ${(err as Error).message}`);
  }
  return parseConfig(text, file, flags, env);
}

/** Validate YAML text (the file name only labels the messages). */
export function parseConfig(
  text: string,
  file: string,
  flags: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = {},
): DaemonConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const where = e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}: ` : '';
    const what = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(`config ${file}: ${where}${what}`);
  }
  const raw: unknown = doc.toJS() ?? {};
  if (!isRecord(raw)) throw new ConfigError(`config ${file}: the file must hold a mapping (asn: …, node: …)`);
  applyOverrides(raw, flags, env);
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => describeIssue(issue, raw));
    throw new ConfigError(lines.map((l) => `config ${file}: ${l}`).join('\n'));
  }
  return finish(result.data, file);
}

function applyOverrides(raw: Record<string, unknown>, flags: ConfigOverrides, env: NodeJS.ProcessEnv): void {
  const level = flags.logLevel ?? env.NODEBGP_LOG_LEVEL;
  if (level !== undefined) raw.log = { ...(isRecord(raw.log) ? raw.log : {}), level };
  const socket = flags.controlSocket ?? env.NODEBGP_CONTROL_SOCKET;
  if (socket !== undefined) raw.controlSocket = socket;
}

function finish(c: Parsed, file: string): DaemonConfig {
  const address = c.node?.address ?? '';
  const listen =
    c.listen === false ? false : { address: c.listen?.address ?? address, port: c.listen?.port ?? 179 };
  const fromCluster = c.kubernetes?.enabled === true;
  const health =
    c.health ?? (fromCluster ? { address: '127.0.0.1', port: DEFAULT_HEALTH_PORT } : (false as const));
  return {
    asn: c.asn,
    routerId: c.routerId ?? address,
    listen,
    node: { address, address6: c.node?.address6, podCIDRs: c.node?.podCIDRs ?? [] },
    peers: c.peers.map(({ import: _rules, ...peer }) => peer),
    peerImport: new Map(
      c.peers.flatMap((p) => (p.import !== undefined ? [[p.address, p.import] as const] : [])),
    ),
    importPrefixes: c.importPrefixes,
    kernel: c.kernel,
    gracefulRestart: gracefulRestartOf(c.gracefulRestart, fromCluster),
    health,
    controlSocket: c.controlSocket,
    log: c.log,
    ...(c.kubernetes !== undefined ? { kubernetes: c.kubernetes } : {}),
    source: file,
  };
}

function gracefulRestartOf(
  g: Parsed['gracefulRestart'],
  fromCluster: boolean,
): DaemonConfig['gracefulRestart'] {
  const restartTime = g?.restartTime ?? (fromCluster ? KUBERNETES_RESTART_TIME : 0);
  const deferral = g?.selectionDeferralTime ?? Math.min(DEFAULT_SELECTION_DEFERRAL, restartTime);
  return { restartTime, selectionDeferralTime: Math.max(1, deferral) };
}

// ---- Messages -------------------------------------------------------------------------------------------

/** `peers[0].holdTime` from ['peers', 0, 'holdTime']. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '(top level)' : out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (Array.isArray(v) && typeof p === 'number') v = v[p];
    else if (isRecord(v) && typeof p === 'string') v = v[p];
    else return undefined;
  }
  return v;
}

function showValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map(
        (k) =>
          `${formatPath([...issue.path, k])}: unknown key (see docs/config.md for the keys allowed here)`,
      )
      .join('\n');
  }
  const where = formatPath(issue.path);
  const value = valueAt(raw, issue.path);
  if (SECRET_FIELDS.has(String(issue.path.at(-1))))
    return `${where}: ${value === undefined ? 'is required' : `(value hidden) is not allowed: ${issue.message}`}`;
  if (issue.code === 'custom' && issue.message.startsWith('is ')) return `${where}: ${issue.message}`;
  if (value === undefined) return `${where}: is required`;
  const why = issue.message.startsWith('Invalid input')
    ? issue.message.replace(/^Invalid input: /, '')
    : issue.message;
  if (issue.code === 'custom' && why.startsWith('duplicate'))
    return `${where}: ${showValue(value)} is a ${why}`;
  return `${where}: ${showValue(value)} is not allowed: ${why}`;
}

// ---- Helpers --------------------------------------------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function canonicalAddress(address: string): string {
  return canonical(address) ?? address;
}

/**
 * Kubernetes mode: fill what the file left out from our Node — `routerId` (its first IPv4 InternalIP),
 * `node.address` and the listen address (that address too).
 */
export function withNodeIdentity(c: DaemonConfig, routerId: string, address: string): DaemonConfig {
  const nodeAddress = c.node.address || address;
  return {
    ...c,
    routerId: c.routerId || routerId,
    node: { ...c.node, address: nodeAddress },
    listen: c.listen === false ? false : { ...c.listen, address: c.listen.address || nodeAddress },
  };
}

/** The configuration as JSON for `GET /config`: prefixes as text, each peer with its import rules, passwords hidden. */
export function configView(c: DaemonConfig): Record<string, unknown> {
  const text = (keys: readonly PrefixKey[] | undefined) => keys?.map((k) => formatPrefixText(k));
  const rules = (rs: readonly ImportRule[] | undefined) => rs?.map((r) => formatRule(r, formatPrefixText));
  const { peerImport, ...rest } = c;
  return {
    ...rest,
    ...(c.kubernetes !== undefined ? { kubernetes: hideKubernetesSecrets(c.kubernetes) } : {}),
    node: { ...c.node, podCIDRs: text(c.node.podCIDRs) },
    peers: c.peers.map((p) => {
      const own = peerImport.get(p.address);
      const shown = hideSecrets(p);
      return own === undefined ? shown : { ...shown, import: rules(own) };
    }),
    importPrefixes: rules(c.importPrefixes),
  };
}

/** A peer with its password replaced by a marker that says one is set. */
export function hideSecrets<T extends { readonly password?: string }>(p: T): T {
  return p.password === undefined ? p : { ...p, password: HIDDEN };
}

function hideKubernetesSecrets(k: KubernetesConfig): Record<string, unknown> {
  const services =
    k.services === undefined
      ? {}
      : { services: { ...k.services, clusterIPRanges: k.services.clusterIPRanges.map(formatPrefixText) } };
  return { ...k, peers: k.peers.map(hideSecrets), ...services };
}

export const HIDDEN = '(set, hidden)';
