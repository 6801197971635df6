/**
 * `nodebgp run`: load the config, start the daemon, the control socket and the health endpoints, and handle
 * signals.
 *
 *   SIGTERM / SIGINT  with graceful restart: kernel routes left in place, sessions closed so that the peers keep
 *                     our routes (RFC 8538); without: Cease to every peer, our kernel routes removed; exit 0
 *   SIGHUP            reload the config; peers added/removed/changed and pod CIDRs applied in place
 *   `nodebgp shutdown [--withdraw]` over the control socket: as SIGTERM; with --withdraw RFC 8538 Hard Reset to
 *                     every peer and our kernel routes removed (decommissioning), whatever graceful restart says
 *
 * With `kubernetes.enabled` the Node source starts first; BGP starts once our Node has been seen with a
 * podCIDR (that gives the router id and the next hop). Until then the control socket answers (`nodebgp status`
 * says what we wait for) and /readyz says 503. Once the routes learned at start are in the kernel, the Node's
 * NetworkUnavailable condition is set to False.
 *
 * An uncaught error is logged as `fatal` with its stack and the process exits 1 after the same cleanup (so
 * with graceful restart a bug leaves working routes behind, not a data-plane outage),
 * so a supervisor restarts it with the reason in the log (never a silent crash loop).
 */
import v8 from 'node:v8';
import { Speaker } from '../bgp/speaker.js';
import { BfdService } from '../bfd/service.js';
import { Fib, NetlinkBackend } from '../routing/index.js';
import { linuxTcpTransport } from '../sys/tcp.js';
import { ClusterFeed } from './cluster-feed.js';
import { watchConfigFile, type ConfigWatcher } from './config-watch.js';
import {
  ConfigError,
  configPath,
  configView,
  loadConfig,
  withNodeIdentity,
  type ConfigOverrides,
  type DaemonConfig,
} from './config.js';
import { startControlServer, type ControlServer } from './control.js';
import { Daemon, VERSION } from './daemon.js';
import type { Engines } from './deps.js';
import { sessionsNotReady, startHealthServer, type HealthServer } from './health.js';
import type { ClusterController } from './kubernetes/index.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { PeeringSpeaker } from './peering.js';
import { NotFound, type ControlSource, type StatusView } from './views.js';

/**
 * The real Speaker and Fib. The speaker runs on the Linux transport (TCP-MD5, TTL, GTSM) with BFD on a worker
 * thread (daemon/peering.ts); where Linux sockets cannot be had (not Linux, no koffi) it runs on plain
 * node:net, and a peer that asks for a password, a TTL or BFD is told so in the log.
 */
export const realEngines: Engines = {
  createSpeaker: (c) => {
    const transport = linuxTcpTransport();
    if (transport instanceof Error) return new Speaker(c);
    return new PeeringSpeaker(c, { transport, createBfd: () => new BfdService() });
  },
  createFib: (o) => new Fib({ ...o, backend: new NetlinkBackend() }),
};

/**
 * How long a stop (SIGTERM) may take before the process exits anyway. The DaemonSet's
 * terminationGracePeriodSeconds must exceed it, or the kubelet's SIGKILL cuts the Cease short.
 */
export const STOP_DEADLINE_MS = 10_000;

/**
 * V8 starts the young generation at 1 MB per semi-space and doubles it under allocation pressure up to 16 MB:
 * 32 MB of resident memory that a daemon keeps for good once a burst (a thousand sessions coming up, a full
 * table) has grown it, a quarter of its peak at 1000 route-reflector clients (issue 13). What a BGP daemon
 * allocates in a burst is short-lived (decoded messages, encoded slices): at the initial size it is collected
 * just as well, with more but smaller scavenges — measured: 15–20 MB less peak RSS at 1000 clients (none at
 * 2000: V8 still grows the space there, by a path this factor does not cover), convergence within the noise.
 * The growth factor is read by V8 each time it would grow the space, so setting it here, after start, takes
 * effect; an explicit `--max-semi-space-size` or `--semi-space-growth-factor` (node options or NODE_OPTIONS)
 * is left alone.
 */
