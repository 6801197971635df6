/**
 * FRR 8.4 in a network namespace: zebra (+ staticd if asked) + bgpd run in the foreground as root, each with its
 * own pid file, vty socket directory and zserv socket in a per-instance directory, so several FRR instances
 * run at once. zebra is started in the namespace, so bgpd's routes land in that namespace's kernel table.
 *
 *   const frr = await startFrr(ns, lab.tempDir('frr'), { bgpd: 'router bgp 65001\n …' });
 *   await frr.vtysh('show bgp summary');
 *   const rib = await frr.vtyshJson<…>('show bgp ipv4 unicast json');
 */
import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Daemon } from './daemon.js';
import { until, type Netns } from '../../../toolkit/index.js';

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
    const args = ['--vty_socket', this.dir];
    for (const c of commands) args.push('-c', c);
    return this.ns.exec('vtysh', args);
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

/** The command line of one FRR daemon `name` of the instance in `dir` (also used to restart one alone). */
export function frrArgs(dir: string, name: string, zserv: string): string[] {
  return [
    // FRR drops to user frr; as root it would demand membership of group frrvty (privs_init), so the
    // instance directory is handed to frr instead.
    '-u',
    'frr',
    '-g',
    'frr',
    '-P',
    '0',
    '--vty_socket',
    dir,
    '-z',
    zserv,
    '-i',
    join(dir, `${name}.pid`),
    '-f',
    join(dir, `${name}.conf`),
    '--log',
    'stdout',
  ];
}

export async function startFrr(ns: Netns, dir: string, options: FrrOptions): Promise<Frr> {
  mkdirSync(dir, { recursive: true });
  chownSync(dir, frrIds().uid, frrIds().gid);
  const hostname = options.hostname ?? ns.name;
  const zserv = join(dir, 'zserv.api');
  const withZebra = options.withZebra ?? true;
  let zebra: Daemon | undefined;
  let staticd: Daemon | undefined;
  const stdio = ['ignore', 'pipe', 'pipe'] as const;
  if (withZebra) {
    writeFileSync(join(dir, 'zebra.conf'), options.zebra ?? `hostname ${hostname}\n`);
    zebra = new Daemon(
      'zebra',
      ns,
      dir,
      ns.spawn('/usr/lib/frr/zebra', frrArgs(dir, 'zebra', zserv), { stdio: [...stdio] }),
    );
    const z = zebra;
    await until(() => existsSync(zserv), {
      timeout: 10_000,
      interval: 25,
      what: 'zebra zserv socket',
      failIf: () => (z.running ? undefined : `zebra exited: ${z.log().slice(-2000)}`),
    });
  }
  if (options.staticd !== undefined) {
    writeFileSync(join(dir, 'staticd.conf'), `hostname ${hostname}\n${options.staticd}`);
    staticd = new Daemon(
      'staticd',
      ns,
      dir,
      ns.spawn('/usr/lib/frr/staticd', frrArgs(dir, 'staticd', zserv), { stdio: [...stdio] }),
    );
  }
  writeFileSync(join(dir, 'bgpd.conf'), `hostname ${hostname}\n${options.bgpd}`);
  const bgpArgs = frrArgs(dir, 'bgpd', zserv);
  if (!withZebra) bgpArgs.push('-Z');
  const bgpd = new Daemon('bgpd', ns, dir, ns.spawn('/usr/lib/frr/bgpd', bgpArgs, { stdio: [...stdio] }));
  const frr = new Frr(ns, dir, bgpd, zebra, staticd);
  await until(async () => (await frr.vtysh('show bgp summary')) !== undefined, {
    timeout: 15_000,
    interval: 100,
    what: 'bgpd vty',
    failIf: () => (bgpd.running ? undefined : `bgpd exited: ${bgpd.log().slice(-2000)}`),
  });
  return frr;
}

let ids: { uid: number; gid: number } | undefined;
function frrIds(): { uid: number; gid: number } {
  ids ??= {
    uid: Number(execFileSync('id', ['-u', 'frr'], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'frr'], { encoding: 'utf8' }).trim()),
  };
  return ids;
}
