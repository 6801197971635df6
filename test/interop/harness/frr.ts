/**
 * FRR 8.4 in a network namespace for the interop tests: the toolkit's FRR starter (toolkit/frr.ts) with each
 * daemon wrapped in a Daemon (stop, kill, pause, log). zebra (+ staticd if asked) + bgpd, each with its own
 * pid file, vty socket and log in the instance directory, so several FRR instances run at once.
 *
 *   const frr = await startFrr(ns, lab.tempDir('frr'), { bgpd: 'router bgp 65001\n …' });
 *   await frr.vtysh('show bgp summary');
 *   const rib = await frr.vtyshJson<…>('show bgp ipv4 unicast json');
 */
import { startFrr as startFrrInstance, vtysh, type FrrDaemon, type Netns } from '../../../toolkit/index.js';
import { Daemon } from './daemon.js';

export { frrArgs } from '../../../toolkit/index.js';

export interface FrrOptions {
  /** bgpd.conf text (router bgp …). */
  readonly bgpd: string;
  /** zebra.conf text; default just a hostname. */
  readonly zebra?: string;
  /** staticd.conf text; staticd is started only when given. */
  readonly staticd?: string;
  /** Start zebra (default true). Without zebra bgpd runs with -Z and never touches the kernel. */
  readonly withZebra?: boolean;
  readonly hostname?: string;
  /** Extra bgpd arguments, e.g. `['--no_kernel']`: learned routes stay out of the namespace's kernel. */
  readonly bgpdArgs?: readonly string[];
}

export class Frr {
  constructor(
    readonly ns: Netns,
    readonly dir: string,
    readonly bgpd: Daemon,
    readonly zebra: Daemon | undefined,
    readonly staticd: Daemon | undefined,
  ) {}

  /** Run vtysh commands (each `-c`), return the output. */
  vtysh(...commands: string[]): Promise<string> {
    return vtysh(this.ns.name, this.dir, ...commands);
  }

  async vtyshJson<T>(command: string): Promise<T> {
    return JSON.parse(await this.vtysh(command)) as T;
  }

  /** Established neighbours and their accepted prefix counts, from `show bgp summary json`. */
  async neighborState(peer: string): Promise<string | undefined> {
    const s =
      await this.vtyshJson<Record<string, { peers?: Record<string, { state?: string }> }>>(
        'show bgp summary json',
      );
    for (const af of Object.values(s)) {
      const st = af.peers?.[peer]?.state;
      if (st) return st;
    }
    return undefined;
  }

  get daemons(): Daemon[] {
    return [this.bgpd, this.zebra, this.staticd].filter((d): d is Daemon => d !== undefined);
  }

  async stop(): Promise<void> {
    // bgpd first, so its routes are withdrawn from zebra cleanly.
    await this.bgpd.stop();
    if (this.staticd) await this.staticd.stop();
    if (this.zebra) await this.zebra.stop();
  }
}

export async function startFrr(ns: Netns, dir: string, options: FrrOptions): Promise<Frr> {
  const hostname = options.hostname ?? ns.name;
  const withZebra = options.withZebra ?? true;
  const frr = await startFrrInstance({
    ns: ns.name,
    dir,
    zebra: withZebra,
    daemons: options.staticd !== undefined ? ['staticd', 'bgpd'] : ['bgpd'],
    configs: {
      zebra: options.zebra ?? `hostname ${hostname}\n`,
      staticd: `hostname ${hostname}\n${options.staticd ?? ''}`,
      bgpd: `hostname ${hostname}\n${options.bgpd}`,
    },
    ...(options.bgpdArgs !== undefined ? { args: { bgpd: options.bgpdArgs } } : {}),
  });
  const daemon = (name: FrrDaemon): Daemon | undefined => {
    const proc = frr.processes.get(name);
    return proc && new Daemon(name, ns, dir, proc);
  };
  return new Frr(ns, dir, daemon('bgpd') as Daemon, daemon('zebra'), daemon('staticd'));
}