export function keepYoungGenerationSmall(): void {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  if (/--(max-semi-space-size|semi-space-growth-factor)\b/.test(given)) return;
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

/** Everything a run owns, for shutdown and for the control socket before the daemon exists. */
interface Run {
  readonly config: DaemonConfig;
  readonly log: Logger;
  readonly metrics: Metrics;
  daemon?: Daemon;
  feed?: ClusterFeed;
  control?: ControlServer;
  health?: HealthServer;
  configWatcher?: ConfigWatcher;
  ready: boolean;
  stopping: boolean;
  /** Stop as a signal would; `withdraw`: Hard Reset and kernel routes removed (`nodebgp shutdown --withdraw`). */
  shutdown?: (why: string, withdraw: boolean) => void;
}

export async function runDaemon(flags: ConfigOverrides, engines?: Engines): Promise<number> {
  keepYoungGenerationSmall();
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
  const r: Run = { config, log, metrics: createMetrics(), ready: false, stopping: false };
  const done = new Promise<number>((resolve) => {
    const shutdown = async (why: string, code: number, withdraw = false) => {
      if (r.stopping) return;
      r.stopping = true;
      log.info({ event: 'stopping', why, withdraw }, `stopping: ${why}`);
      const force = setTimeout(() => {
        log.error(
          { event: 'stop-timeout' },
          `shutdown took over ${STOP_DEADLINE_MS / 1000} s; exiting anyway`,
        );
        resolve(code || 1);
      }, STOP_DEADLINE_MS);
      force.unref();
      await stopAll(r, withdraw);
      clearTimeout(force);
      log.info({ event: 'stopped' }, 'nodebgp stopped');
      log.flush();
      resolve(code);
    };
    r.shutdown = (why, withdraw) => void shutdown(why, 0, withdraw);
    process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
    process.on('SIGINT', () => void shutdown('SIGINT', 0));
    process.on('SIGHUP', () => r.daemon && reload(r.daemon, flags, log));
    r.configWatcher = watchConfigFile(configPath(flags), () => {
      log.info({ event: 'config-changed', path: configPath(flags) }, 'config file changed: reloading');
      if (r.daemon) reload(r.daemon, flags, log);
    });
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
    await startAll(r, engines ?? realEngines);
  } catch (err) {
    log.fatal({ event: 'start-failed', err }, (err as Error).message);
    r.stopping = true;
    await stopAll(r);
    log.flush();
    return 1;
  }
  return done;
}

async function startAll(r: Run, engines: Engines): Promise<void> {
  const { config, log } = r;
  r.control = await startControlServer(config.controlSocket, controlProxy(r));
  log.info({ event: 'control-socket', path: config.controlSocket }, `control socket ${config.controlSocket}`);
  if (config.health !== false) {
    r.health = await startHealthServer(config.health, {
      notReady: () => notReady(r),
      metrics: () => scrape(r),
    });
    log.info({ event: 'health', ...r.health.address }, 'health endpoints /livez /readyz /metrics');
  }
  let daemonConfig = config;
  if (config.kubernetes?.enabled === true) {
    const identity = await startCluster(r);
    if (identity === undefined) return; // stopped while waiting
    daemonConfig = withNodeIdentity(config, identity.routerId, identity.address);
  }
  const cluster = r.feed?.cluster;
  r.daemon = new Daemon(daemonConfig, engines, log, {
    cluster: r.feed,
    onRoutesInPlace: cluster ? () => void markAvailable(cluster, log) : undefined,
    onFibEvent: (e) => {
      if (e.type === 'reconciled') r.metrics.reconcileDuration.observe(e.seconds);
    },
    observeConvergence: (phase, seconds) => r.metrics.convergence.observe({ phase }, seconds),
  });
  await r.daemon.start();
  r.ready = true;
}

/** Starts the Node source and waits for our Node with a podCIDR; undefined when stopped first. */
async function startCluster(r: Run): Promise<{ routerId: string; address: string } | undefined> {
  const { config, log } = r;
  const k = config.kubernetes!;
  // Loaded here, not at the top: the Kubernetes client is tens of MB of heap a static-mode daemon never uses.
  const { ClusterController } = await import('./kubernetes/index.js');
  const cluster = new ClusterController({
    config: k,
    asn: config.asn,
    staticPodCIDRs: config.node.podCIDRs,
  });
  if (cluster.nodeName === '') throw new Error('kubernetes: set kubernetes.nodeName or NODE_NAME');
  const feed = new ClusterFeed(cluster, log, k.podCIDRFromNode);
  r.feed = feed;
  cluster.on('connected', () => r.metrics.kubernetesConnected.set(1));
  cluster.on('disconnected', () => r.metrics.kubernetesConnected.set(0));
  cluster.start();
  log.info({ event: 'k8s-start', node: cluster.nodeName }, `watching node ${cluster.nodeName}`);
  const node = await feed.ready();
  if (node === undefined || r.stopping) return undefined;
  const routerId = config.routerId || cluster.routerId;
  if (!routerId)
    throw new Error(`kubernetes: node ${node.name} has no IPv4 InternalIP; set routerId in the config`);
  return { routerId, address: config.node.address || (cluster.routerId ?? node.internalIPs[0] ?? '') };
}

async function markAvailable(cluster: ClusterController, log: Logger): Promise<void> {
  const outcome = await cluster.markNetworkAvailable();
  log.info({ event: 'k8s-network-available', outcome }, `NetworkUnavailable=False: ${outcome}`);
}

async function stopAll(r: Run, withdraw = false): Promise<void> {
  const warn = (what: string) => (err: unknown) =>
    r.log.error({ event: 'stop-failed', what, err }, `${what} stop failed`);
  r.configWatcher?.close();
  r.feed?.cancel();
  await (withdraw ? r.daemon?.withdraw() : r.daemon?.stop())?.catch(warn('daemon'));
  await r.feed?.cluster.stop().catch(warn('kubernetes'));
  await r.control?.close();
  await r.health?.close();
}

function notReady(r: Run): string | undefined {
  if (r.ready) return r.daemon && sessionsNotReady(r.daemon.speaker.peers());
  if (r.feed) return r.feed.status().waiting ?? 'waiting for our Node with a podCIDR';
  return 'starting';
}

async function scrape(r: Run): Promise<{ contentType: string; text: string }> {
  const d = r.daemon;
  if (d)
    r.metrics.updateFromStatus(
      d.speaker.peers(),
      d.kernel?.stats() as Parameters<Metrics['updateFromStatus']>[1],
    );
  return { contentType: r.metrics.contentType, text: await r.metrics.render() };
}

/** The control socket's source: the daemon once it exists; before that (Kubernetes mode) empty tables. */
function controlProxy(r: Run): ControlSource {
  const noPeer = (peer: string): never => {
    throw new NotFound(`no peer ${peer} (BGP has not started yet)`);
  };
  return {
    neighbors: () => r.daemon?.neighbors() ?? [],
    routes: () => r.daemon?.routes() ?? [],
    adjRibIn: (peer) => r.daemon?.adjRibIn(peer) ?? noPeer(peer),
    adjRibOut: (peer) => r.daemon?.adjRibOut(peer) ?? noPeer(peer),
    fib: () => r.daemon?.fib() ?? { enabled: false, entries: [] },
    status: () => r.daemon?.status() ?? startingStatus(r),
    config: () => r.daemon?.config() ?? configView(r.config),
    bfd: () =>
      r.daemon?.bfd() ?? { enabled: false, sessions: [], discards: {}, timerLateMaxMs: 0, timerLate50ms: 0 },
    shutdown: ({ withdraw }) => {
      // Answer first: the control socket closes while stopping.
      setImmediate(() => r.shutdown?.(withdraw ? 'shutdown --withdraw' : 'shutdown', withdraw));
      return { stopping: true, withdraw };
    },
  };
}

function startingStatus(r: Run): StatusView {
  const c = r.config;
  return {
    version: VERSION,
    pid: process.pid,
    startedAt: Date.now() - process.uptime() * 1000,
    asn: c.asn,
    routerId: c.routerId || '(from the Node)',
    listen: 'not yet (waiting for the Node)',
    nodeAddress: c.node.address || '(from the Node)',
    podCIDRs: [],
    peers: { configured: 0, established: 0 },
    routes: { prefixes: 0, paths: 0 },
    fib: { enabled: false, installed: 0, pending: 0, failed: 0, unresolvable: 0 },
    config: c.source,
    ...(r.feed ? { kubernetes: r.feed.status() } : {}),
  };
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
