/**
 * GoBGP 3 in a network namespace: `gobgpd -f conf.toml --api-hosts 127.0.0.1:<port>` (127.0.0.1 of the
 * namespace, so the same port can serve every instance), queried with `gobgp -p <port> … -j`. GoBGP never
 * installs routes into the kernel (no zebra integration configured).
 *
 *   const gobgp = await startGobgp(ns, lab.tempDir('gobgp'), `[global.config]\n as = 65003 …`);
 *   await gobgp.gobgpJson(['global', 'rib', '-a', 'ipv4']);
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon } from './daemon.js';
import { until, type Netns } from '../../../toolkit/index.js';

export interface GobgpNeighbor {
  readonly conf: { readonly neighbor_address: string; readonly peer_asn?: number };
  readonly state: {
    readonly session_state?: number | string;
    readonly neighbor_address?: string;
    readonly afi_safis?: unknown;
  };
  readonly afi_safis?: readonly {
    readonly config?: { readonly family?: { readonly afi?: number; readonly safi?: number } };
    readonly state?: { readonly received?: number; readonly accepted?: number; readonly advertised?: number };
  }[];
}

export class Gobgp {
  constructor(
    readonly ns: Netns,
    readonly dir: string,
    readonly daemon: Daemon,
    readonly apiPort: number,
  ) {}

  gobgp(args: readonly string[]): Promise<string> {
    return this.ns.exec('gobgp', ['-p', String(this.apiPort), ...args]);
  }

  async gobgpJson<T>(args: readonly string[]): Promise<T> {
    return JSON.parse(await this.gobgp([...args, '-j'])) as T;
  }

  async neighbors(): Promise<GobgpNeighbor[]> {
    return this.gobgpJson<GobgpNeighbor[]>(['neighbor']);
  }

  /** Session state of one neighbour, as GoBGP's text form (`established`, `active`, …). */
  async neighborState(address: string): Promise<string | undefined> {
    const out = await this.gobgp(['neighbor', address]);
    const m = /BGP state = (\w+)/.exec(out);
    return m?.[1]?.toLowerCase();
  }

  /** Accepted IPv4 (or IPv6) unicast prefixes from one neighbour. */
  async accepted(address: string, family: 'ipv4' | 'ipv6' = 'ipv4'): Promise<number> {
    const out = await this.gobgp(['neighbor', address, 'adj-in', '-a', family, 'summary']);
    const m = /Accepted:\s*(\d+)/i.exec(out) ?? /(\d+)/.exec(out);
    return m ? Number(m[1]) : 0;
  }

  /** Destinations in the global RIB, from `gobgp global rib summary -a <family>`. */
  async ribCount(family: 'ipv4' | 'ipv6' = 'ipv4'): Promise<number> {
    const out = await this.gobgp(['global', 'rib', 'summary', '-a', family]);
    const m = /Destination:\s*(\d+)/.exec(out);
    return m ? Number(m[1]) : 0;
  }

  stop(): Promise<void> {
    return this.daemon.stop();
  }
}

export async function startGobgp(
  ns: Netns,
  dir: string,
  tomlConfig: string,
  apiPort = 50051,
): Promise<Gobgp> {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'gobgpd.toml');
  writeFileSync(conf, tomlConfig);
  const proc = ns.spawn(
    'gobgpd',
    ['-f', conf, '-t', 'toml', '--api-hosts', `127.0.0.1:${apiPort}`, '--pprof-disable', '-p'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const g = new Gobgp(ns, dir, new Daemon('gobgpd', ns, dir, proc), apiPort);
  await until(
    async () => {
      return (await g.gobgp(['global'])).includes('AS');
    },
    {
      timeout: 10_000,
      interval: 50,
      what: 'gobgpd API',
      failIf: () => (g.daemon.running ? undefined : `gobgpd exited: ${g.daemon.log()}`),
    },
  );
  return g;
}
