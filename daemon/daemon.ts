/**
 * The daemon proper: config → Speaker (peers, advertisements) → Loc-RIB changes → Fib, plus the control
 * socket's data source. Signals and process exit live in main.ts.
 */
import type { Advertisement, LocRibChanges, PeerConfig, RouteView, SpeakerConfig } from '../bgp/api.js';
import { formatPrefix, isIpv4Key, prefixContains, type PrefixKey } from '../ip/prefix.js';
import { parseIpv4 } from '../ip/address.js';
import type { ClusterFeed, ClusterSink } from './cluster-feed.js';
import { configView, type DaemonConfig } from './config.js';
import type { Engines, FibLike, SpeakerLike } from './deps.js';
import { attachSpeakerLogs, type Logger } from './log.js';
import { NotFound, type ControlSource, type FibView, type StatusView } from './views.js';

export const VERSION = '0.1.0';

/** Our own pod CIDRs (and anything inside them) and default routes are never imported. */
export function importAllowed(config: DaemonConfig, prefix: PrefixKey): boolean {
  if (config.node.podCIDRs.some((own) => prefixContains(own, prefix))) return false;
  if (config.importPrefixes) return config.importPrefixes.some((allowed) => prefixContains(allowed, prefix));
  return formatPrefix(prefix).split('/')[1] !== '0';
}

/** podCIDRs with this node as the next hop: IPv4 via node.address, IPv6 via node.address6 (or the session). */
export function advertisements(config: DaemonConfig): Advertisement[] {
  const v4 = parseIpv4(config.node.address) !== undefined ? config.node.address : undefined;
  const v6 = config.node.address6 ?? (v4 === undefined ? config.node.address : undefined);
  return config.node.podCIDRs.map((prefix) => {
    const nextHop = isIpv4Key(prefix) ? v4 : v6;
    return nextHop === undefined ? { prefix } : { prefix, nextHop };
  });
}

export function speakerConfig(config: () => DaemonConfig): SpeakerConfig {
  const c = config();
  return {
    asn: c.asn,
    routerId: c.routerId,
    listen: c.listen,
    importFilter: (_peer, prefix) => importAllowed(config(), prefix),
  };
}

/** The speaker's config in Kubernetes mode: the cluster's import/export policy and reflector cluster id. */
export function clusterSpeakerConfig(c: DaemonConfig, feed: ClusterFeed): SpeakerConfig {
  const cluster = feed.cluster;
  const clusterId = cluster.clusterId;
  return {
    asn: c.asn,
    routerId: c.routerId,
    listen: c.listen,
    importFilter: cluster.policy.importFilter,
    exportFilter: cluster.policy.exportFilter,
    ...(clusterId !== undefined ? { clusterId } : {}),
  };
}

export interface DaemonOptions {
  /** Kubernetes mode: peers, advertisements and policy come from the cluster, not the file. */
  readonly cluster?: ClusterFeed;
  /** Called once, when the routes learned at start are in the kernel (every End-of-RIB or the grace time). */
  readonly onRoutesInPlace?: () => void;
}

function routeCounts(routes: readonly RouteView[]): { prefixes: number; paths: number } {
  return { prefixes: new Set(routes.map((r) => r.prefix)).size, paths: routes.length };
}

export class Daemon implements ControlSource, ClusterSink {
  readonly speaker: SpeakerLike;
  /** The kernel FIB, when kernel.enabled. */
  readonly kernel: FibLike | undefined;
  private cfg: DaemonConfig;
  private readonly startedAt = Date.now();
  private readonly pendingEor = new Set<string>();
  private staleTimer: NodeJS.Timeout | undefined;
  private staleReleased = false;

  private readonly feed: ClusterFeed | undefined;
  private routesInPlaceSent = false;

  constructor(
    config: DaemonConfig,
    engines: Engines,
    private readonly log: Logger,
    private readonly options: DaemonOptions = {},
  ) {
    this.cfg = config;
    this.feed = options.cluster;
    this.speaker = engines.createSpeaker(
      this.feed ? clusterSpeakerConfig(config, this.feed) : speakerConfig(() => this.cfg),
    );
    this.kernel = config.kernel.enabled
      ? engines.createFib({
          backend: 'netlink',
          table: config.kernel.table,
          metric: config.kernel.metric,
          protocol: config.kernel.protocol,
          staleGraceMs: config.kernel.staleGraceSeconds * 1000,
          onEvent: (e) => this.fibEvent(e),
        })
      : undefined;
  }

  get current(): DaemonConfig {
    return this.cfg;
  }

