/**
 * `nodebgp run`: load the config, start the daemon and the control socket, and handle signals.
 *
 *   SIGTERM / SIGINT  Cease to every peer, remove our kernel routes, close the socket, exit 0
 *   SIGHUP            reload the config; peers added/removed/changed and pod CIDRs applied in place
 *
 * An uncaught error is logged as `fatal` with its stack and the process exits 1 after the same cleanup,
 * so a supervisor restarts it with the reason in the log (never a silent crash loop).
 */
import { Speaker } from '../bgp/speaker.js';
import { Fib } from '../routing/fib.js';
import { ConfigError, loadConfig, type ConfigOverrides, type DaemonConfig } from './config.js';
import { startControlServer, type ControlServer } from './control.js';
import { Daemon } from './daemon.js';
import type { Engines } from './deps.js';
import { createLogger, type Logger } from './log.js';

/** The real Speaker and Fib. */
export const realEngines: Engines = {
  createSpeaker: (c) => new Speaker(c),
  createFib: (o) => new Fib(o),
};

export async function runDaemon(flags: ConfigOverrides, engines?: Engines): Promise<number> {
  let config: DaemonConfig;
  try {
    config = loadConfig(flags);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const log = createLogger(config.log.level);
  const daemon = new Daemon(config, engines ?? realEngines, log);
  let control: ControlServer | undefined;
  const done = new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = async (why: string, code: number) => {
      if (stopping) return;
      stopping = true;
      log.info({ event: 'stopping', why }, `stopping: ${why}`);
      const force = setTimeout(() => {
        log.error({ event: 'stop-timeout' }, 'shutdown took over 10 s; exiting anyway');
        resolve(code || 1);
      }, 10_000);
      force.unref();
      await daemon.stop().catch((err: unknown) => log.error({ event: 'stop-failed', err }, 'stop failed'));
      await control?.close();
      clearTimeout(force);
      log.info({ event: 'stopped' }, 'nodebgp stopped');
      log.flush();
      resolve(code);
    };
    process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
    process.on('SIGINT', () => void shutdown('SIGINT', 0));
    process.on('SIGHUP', () => reload(daemon, flags, log));
    process.on('uncaughtException', (err) => {
      log.fatal({ event: 'uncaught-exception', err }, err.message);
      void shutdown('uncaught exception', 1);
    });
    process.on('unhandledRejection', (reason) => {
      log.fatal({ event: 'unhandled-rejection', err: reason }, String(reason));
      void shutdown('unhandled rejection', 1);
    });
  });
  try {
    control = await startControlServer(config.controlSocket, daemon);
    await daemon.start();
  } catch (err) {
    log.fatal({ event: 'start-failed', err }, (err as Error).message);
    await daemon.stop().catch(() => undefined);
    await control?.close();
    log.flush();
    return 1;
  }
  log.info({ event: 'control-socket', path: config.controlSocket }, `control socket ${config.controlSocket}`);
  return done;
}

function reload(daemon: Daemon, flags: ConfigOverrides, log: Logger): void {
  try {
    daemon.reload(loadConfig(flags));
  } catch (err) {
    log.error(
      { event: 'reload-failed', error: (err as Error).message },
      'config reload refused; keeping the running config',
    );
  }
}
