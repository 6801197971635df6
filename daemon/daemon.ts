/**
 * The daemon proper: config → Speaker (peers, advertisements) → Loc-RIB changes → Fib, plus the control
 * socket's data source. Signals and process exit live in main.ts.
 */
import type { Advertisement, LocRibChanges, PeerConfig, SpeakerConfig } from '../bgp/api.js';
import { formatPrefix, isIpv4Key, prefixContains, type PrefixKey } from '../ip/prefix.js';
import { canonicalAddress, parseIpv4 } from '../ip/address.js';
import { parsePrefix } from '../ip/prefix.js';
import type { ClusterFeed, ClusterSink } from './cluster-feed.js';
import type { ClusterPeerChange, ServiceChange } from './kubernetes/index.js';
import { isServiceAddress } from './kubernetes/services.js';
import { validatePeerConfig } from '../bgp/peer-config.js';
import { rulesMatch, type ImportRule } from './import-rules.js';
import { ConfigError, configView, type DaemonConfig } from './config.js';
import type { Engines, FibLike, SpeakerLike } from './deps.js';
import { BLACKHOLE_METRIC } from '../routing/defaults.js';
import type { FibEvent } from '../routing/api.js';
import { attachSpeakerLogs, type Logger } from './log.js';
import { clusterIdStep, retireStep, type PendingClusterId, type Retiring } from './retire.js';
import { NotFound, type ControlSource, type FibView, type RouteView, type StatusView } from './views.js';

export const VERSION = '0.1.0';

/**
 * Static mode's import policy (docs/config.md, "Import policy"): a route is accepted when the peer's own
 * `import` rules, else `importPrefixes`, match it (import-rules.ts), and never when it lies inside one of
 * our own pod CIDRs. A peer with neither gets nothing accepted.
 */
export function importAllowed(config: DaemonConfig, peer: string, prefix: PrefixKey): boolean {
  if (config.node.podCIDRs.some((own) => prefixContains(own, prefix))) return false;
  const rules = importRulesOf(config, peer);
  return rules !== undefined && rulesMatch(rules, prefix);
}

/** The rules a peer's routes are checked against, or undefined when it has none. */
export function importRulesOf(config: DaemonConfig, peer: string): readonly ImportRule[] | undefined {
  return config.peerImport.get(peer) ?? config.importPrefixes;
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
    importFilter: (peer, prefix) => importAllowed(config(), peer, prefix),
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
    exportPolicyKey: cluster.policy.exportPolicyKey,
    ...(clusterId !== undefined ? { clusterId } : {}),
  };
}

export interface DaemonOptions {
  /** Kubernetes mode: peers, advertisements and policy come from the cluster, not the file. */
  readonly cluster?: ClusterFeed;
  /** Called once, when the routes learned at start are in the kernel (every End-of-RIB or the grace time). */
  readonly onRoutesInPlace?: () => void;
  /** Every FIB event, besides its log line (main.ts observes the reconcile durations). */
  readonly onFibEvent?: (e: FibEvent) => void;
  /**
   * `nodebgp_convergence_seconds{phase}` (metrics.ts): "startup", from BGP starting until the routes learned
   * at start are in the kernel (as for onRoutesInPlace); "peer", from a session reaching Established until
   * the routes it sent before its End-of-RIB are in the kernel. Once per phase and session.
   */
  readonly observeConvergence?: (phase: 'startup' | 'peer', seconds: number) => void;
  /** A monotonic clock in milliseconds (tests); default performance.now. */
  readonly now?: () => number;
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
  /** When each peer's current session reached Established (monotonic ms), until its End-of-RIB. */
  private readonly establishedAt = new Map<string, number>();
  private readonly now: () => number;
  private bgpStartedAt = 0;
  /** Peers whose current session has sent End-of-RIB (keyed canonically, as the speaker names them). */
  private readonly eorSeen = new Set<string>();
  /** Sessions the cluster no longer wants, kept until the reflectors carry their routes (retire.ts). */
  private readonly retiring = new Map<string, Retiring>();
  private pendingClusterId: PendingClusterId | undefined;
  /**
   * While sessions retire or a cluster id is pending: both wait for sessions to send their tables, so one
   * timer checks both, and stops when neither is left.
   */
  private waitTimer: NodeJS.Timeout | undefined;
  private staleReleased = false;

