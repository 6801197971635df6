/**
 * ExaBGP 4 in a network namespace, with static routes from its config and/or scripted announcements: the
 * launcher adds a `process harness` whose command tails a file, so `exa.command('announce route …')` appends a
 * line that ExaBGP executes at once. Neighbours that should obey it include `api { processes [ harness ]; }`.
 *
 *   const exa = await startExabgp(ns, lab.tempDir('exa'), `neighbor 10.77.0.1 { … api { processes [ harness ]; } }`);
 *   await exa.command('announce route 10.4.0.0/24 next-hop self community [65004:1]');
 *   await exa.command('withdraw route 10.4.0.0/24');
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon } from './daemon.js';
import { until, type Netns } from '../../../toolkit/index.js';

export interface ExabgpOptions {
  /** Accept incoming connections on this address (exabgp.tcp.bind); default: connect only. */
  readonly listen?: string;
  readonly port?: number;
  /** Extra `exabgp.*` environment settings. */
  readonly env?: Readonly<Record<string, string>>;
}

export class Exabgp {
  constructor(
    readonly ns: Netns,
    readonly dir: string,
    readonly daemon: Daemon,
    readonly commandFile: string,
  ) {}

  /** Send one API command (`announce route …`, `withdraw route …`, `neighbor X teardown 2`, …). */
  async command(line: string): Promise<void> {
    appendFileSync(this.commandFile, `${line}\n`);
  }

  stop(): Promise<void> {
    return this.daemon.stop();
  }
}

export async function startExabgp(
  ns: Netns,
  dir: string,
  neighbors: string,
  options: ExabgpOptions = {},
): Promise<Exabgp> {
  mkdirSync(dir, { recursive: true });
  const commandFile = join(dir, 'commands');
  writeFileSync(commandFile, '');
  const conf = join(dir, 'exabgp.conf');
  writeFileSync(
    conf,
    `process harness {\n  run /usr/bin/tail -n +1 -f ${commandFile};\n  encoder text;\n}\n\n${neighbors}\n`,
  );
  const env: Record<string, string> = {
    ...process.env,
    'exabgp.daemon.user': 'root',
    'exabgp.daemon.drop': 'false',
    'exabgp.daemon.daemonize': 'false',
    'exabgp.daemon.pid': join(dir, 'exabgp.pid'),
    'exabgp.api.cli': 'false',
    'exabgp.api.ack': 'false',
    'exabgp.log.destination': 'stdout',
    'exabgp.log.level': 'INFO',
    'exabgp.tcp.bind': options.listen ?? '',
    'exabgp.tcp.port': String(options.port ?? 179),
    ...options.env,
  };
  const proc = ns.spawn('exabgp', [conf], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const exa = new Exabgp(ns, dir, new Daemon('exabgp', ns, dir, proc), commandFile);
  // ExaBGP has no query socket here; it is up once it has parsed the config and started the process.
  await until(
    () => {
      return /harness|loaded|new peer|Connected|welcome/i.test(exa.daemon.log());
    },
    {
      timeout: 15_000,
      interval: 50,
      what: 'exabgp start',
      failIf: () => (exa.daemon.running ? undefined : `exabgp exited: ${exa.daemon.log()}`),
    },
  );
  return exa;
}