  async start(): Promise<void> {
    attachSpeakerLogs(this.speaker, this.log);
    this.speaker.on('loc-rib', (changes) => this.onLocRib(changes));
    this.speaker.on('end-of-rib', (peer) => this.onEndOfRib(peer));
    if (this.kernel) {
      await this.kernel.start();
      if (this.cfg.kernel.blackholePodCIDRs)
        this.kernel.setBlackholes(this.cfg.node.podCIDRs, 'blackhole', 4278198272);
      this.armStaleRelease();
    }
    await this.speaker.start();
    for (const peer of this.initialPeers()) {
      this.pendingEor.add(peer.address);
      this.speaker.addPeer(peer);
    }
    this.speaker.setAdvertisements(this.feed ? this.feed.advertisements : advertisements(this.cfg));
    if (this.feed) {
      this.feed.attach(this);
      if (this.pendingEor.size === 0) this.releaseStale('no peers to wait for');
    }
    this.log.info(
      {
        event: 'started',
        asn: this.cfg.asn,
        routerId: this.cfg.routerId,
        peers: this.cfg.peers.length,
        kernel: this.cfg.kernel.enabled,
      },
      'nodebgp started',
    );
  }

  /** The file's peers; in Kubernetes mode also the cluster's (a cluster peer wins over a file one). */
  private initialPeers(): PeerConfig[] {
    const peers = new Map(this.cfg.peers.map((p) => [p.address, p]));
    for (const [address, p] of this.feed?.peers ?? []) peers.set(address, p);
    return [...peers.values()];
  }

  /** Our own pod CIDRs: the cluster's advertisements in Kubernetes mode, else the file's. */
  private ownPodCIDRs(): readonly PrefixKey[] {
    return this.feed ? this.feed.advertisements.map((a) => a.prefix) : this.cfg.node.podCIDRs;
  }

  // ---- ClusterSink: the cluster changed after start ----

  peersChanged(d: { add: PeerConfig[]; remove: string[]; update: PeerConfig[] }): void {
    const fileOnly = new Set(this.cfg.peers.map((p) => p.address));
    for (const address of d.remove) {
      this.pendingEor.delete(address);
      if (!fileOnly.has(address)) this.peerChange('removed', address, () => this.speaker.removePeer(address));
    }
    for (const p of d.add) this.peerChange('added', p.address, () => this.speaker.addPeer(p));
    for (const p of d.update) this.peerChange('changed', p.address, () => this.speaker.updatePeer(p));
    if (this.pendingEor.size === 0) this.releaseStale('end-of-rib from every peer');
  }

  advertisementsChanged(ads: readonly Advertisement[]): void {
    this.log.info(
      { event: 'k8s-advertisements', podCIDRs: ads.map((a) => formatPrefix(a.prefix)) },
      'pod CIDRs changed',
    );
    this.speaker.setAdvertisements(ads);
  }

  /** Routes refused under the old import policy may pass now: ask Established peers to send them again. */
  policyChanged(): void {
    for (const p of this.speaker.peers())
      if (p.state === 'Established') this.speaker.requestRefresh?.(p.address);
  }

  /** Routing's events as log fields: failures and unresolvable next hops are warnings. */
  private fibEvent(e: { readonly type: string; readonly [k: string]: unknown }): void {
    const { type, ...fields } = e;
    const level =
      type === 'fault' ? 'error' : type === 'route-failed' || type === 'route-unresolvable' ? 'warn' : 'info';
    this.log[level]({ event: `fib-${type}`, ...fields }, `fib ${type}`);
  }

  /** Best-route changes to the kernel, except our own pod CIDRs (never a route to ourselves). */
  private onLocRib(changes: LocRibChanges): void {
    if (!this.kernel) return;
    const own = this.ownPodCIDRs();
    const prefixes: PrefixKey[] = [];
    const nexthops: (readonly string[] | null)[] = [];
    changes.prefixes.forEach((p, i) => {
      if (own.some((o) => prefixContains(o, p))) return;
      prefixes.push(p);
      nexthops.push(changes.nexthops[i]);
    });
    if (prefixes.length > 0) this.kernel.setMany(prefixes, nexthops);
  }

  /** Stale kernel routes from a previous run go once every peer has sent its table, or after the grace time. */
  private onEndOfRib(peer: string): void {
    this.pendingEor.delete(peer);
    if (this.pendingEor.size === 0) this.releaseStale('end-of-rib from every peer');
  }

  private armStaleRelease(): void {
    this.staleTimer = setTimeout(
      () => this.releaseStale('grace time over'),
      this.cfg.kernel.staleGraceSeconds * 1000,
    );
    this.staleTimer.unref();
  }

  private releaseStale(why: string): void {
    if (!this.kernel || this.staleReleased) {
      if (!this.kernel) this.routesInPlace(why);
      return;
    }
    this.staleReleased = true;
    clearTimeout(this.staleTimer);
    this.log.info({ event: 'fib-release-stale', why }, 'releasing stale kernel routes');
    this.kernel.releaseStale();
    this.routesInPlace(why);
  }

  /** The first full table is in the kernel once the FIB has flushed what it was given by now. */
  private routesInPlace(why: string): void {
    const notify = this.options.onRoutesInPlace;
    if (notify === undefined || this.routesInPlaceSent) return;
    this.routesInPlaceSent = true;
    const flushed = this.kernel?.flushed?.() ?? Promise.resolve();
    void flushed.then(() => {
      this.log.info({ event: 'routes-in-place', why }, 'learned routes are in the kernel');
      notify();
    });
  }

