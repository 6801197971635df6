/**
 * nodebgp itself in a network namespace: the config object is written as YAML, `bin/nodebgp run --config FILE`
 * runs in the namespace with its own control socket, and `cli()` runs `bin/nodebgp <cmd> --json --socket PATH`.
 *
 *   const nb = await startNodebgp(ns, lab.tempDir('nb'), { asn: 65002, routerId: '10.77.0.2', … });
 *   await until(async () => (await nb.neighbors()).find((n) => n.state === 'Established'));
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { PeerStatus, RouteView } from '../../../bgp/api.js';
import { Daemon } from './daemon.js';
import { run, until, type Netns } from '../../../toolkit/index.js';

export const REPO = join(import.meta.dirname, '..', '..', '..');
export const NODEBGP_BIN = join(REPO, 'bin', 'nodebgp');

export interface NodebgpPeer {
  readonly address: string;
  readonly asn: number;
  readonly holdTime?: number;
  readonly passive?: boolean;
  readonly port?: number;
  readonly [key: string]: unknown;
}

export interface NodebgpConfig {
  readonly asn: number;
  readonly routerId?: string;
  readonly listen?: { readonly address: string; readonly port?: number } | false;
  readonly node: {
    readonly address: string;
    readonly podCIDRs: readonly string[];
    readonly [key: string]: unknown;
  };
  readonly peers: readonly NodebgpPeer[];
  readonly kernel?: { readonly enabled: boolean; readonly [key: string]: unknown };
  /** Filled in by the launcher when absent: `<dir>/nodebgp.sock`. */
  readonly controlSocket?: string;
  readonly [key: string]: unknown;
}

export class Nodebgp {
  constructor(
    readonly ns: Netns,
    readonly dir: string,
    readonly daemon: Daemon,
    readonly socket: string,
    readonly configFile: string,
  ) {}

  /** `bin/nodebgp <args…> --json --socket PATH`, parsed. The control socket is a file: no namespace exec. */
  async cli<T>(args: readonly string[]): Promise<T> {
    const out = await run([process.execPath, NODEBGP_BIN, ...args, '--json', '--socket', this.socket]);
    return JSON.parse(out) as T;
  }

  neighbors(): Promise<PeerStatus[]> {
    return this.cli<PeerStatus[]>(['neighbors']);
  }

  routes(): Promise<RouteView[]> {
    return this.cli<RouteView[]>(['routes']);
  }

  /** SIGHUP: reload the config file (rewrite it first with `writeConfig`). */
  reload(): void {
    process.kill(this.daemon.pid, 'SIGHUP');
  }

  writeConfig(config: NodebgpConfig): void {
    writeFileSync(this.configFile, stringify({ ...withImportRules(config), controlSocket: this.socket }));
  }

  stop(): Promise<void> {
    return this.daemon.stop();
  }
}

export function nodebgpAvailable(): boolean {
  return existsSync(NODEBGP_BIN);
}

/**
 * nodebgp accepts nothing from a peer without import rules (docs/config.md). Tests about sessions and
 * routes, not about the policy, get the old "anything but a default route" when they give no rules; a
 * test of the default itself says `importPrefixes: undefined` explicitly (the key present, unset).
 */
function withImportRules(config: NodebgpConfig): NodebgpConfig {
  if ('importPrefixes' in config || config.peers.some((p) => 'import' in p)) return config;
  return {
    ...config,
    importPrefixes: [
      { prefix: '0.0.0.0/0', le: 32 },
      { prefix: '::/0', le: 128 },
    ],
  };
}

export async function startNodebgp(ns: Netns, dir: string, given: NodebgpConfig): Promise<Nodebgp> {
  const config = withImportRules(given);
  mkdirSync(dir, { recursive: true });
  const socket = config.controlSocket ?? join(dir, 'nodebgp.sock');
  const configFile = join(dir, 'nodebgp.yaml');
  writeFileSync(configFile, stringify({ ...config, controlSocket: socket }));
  const proc = ns.spawn(process.execPath, [NODEBGP_BIN, 'run', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const nb = new Nodebgp(ns, dir, new Daemon('nodebgp', ns, dir, proc), socket, configFile);
  await until(
    async () => {
      return Array.isArray(await nb.neighbors());
    },
    {
      timeout: 20_000,
      interval: 100,
      what: 'nodebgp control socket',
      failIf: () => (nb.daemon.running ? undefined : `nodebgp exited: ${nb.daemon.log().slice(-2000)}`),
    },
  );
  return nb;
}

/** `nodebgpCli(socket, args)` without an instance object (e.g. for a daemon started elsewhere). */
export async function nodebgpCli<T>(socket: string, args: readonly string[]): Promise<T> {
  const out = await run([process.execPath, NODEBGP_BIN, ...args, '--json', '--socket', socket]);
  return JSON.parse(out) as T;
}