  private readonly feed: ClusterFeed | undefined;
  /** The CLUSTER_ID the speaker was created with (Kubernetes mode). */
  private readonly startClusterId: string | undefined;
  private routesInPlaceSent = false;
  /** After our own graceful restart: the selection deferral's timer (End-of-RIB from every peer ends it first). */
  private deferralTimer: NodeJS.Timeout | undefined;

  constructor(
    config: DaemonConfig,
    engines: Engines,
    private readonly log: Logger,
    private readonly options: DaemonOptions = {},
  ) {
    this.cfg = config;
    this.now = options.now ?? (() => performance.now());
    this.feed = options.cluster;
    this.startClusterId = this.feed?.cluster.clusterId;
    this.speaker = engines.createSpeaker(
      this.feed ? clusterSpeakerConfig(config, this.feed) : speakerConfig(() => this.cfg),
    );
    this.kernel = config.kernel.enabled
      ? engines.createFib({
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
    this.speaker.on('peer-state', (e) => {
      if (e.to === 'Established') this.establishedAt.set(e.address, this.now());
      else if (e.from === 'Established') {
        this.establishedAt.delete(e.address);
        this.eorSeen.delete(key(e.address));
      }
    });
    this.bgpStartedAt = this.now();
    if (this.kernel) {
      await this.kernel.start();
      this.setBlackholes();
    }
    this.beginRestart();
    await this.speaker.start();
    for (const peer of this.initialPeers()) {
      this.pendingEor.add(peer.address);
      this.peerChange('added', peer.address, () => this.speaker.addPeer(this.withGr(peer)));
    }
    if (!this.feed) this.warnUnfiltered(this.cfg.peers);
    this.speaker.setAdvertisements(this.feed ? this.clusterAdvertisements() : advertisements(this.cfg));
    if (this.feed) {
      this.feed.attach(this);
      const clusterId = this.feed.cluster.clusterId;
      if (clusterId !== this.startClusterId) this.clusterIdChanged(clusterId);
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

  /** Graceful restart is on for some peer: the global setting or a peer's own restart time. */
  private get gracefulRestart(): boolean {
    const c = this.cfg;
    return (
      c.gracefulRestart.restartTime > 0 || this.initialPeers().some((p) => (p.gracefulRestartTime ?? 0) > 0)
    );
  }

  /** A peer with the global graceful-restart setting unless it has its own. */
  private withGr(p: PeerConfig): PeerConfig {
    return withGrOf(this.cfg, p);
  }

  /**
   * RFC 4724 §4.1: the kernel kept our routes from the previous run (forwarding state preserved), so this is a
   * graceful restart: OPENs carry the R and F bits, and our tables and End-of-RIB wait until every peer has
   * sent End-of-RIB, or the selection deferral time. Meanwhile relearned routes are adopted in the kernel
   * without a rewrite, and the rest are swept at the end (`releaseStale`).
   */
  private beginRestart(): void {
    if (!this.gracefulRestart || !this.kernel) return;
    const st = this.kernel.stats();
    const kept = (st.stale ?? 0) + (st.installed ?? 0);
    if (kept === 0) return;
    const deferral = this.cfg.gracefulRestart.selectionDeferralTime;
    this.log.info(
      { event: 'graceful-restart', keptRoutes: kept, selectionDeferralTime: deferral },
      `restarting gracefully: ${kept} kernel routes kept; selection deferred up to ${deferral} s`,
    );
    this.speaker.beginRestart?.(true);
    this.deferralTimer = setTimeout(() => this.releaseStale('selection deferral over'), deferral * 1000);
    this.deferralTimer.unref();
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

  /**
   * `kernel.blackholePodCIDRs`: a blackhole for each of our pod CIDRs — the Node's in Kubernetes mode, the
   * file's otherwise — replaced whenever they change, so unused pod addresses are dropped here.
   */
  private setBlackholes(): void {
    if (this.kernel && this.cfg.kernel.blackholePodCIDRs)
      this.kernel.setBlackholes(this.ownPodCIDRs(), 'blackhole', BLACKHOLE_METRIC);
  }

  // ---- ClusterSink: the cluster changed after start ----

  peersChanged(d: ClusterPeerChange): void {
    // A file peer the cluster also names runs with the cluster's settings, and gets the file's back after.
    const filePeers = new Map(this.cfg.peers.map((p) => [key(p.address), p]));
    const retire = new Set(d.retire.map(key));
    for (const address of d.remove) {
      this.pendingEor.delete(address);
      const filePeer = filePeers.get(key(address));
      if (filePeer !== undefined) {
        this.peerChange('changed', address, () => this.speaker.updatePeer(this.withGr(filePeer)));
        continue;
      }
      if (retire.has(key(address))) this.startRetiring(address);
      else {
        this.retiring.delete(key(address));
        this.peerChange('removed', address, () => this.speaker.removePeer(address));
      }
    }
    for (const p of d.add) {
      // Wanted again before it was retired: the session is still there, only its settings may differ.
      if (this.retiring.delete(key(p.address)) || filePeers.has(key(p.address)))
        this.peerChange('kept', p.address, () => this.speaker.updatePeer(this.withGr(p)));
      else this.peerChange('added', p.address, () => this.speaker.addPeer(this.withGr(p)));
    }
    for (const p of d.update)
      this.peerChange('changed', p.address, () => this.speaker.updatePeer(this.withGr(p)));
    if (this.pendingEor.size === 0) this.releaseStale('end-of-rib from every peer');
    if (this.retiring.size > 0) this.checkRetiring();
  }

  /** Static mode: say, once per peer, that a peer without import rules gets nothing accepted. */
  private warnUnfiltered(peers: readonly PeerConfig[]): void {
    for (const p of peers)
      if (importRulesOf(this.cfg, p.address) === undefined)
        this.log.warn(
          { event: 'import-policy-missing', peer: p.address },
          `peer ${p.address} has no import policy: every route it sends is refused ` +
            '(set peers[].import or importPrefixes; see docs/config.md)',
        );
  }

  // ---- Make-before-break (retire.ts) ----

  private startRetiring(address: string): void {
    this.log.info(
      { event: 'k8s-peer-retiring', peer: address },
      `peer ${address} no longer wanted: kept until the reflectors carry its routes`,
    );
    this.retiring.set(key(address), { since: this.now() });
    this.waitForTables();
  }

  /** Checks the retiring sessions and the pending cluster id every 200 ms while either waits. */
  private waitForTables(): void {
    if (this.waitTimer !== undefined) return;
    this.waitTimer = setInterval(() => {
      this.checkRetiring();
      if (this.checkClusterId() && this.retiring.size === 0) this.stopWaiting();
    }, 200);
    this.waitTimer.unref();
  }

  private stopWaiting(): void {
    clearInterval(this.waitTimer);
    this.waitTimer = undefined;
  }

  /** Every one of these peers Established and with End-of-RIB since (true for none). */
  private allSentTheirTables(addresses: readonly string[]): boolean {
    const state = new Map(this.speaker.peers().map((p) => [key(p.address), p.state]));
    return addresses.every((address) => {
      const a = key(address);
      return state.get(a) === 'Established' && this.eorSeen.has(a);
    });
  }

  private checkRetiring(): void {
    const now = this.now();
    const reflectorsUp = this.allSentTheirTables(this.feed?.reflectors ?? []);
    for (const [address, st] of [...this.retiring]) {
      const step = retireStep(st, { reflectorsUp, uncovered: this.uncovered(address) }, now);
      if (step.action === 'keep') {
        this.retiring.set(address, step.state);
        continue;
      }
      this.retiring.delete(address);
      const fields = { event: 'k8s-peer-retired', peer: address, why: step.why, uncovered: step.uncovered };
      if (step.why === 'gave-up')
        this.log.warn(fields, `peer ${address} removed; no other path for ${step.uncovered.join(', ')}`);
      else this.log.info(fields, `peer ${address} removed: its routes come through the reflectors`);
      this.peerChange('removed', address, () => this.speaker.removePeer(address));
    }
  }

  /** Prefixes we accepted from `peer` that have no eligible path through a session we keep. */
  private uncovered(peer: string): string[] {
    const out: string[] = [];
    for (const v of this.speaker.adjRibIn(peer)) {
      if (!v.reason.endsWith('accepted')) continue;
      const prefix = parsePrefix(v.prefix);
      if (prefix instanceof Error) continue;
      const covered = this.speaker
        .routes({ prefix })
        .some(
          (r) =>
            !r.local &&
            key(r.peer) !== peer &&
            !this.retiring.has(key(r.peer)) &&
            !r.reason.startsWith('ineligible'),
        );
      if (!covered) out.push(v.prefix);
    }
    return out;
  }

  advertisementsChanged(ads: readonly Advertisement[]): void {
    this.log.info(
      { event: 'k8s-advertisements', podCIDRs: ads.map((a) => formatPrefix(a.prefix)) },
      'pod CIDRs changed',
    );
    this.speaker.setAdvertisements(this.clusterAdvertisements());
    this.setBlackholes();
  }

  /** The Service addresses we advertise changed (`kubernetes.services`): originated beside our pod CIDRs. */
  servicesChanged(change: ServiceChange): void {
    this.log.info(
      {
        event: 'k8s-services',
        advertised: change.advertisements.map((a) => formatPrefix(a.prefix)),
        withheld: change.plan.entries.filter((e) => !e.advertised).length,
      },
      'service addresses changed',
    );
    this.speaker.setAdvertisements(this.clusterAdvertisements());
  }

  /** Kubernetes mode: our pod CIDRs and the Service addresses we advertise. */
  private clusterAdvertisements(): Advertisement[] {
    return [...(this.feed?.advertisements ?? []), ...(this.feed?.serviceAdvertisements ?? [])];
  }

  /**
   * We became a route reflector (or stopped being one, or the label's cluster id changed). The new id waits
   * for our client sessions (daemon/retire.ts, clusterIdStep): taken at once, it would make us drop the routes
   * another reflector of the cluster reflected to us before our clients have sent theirs.
   */
  clusterIdChanged(clusterId: string | undefined): void {
    this.pendingClusterId = { clusterId, since: this.now() };
    if (!this.checkClusterId()) {
      this.log.info(
        { event: 'k8s-cluster-id-pending', clusterId: clusterId ?? null },
        `route reflector: cluster id ${clusterId} taken once every client session has sent its routes`,
      );
      this.waitForTables();
    }
  }

  /** Takes the pending cluster id when its time has come; true when there is none left pending. */
  private checkClusterId(): boolean {
    const pending = this.pendingClusterId;
    if (pending === undefined) return true;
    const clients = [...(this.feed?.peers.values() ?? [])].filter((p) => p.routeReflectorClient === true);
    const clientsUp = this.allSentTheirTables(clients.map((p) => p.address));
    const step = clusterIdStep(pending, clientsUp, this.now());
    if (step === 'wait') return false;
    this.pendingClusterId = undefined;
    const id = pending.clusterId;
    const fields = {
      event: 'k8s-cluster-id',
      clusterId: id ?? null,
      ...(step === 'give-up' ? { gaveUp: true } : {}),
    };
    if (id === undefined) this.log.info(fields, 'not a route reflector');
    else if (step === 'give-up')
      this.log.warn(fields, `route reflector, cluster id ${id} (not every client session came up in time)`);
    else this.log.info(fields, `route reflector, cluster id ${id}`);
    this.speaker.setClusterId(id);
    // Routes already received are checked against the new id (CLUSTER_LIST loops) when sent again.
    if (this.speaker.peers().length > 0) this.policyChanged();
    return true;
  }

  /** Routes refused under the old import policy may pass now: ask Established peers to send them again. */
  policyChanged(): void {
    // Exports: what each group sends is looked at again. Imports: the peers send their tables again.
    this.speaker.exportPolicyChanged();
    for (const p of this.speaker.peers())
      if (p.state === 'Established') this.speaker.requestRefresh(p.address);
  }

  /** Routing's events as log fields: failures and unresolvable next hops are warnings. */
  private fibEvent(e: FibEvent): void {
    this.options.onFibEvent?.(e);
    // The FIB's stale release deadline (kernel.staleGraceSeconds) is the grace time: routes in place now.
    if (e.type === 'stale-released' && e.why === 'grace time over') this.releaseStale('grace time over');
    const { type, ...fields } = e;
    const level =
      type === 'fault'
        ? 'error'
        : type === 'route-failed' || type === 'route-unresolvable'
          ? 'warn'
          : type === 'reconciled'
            ? 'debug'
            : 'info';
    this.log[level]({ event: `fib-${type}`, ...fields }, `fib ${type}`);
  }

  /** Best-route changes to the kernel, except our own pod CIDRs (never a route to ourselves). */
  private onLocRib(changes: LocRibChanges): void {
    if (!this.kernel) return;
    const own = this.ownPodCIDRs();
    // A Service address is never a BGP route in our kernel (kube-proxy delivers it); the import policy
    // refuses them, this keeps one accepted before its Service appeared out as well.
    const services = this.feed?.servicePlan?.known;
    const prefixes: PrefixKey[] = [];
    const nexthops: (readonly string[] | null)[] = [];
    changes.prefixes.forEach((p, i) => {
      if (own.some((o) => prefixContains(o, p))) return;
      if (services !== undefined && changes.nexthops[i] !== null && isServiceAddress(services, p)) return;
      prefixes.push(p);
      nexthops.push(changes.nexthops[i]);
    });
    if (prefixes.length > 0) this.kernel.setMany(prefixes, nexthops);
  }

  /** Stale kernel routes from a previous run go once every peer has sent its table, or after the grace time. */
  private onEndOfRib(peer: string): void {
    this.eorSeen.add(key(peer));
    const since = this.establishedAt.get(peer);
    if (since !== undefined) {
      this.establishedAt.delete(peer);
      void this.flushed().then(() => this.observe('peer', since));
    }
    this.pendingEor.delete(peer);
    if (this.pendingEor.size === 0) this.releaseStale('end-of-rib from every peer');
  }

  private releaseStale(why: string): void {
    clearTimeout(this.deferralTimer);
    this.deferralTimer = undefined;
    this.speaker.endDeferral?.(why);
    if (!this.kernel || this.staleReleased) {
      if (!this.kernel) this.routesInPlace(why);
      return;
    }
    this.staleReleased = true;
    this.log.info({ event: 'fib-release-stale', why }, 'releasing stale kernel routes');
    this.kernel.releaseStale();
    this.routesInPlace(why);
  }

  /** The first full table is in the kernel once the FIB has flushed what it was given by now. */
  private routesInPlace(why: string): void {
    if (this.routesInPlaceSent) return;
    this.routesInPlaceSent = true;
    void this.flushed().then(() => {
      this.log.info({ event: 'routes-in-place', why }, 'learned routes are in the kernel');
      this.observe('startup', this.bgpStartedAt);
      this.options.onRoutesInPlace?.();
    });
  }

  /** Resolves once the FIB has written (or failed) every route it was given so far. */
  private flushed(): Promise<void> {
    return this.kernel?.flushed?.() ?? Promise.resolve();
  }

  private observe(phase: 'startup' | 'peer', since: number): void {
    this.options.observeConvergence?.(phase, Math.max(0, this.now() - since) / 1000);
  }

  /**
   * SIGHUP: apply peer and pod CIDR changes without touching unaffected sessions. The whole change is worked
   * out and checked first (every added or changed peer as the speaker will check it); if anything is wrong
   * a ConfigError names every problem and nothing is applied, so the running config really is kept.
   */
  reload(next: DaemonConfig): void {
    const prev = this.cfg;
    // Peers as the speaker gets them: a changed global gracefulRestart.restartTime changes every peer without
    // its own (and resets their sessions: the capability is in the OPEN).
    const diff = diffConfigPeers(
      prev.peers.map((p) => withGrOf(prev, p)),
      next.peers.map((p) => withGrOf(next, p)),
    );
    const problems = [...diff.add, ...diff.change].flatMap(({ peer, index }) => {
      const why = validatePeerConfig(peer);
      return why === undefined ? [] : [`config ${next.source}: peers[${index}]: ${why}`];
    });
    if (problems.length > 0) throw new ConfigError(problems.join('\n'));
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
    for (const address of diff.remove)
      this.peerChange('removed', address, () => this.speaker.removePeer(address));
    for (const { peer } of diff.change)
      this.peerChange('changed', peer.address, () => this.speaker.updatePeer(this.withGr(peer)));
    for (const { peer } of diff.add)
      this.peerChange('added', peer.address, () => this.speaker.addPeer(this.withGr(peer)));
    if (!this.feed) {
      this.warnUnfiltered(diff.add.map((a) => a.peer));
      // Routes already received were judged by the old rules: ask the peers whose rules changed again.
      const added = new Set(diff.add.map((a) => a.peer.address));
      for (const p of next.peers)
        if (
          !added.has(p.address) &&
          JSON.stringify(importRulesOf(prev, p.address)) !== JSON.stringify(importRulesOf(next, p.address))
        ) {
          this.log.info(
            { event: 'reload-import-changed', peer: p.address },
            `peer ${p.address}: import rules changed`,
          );
          this.speaker.requestRefresh(p.address);
        }
    }
    // In Kubernetes mode the advertisements follow the Node, not the file.
    if (!this.feed && JSON.stringify(advertisements(prev)) !== JSON.stringify(advertisements(next))) {
      this.speaker.setAdvertisements(advertisements(next));
      this.setBlackholes();
      this.log.info(
        { event: 'reload-advertisements', podCIDRs: next.node.podCIDRs.map(formatPrefix) },
        'pod CIDRs changed',
      );
    }
    this.log.info({ event: 'reloaded', config: next.source }, 'config reloaded');
  }

  /**
   * One speaker call for one peer. A peer the speaker refuses (what validation could not foresee) is logged
   * with the reason and skipped: one bad peer never stops the others or the daemon.
   */
  private peerChange(what: string, address: string, apply: () => unknown): void {
    this.log.info({ event: `reload-peer-${what}`, peer: address }, `peer ${address} ${what}`);
    try {
      apply();
    } catch (err) {
      this.log.error(
        { event: 'peer-refused', peer: address, error: (err as Error).message },
        `peer ${address} not ${what}: ${(err as Error).message}`,
      );
    }
  }

  /**
   * SIGTERM (and a crash): with graceful restart, the kernel FIB is closed first with every route and nexthop
   * object of ours left in place (kernel routes belong to the data plane), then the sessions close so that the
   * peers keep our routes as stale (RFC 8538 Cease with the N bit; no Cease for a peer without it). Without
   * graceful restart: Cease to every peer, then our kernel routes go.
   */
  async stop(): Promise<void> {
    this.stopWaiting();
    clearTimeout(this.deferralTimer);
    this.routesInPlaceSent = true;
    if (this.gracefulRestart) {
      if (this.kernel) await this.kernel.close({ removeRoutes: false });
      await this.speaker.stop('restart', { graceful: true });
      return;
    }
    await this.speaker.stop('shutdown');
    if (this.kernel) await this.kernel.close({ removeRoutes: true });
  }

  /**
   * `nodebgp shutdown --withdraw`: decommissioning, not a restart. RFC 8538 Hard Reset to every peer, so they
   * withdraw our routes at once, then our kernel routes and nexthop objects go.
   */
  async withdraw(): Promise<void> {
    this.stopWaiting();
    clearTimeout(this.deferralTimer);
    this.routesInPlaceSent = true;
    await this.speaker.stop('decommissioned', { hardReset: true });
    if (this.kernel) await this.kernel.close({ removeRoutes: true });
  }

  // ---- ControlSource ----

  neighbors() {
    return this.speaker.peers();
  }

  /** The Loc-RIB; a Service address we originate says which Services it is and why we advertise it. */
  routes(): RouteView[] {
    const routes = this.speaker.routes();
    const plan = this.feed?.servicePlan;
    if (plan === undefined || plan.routes.length === 0) return [...routes];
    const why = new Map<string, string[]>();
    for (const e of plan.entries) {
      if (!e.advertised) continue;
      const text = formatPrefix(e.prefix);
      const list = why.get(text) ?? [];
      list.push(e.service === '' ? e.detail : `${e.service}: ${e.detail}`);
      why.set(text, list);
    }
    return routes.map((r) => {
      const service = r.local ? why.get(r.prefix) : undefined;
      return service === undefined ? r : { ...r, service: service.join('; ') };
    });
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
      ...(e.stale === true ? { stale: true } : {}),
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

/** `p` with `c.gracefulRestart.restartTime` unless it has a restart time of its own. */
function withGrOf<P extends PeerConfig>(c: DaemonConfig, p: P): P {
  const t = c.gracefulRestart.restartTime;
  return p.gracefulRestartTime !== undefined || t === 0 ? p : { ...p, gracefulRestartTime: t };
}

/** A peer's address as the speaker names it. */
function key(address: string): string {
  return canonicalAddress(address) ?? address;
}

function samePeer(a: PeerConfig, b: PeerConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

interface IndexedPeer {
  readonly peer: PeerConfig;
  /** Its position in the new file's `peers`, for messages. */
  readonly index: number;
}

/** The file's peer changes, by (canonical) address. */
function diffConfigPeers(
  before: readonly PeerConfig[],
  after: readonly PeerConfig[],
): { remove: string[]; add: IndexedPeer[]; change: IndexedPeer[] } {
  const old = new Map(before.map((p) => [key(p.address), p]));
  const add: IndexedPeer[] = [];
  const change: IndexedPeer[] = [];
  after.forEach((peer, index) => {
    const prev = old.get(key(peer.address));
    old.delete(key(peer.address));
    if (prev === undefined) add.push({ peer, index });
    else if (!samePeer(prev, peer)) change.push({ peer, index });
  });
  return { remove: [...old.values()].map((p) => p.address), add, change };
}