  /** SIGHUP: apply peer and pod CIDR changes without touching unaffected sessions. */
  reload(next: DaemonConfig): void {
    const prev = this.cfg;
    for (const key of ['asn', 'routerId', 'listen', 'kernel', 'controlSocket'] as const) {
      if (JSON.stringify(prev[key]) !== JSON.stringify(next[key]))
        this.log.warn(
          { event: 'reload-needs-restart', field: key },
          `${key} changed: restart nodebgp to apply it`,
        );
    }
    this.cfg = {
      ...next,
      asn: prev.asn,
      routerId: prev.routerId,
      listen: prev.listen,
      kernel: prev.kernel,
      controlSocket: prev.controlSocket,
    };
    this.log.level = next.log.level;
    const before = new Map(prev.peers.map((p) => [p.address, p]));
    const after = new Map(next.peers.map((p) => [p.address, p]));
    for (const [address] of before)
      if (!after.has(address)) this.peerChange('removed', address, () => this.speaker.removePeer(address));
    for (const [address, peer] of after) {
      const old = before.get(address);
      if (!old) this.peerChange('added', address, () => this.speaker.addPeer(peer));
      else if (!samePeer(old, peer)) this.peerChange('changed', address, () => this.speaker.updatePeer(peer));
    }
    // In Kubernetes mode the advertisements follow the Node, not the file.
    if (!this.feed && JSON.stringify(advertisements(prev)) !== JSON.stringify(advertisements(next))) {
      this.speaker.setAdvertisements(advertisements(next));
      this.log.info(
        { event: 'reload-advertisements', podCIDRs: next.node.podCIDRs.map(formatPrefix) },
        'pod CIDRs changed',
      );
    }
    this.log.info({ event: 'reloaded', config: next.source }, 'config reloaded');
  }

  private peerChange(what: string, address: string, apply: () => unknown): void {
    this.log.info({ event: `reload-peer-${what}`, peer: address }, `peer ${address} ${what}`);
    apply();
  }

  /** SIGTERM: Cease to every peer, then our kernel routes go (no graceful restart to keep them for). */
  async stop(): Promise<void> {
    clearTimeout(this.staleTimer);
    this.routesInPlaceSent = true;
    await this.speaker.stop('shutdown');
    if (this.kernel) await this.kernel.close({ removeRoutes: true });
  }

  // ---- ControlSource ----

  neighbors() {
    return this.speaker.peers();
  }

  routes() {
    return this.speaker.routes();
  }

  adjRibIn(peer: string) {
    this.requirePeer(peer);
    return this.speaker.adjRibIn(peer);
  }

  adjRibOut(peer: string) {
    this.requirePeer(peer);
    return this.speaker.adjRibOut(peer);
  }

  private requirePeer(peer: string): void {
    if (!this.speaker.peers().some((p) => p.address === peer))
      throw new NotFound(`no peer ${peer} (see nodebgp neighbors)`);
  }

  fib(): FibView {
    if (!this.kernel) return { enabled: false, entries: [] };
    const entries = this.kernel.entries().map((e) => ({
      prefix: formatPrefix(e.prefix),
      nexthops: e.nexthops,
      status: e.status,
      ...(e.error !== undefined ? { error: e.error } : {}),
      kernel: e.kernel === null ? null : { ...e.kernel, nexthops: e.kernel.nexthops ?? [] },
      since: e.since,
    }));
    return { enabled: true, entries, stats: { ...this.kernel.stats() } };
  }

  status(): StatusView {
    const c = this.cfg;
    const peers = this.speaker.peers();
    // Counts, not views: `nodebgp status` stays cheap with a million routes in the kernel.
    const fib = this.kernel?.stats();
    return {
      version: VERSION,
      pid: process.pid,
      startedAt: this.startedAt,
      asn: c.asn,
      routerId: c.routerId,
      listen: c.listen === false ? 'nowhere (outbound only)' : `${c.listen.address} port ${c.listen.port}`,
      nodeAddress: c.node.address,
      ...(c.node.address6 !== undefined ? { nodeAddress6: c.node.address6 } : {}),
      podCIDRs: this.ownPodCIDRs().map(formatPrefix),
      peers: { configured: peers.length, established: peers.filter((p) => p.state === 'Established').length },
      routes: this.speaker.routeCounts?.() ?? routeCounts(this.speaker.routes()),
      fib: {
        enabled: fib !== undefined,
        installed: fib?.installed ?? 0,
        pending: fib?.pending ?? 0,
        failed: fib?.failed ?? 0,
        unresolvable: fib?.unresolvable ?? 0,
      },
      config: c.source,
      ...(this.feed ? { kubernetes: this.feed.status() } : {}),
    };
  }

  config(): unknown {
    return configView(this.cfg);
  }

  bfd() {
    return (
      this.speaker.bfdView?.() ?? {
        enabled: false,
        sessions: [],
        discards: {},
        timerLateMaxMs: 0,
        timerLate50ms: 0,
      }
    );
  }
}

function samePeer(a: PeerConfig, b: PeerConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
