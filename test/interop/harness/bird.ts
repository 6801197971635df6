/**
 * BIRD 2 in a network namespace: `bird -f -c conf -s ctl -P pid`, one control socket per instance.
 *
 *   const bird = await startBird(ns, lab.tempDir('bird'), `router id 10.77.0.2; protocol device {} …`);
 *   await bird.birdc('show protocols');
 *   await bird.routeCount();            // `show route count` → number of routes
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon } from './daemon.js';
import { until, type Netns } from '../../../toolkit/index.js';

export class Bird {
  readonly socket: string;
  constructor(
    readonly ns: Netns,
    readonly dir: string,
    readonly daemon: Daemon,
  ) {
    this.socket = join(dir, 'bird.ctl');
  }

  /** `birdc -s ctl <command…>`; the control socket is a file, so no namespace exec is needed. */
  birdc(command: string): Promise<string> {
    return this.ns.exec('birdc', ['-s', this.socket, ...command.split(/\s+/)]);
  }

  /** Routes in all tables, from `show route count` (`N of M routes for K networks …`). */
  async routeCount(table?: string): Promise<number> {
    const out = await this.birdc(table ? `show route count table ${table}` : 'show route count');
    const m = /(\d+) of (\d+) routes/.exec(out);
    if (!m) throw new Error(`unexpected birdc output: ${out}`);
    return Number(m[1]);
  }

  /** The state column of `show protocols <name>` (`up`, `start`, …) and the info column (`Established`, …). */
  async protocolInfo(name: string): Promise<string> {
    const out = await this.birdc(`show protocols ${name}`);
    const line = out.split('\n').find((l) => l.startsWith(name));
    return line ?? '';
  }

  stop(): Promise<void> {
    return this.daemon.stop();
  }
}

export async function startBird(ns: Netns, dir: string, config: string): Promise<Bird> {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'bird.conf');
  writeFileSync(conf, config);
  const socket = join(dir, 'bird.ctl');
  const proc = ns.spawn('bird', ['-f', '-c', conf, '-s', socket, '-P', join(dir, 'bird.pid')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const bird = new Bird(ns, dir, new Daemon('bird', ns, dir, proc));
  await until(
    async () => {
      return (await bird.birdc('show status')).includes('Daemon is up');
    },
    {
      timeout: 10_000,
      interval: 50,
      what: 'bird control socket',
      failIf: () => (bird.daemon.running ? undefined : `bird exited: ${bird.daemon.log()}`),
    },
  );
  return bird;
}
