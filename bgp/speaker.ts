/**
 * The BGP speaker: a TCP listener, the configured peers (`peer.ts`), the Loc-RIB, and the export pass that
 * turns Loc-RIB changes into packed UPDATEs for every other peer.
 *
 * Data flow for a received UPDATE: session decodes → `LocRib.applyUpdate` → 'loc-rib' event (when the best
 * routes changed) → the Loc-RIB marks the prefixes pending in every Adj-RIB-Out → one export pass per
 * event-loop turn (`setImmediate`) encodes each peer's pending changes into as few UPDATEs as fit. So a burst
 * of UPDATEs read in one socket chunk costs one export pass, never one per prefix.
 *
 * Output is bounded per peer (out-queue.ts): the export pass looks at a slice of each peer's pending prefixes
 * per turn, skips a peer whose socket holds more than the high-water mark until it drains, and answers
 * ROUTE-REFRESH coalesced and rate-limited — one slow or hostile peer never delays another's KEEPALIVEs.
 *
 * End-of-RIB ('end-of-rib' event): emitted when the peer sent End-of-RIB for every negotiated family; for a
 * peer that does not announce graceful restart, also after at most 10 s of Established without it.
 *
 * Graceful restart (RFC 4724, RFC 8538; graceful-restart.ts): the capability is announced with the N bit when
 * `PeerConfig.gracefulRestartTime` > 0. As helper, a restarting peer's paths are kept stale for its restart
 * time. As restarting speaker, `beginRestart` (before the peers are added) sets the R bit and the F bits and
 * holds back our routes and End-of-RIB until `endDeferral`; `stop({ graceful })` closes sessions so that
 * peers keep our routes; `stop({ hardReset })` sends RFC 8538 Hard Reset so that they withdraw them.
 *
 * TCP-MD5 (RFC 2385), `ttl` and GTSM (RFC 5082, `ttlSecurity`) are the transport's (transport.ts): the
 * speaker hands each peer's options to `Transport.setPeerOptions`. The default `node:net` transport cannot
 * apply them and says so (logged as `peer-socket-options`); the daemon injects the Linux one.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { canonicalAddress } from '../ip/address.js';
import type {
  Advertisement,
  PeerConfig,
  PeerStatus,
  ResetReason,
  RouteView,
  SpeakerConfig,
  SpeakerEvents,
} from './api.js';
import { Peer, type PeerContext } from './peer.js';
import { UpdateGroups } from './update-group.js';
import { validatePeerConfig } from './peer-config.js';
import type { PrefixKey } from '../ip/prefix.js';
import { LocRib } from './rib/index.js';
import { socketAddress } from './session.js';
import { logRecord, type SpeakerLog, type SpeakerLogRecord } from './log-events.js';
import { LogRate, RATE_LIMITED_EVENTS } from './log-rate.js';
import { AttributeCache } from './wire/cache.js';
import { clockOf, SharedClock, systemClock, type Clock } from './clock.js';
import { encodeShutdownCommunication } from './wire/notification.js';
import { nodeTransport, peerSocketOptions, type Listener, type Transport } from './transport.js';
import {
  CEASE_ADMINISTRATIVE_SHUTDOWN,
  CEASE_HARD_RESET,
  CEASE_OTHER_CONFIGURATION_CHANGE,
  CEASE_PEER_DECONFIGURED,
} from './wire/iana.js';

/** How long `stop()` / `removePeer()` give sockets to flush their Cease before the peer is disposed. */
export const STOP_FLUSH_MS = 200;

/** An EventEmitter typed by `SpeakerEvents` (api.ts). */
export class Speaker extends EventEmitter {
  private readonly locRib: LocRib;
  private readonly peersByAddress = new Map<string, Peer>();
  private server: Listener | undefined;
  private flushScheduled = false;
  private readonly cache = new AttributeCache();
  private readonly ctx: PeerContext;
  private running = false;
  private readonly clock: Clock;
  /** Peers alike share one Adj-RIB-Out computation and one encoded stream (update-group.ts). */
  private readonly groups: UpdateGroups;
  /** Our own restart (R bit, selection deferral), from `beginRestart` until `endDeferral`. */
  private restart: { deferring: boolean; forwarding: boolean } | undefined;

  /**
   * @param clock the shells' time (default the system clock): a `Clock` (bgp/clock.ts), whose `wakeAt` each
   *   peer's one timer uses — tests inject a virtual one — or just a `() => number` read with real timers.
   * @param transport where TCP connections come from (transport.ts); default plain `node:net`.
   */
  constructor(
    readonly config: SpeakerConfig,
    clock: Clock | (() => number) = systemClock,
    private readonly transport: Transport = nodeTransport,
  ) {
    super();
    // Every peer's timer list wakes through one heap and one real timer (clock.ts SharedClock).
    this.clock = new SharedClock(typeof clock === 'function' ? clockOf(clock) : clock);
    this.locRib = new LocRib({
      localAsn: config.asn,
      routerId: config.routerId,
      ...(config.clusterId !== undefined ? { clusterId: config.clusterId } : {}),
      ...(config.importFilter !== undefined ? { importFilter: config.importFilter } : {}),
    });
    this.groups = new UpdateGroups(this.locRib, config, this.log);
    this.ctx = {
      config,
      locRib: this.locRib,
      groups: this.groups,
      cache: this.cache,
      clock: this.clock,
      transport,
      locRibChanged: (changes) => this.emit('loc-rib', changes),
      peerState: (e) => this.emit('peer-state', e),
      endOfRib: (peer) => this.emit('end-of-rib', peer),
      log: this.log,
      scheduleFlush: () => this.scheduleFlush(),
      restartFlags: () => ({
        restarting: this.restart?.deferring === true,
        forwarding: this.restart?.forwarding === true,
      }),
      deferring: () => this.restart?.deferring === true,
    };
  }

  override on<K extends keyof SpeakerEvents>(event: K, listener: SpeakerEvents[K]): this {
    return super.on(event, listener);
  }

  override once<K extends keyof SpeakerEvents>(event: K, listener: SpeakerEvents[K]): this {
    return super.once(event, listener);
  }

  override off<K extends keyof SpeakerEvents>(event: K, listener: SpeakerEvents[K]): this {
    return super.off(event, listener);
  }

  override emit<K extends keyof SpeakerEvents>(event: K, ...args: Parameters<SpeakerEvents[K]>): boolean {
    return super.emit(event, ...args);
  }

  /** Listen on `config.listen` (if any) and start every peer added so far. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const listen = this.config.listen;
    if (listen !== false) {
      this.server = await this.transport.listen(
        { host: listen.address, port: listen.port },
        {
          connection: (socket) => this.accept(socket),
          error: (err) => this.log('error', 'listener-error', { error: err.message }),
        },
      );
      this.log('info', 'listening', { ...this.address() });
    }
    for (const p of this.peersByAddress.values()) p.start();
  }

  /** The address actually listened on (with the real port when `listen.port` was 0). */
  address(): { address: string; port: number } | undefined {
    return this.server?.address();
  }

  /**
   * Cease 6/2 Administrative Shutdown (with `reason` as the RFC 9003 shutdown communication) to every peer.
   * `graceful`: we restart — peers with the N bit take the Cease as a restart (RFC 8538), peers with graceful
   * restart but no N bit get no Cease, only the connection closed, so all of them keep our routes stale.
   * `hardReset`: Cease 6/9 Hard Reset (RFC 8538 §3, the Administrative Shutdown inside), so they withdraw.
   */
  async stop(reason = 'shutdown', how: { graceful?: boolean; hardReset?: boolean } = {}): Promise<void> {
    this.running = false;
    const comm = encodeShutdownCommunication(reason);
    const hard = how.hardReset === true;
    const subcode = hard ? CEASE_HARD_RESET : CEASE_ADMINISTRATIVE_SHUTDOWN;
    const data = hard ? hardResetData(CEASE_ADMINISTRATIVE_SHUTDOWN, comm) : comm;
    const graceful = !hard && how.graceful === true;
    this.log('info', 'speaker-stopping', { graceful, hardReset: hard });
    const retired = [...this.peersByAddress.values()].map((p) =>
      p.retire(subcode, data, 'admin-down', STOP_FLUSH_MS, graceful),
    );
    const server = this.server;
    this.server = undefined;
    const closed = server === undefined ? Promise.resolve() : server.close();
    await Promise.all([...retired, closed]);
    // The lines still held back are reported now: nothing later will let them through.
    this.logRateDisarm?.();
    this.logRateDisarm = undefined;
    for (const { line, suppressed } of this.logRate.due(Number.POSITIVE_INFINITY))
      this.emit('log', { ...line, suppressed });
  }

  /**
   * RFC 4724 §4.1, before the peers are added: we restarted. OPENs carry the R bit, and the F bit per family
   * when `forwarding` (the kernel kept our routes); every peer's table and End-of-RIB wait for `endDeferral`.
   */
  beginRestart(forwarding: boolean): void {
    this.restart = { deferring: true, forwarding };
    this.log('info', 'graceful-restart-restarting', { forwarding });
  }

  /** The selection deferral is over (End-of-RIB from every peer, or its timer): send our tables. */
  endDeferral(why: string): void {
    if (this.restart?.deferring !== true) return;
    this.restart = { ...this.restart, deferring: false };
    this.log('info', 'graceful-restart-deferral-over', { why });
    for (const p of this.peersByAddress.values()) p.endDeferral();
  }

  // ---- Peers ----------------------------------------------------------------------------------------------

  /** Add and (when started) start a peer. Throws when the configuration is invalid (naming the field). */
  addPeer(cfg: PeerConfig): void {
    const invalid = validatePeerConfig(cfg);
    if (invalid !== undefined) throw new Error(`peer ${cfg.address}: ${invalid}`);
    const address = normalize(cfg.address);
    if (this.peersByAddress.has(address)) throw new Error(`peer ${cfg.address} already exists`);
    const failed = this.transport.setPeerOptions?.(address, peerSocketOptions(cfg));
    if (failed !== undefined)
      this.log('error', 'peer-socket-options', { peer: address, error: failed.message });
    const peer = new Peer({ ...cfg, address }, this.ctx);
    this.peersByAddress.set(address, peer);
    this.log('info', 'peer-added', { peer: address, asn: cfg.asn });
    if (this.running) peer.start();
  }

  /** Cease 6/3 Peer De-configured; its routes are withdrawn from the Loc-RIB and from the other peers. */
  removePeer(address: string): void {
    const key = normalize(address);
    const peer = this.peersByAddress.get(key);
    if (peer === undefined) return;
    this.peersByAddress.delete(key);
    this.transport.setPeerOptions?.(key, undefined);
    void peer.retire(CEASE_PEER_DECONFIGURED, undefined, 'peer-deconfigured', STOP_FLUSH_MS);
    const changes = this.locRib.removePeer(key);
    if (changes.prefixes.length > 0) this.emit('loc-rib', changes);
    this.scheduleFlush();
    this.log('info', 'peer-removed', { peer: key });
  }

  /**
   * Apply a changed configuration. A change that the session depends on (AS, port, timers, addresses, families,
   * passive, graceful restart) resets it with Cease 6/6 Other Configuration Change. A description change does
   * not, nor does `routeReflectorClient` (RFC 4456 needs no new session for it): every Adj-RIB-Out is then
   * re-evaluated in place and only what now differs is sent — reflected routes announced, or withdrawn.
   */
  updatePeer(cfg: PeerConfig): void {
    const invalid = validatePeerConfig(cfg);
    if (invalid !== undefined) throw new Error(`peer ${cfg.address}: ${invalid}`);
    const key = normalize(cfg.address);
    const peer = this.peersByAddress.get(key);
    if (peer === undefined) return this.addPeer(cfg);
    if (!sessionRelevantChange(peer.config, cfg)) {
      peer.config = { ...cfg, address: key };
      peer.reconfigured();
      if (peer.setRouteReflectorClient(cfg.routeReflectorClient === true)) {
        this.log('info', 'route-reflector-client', { peer: key, client: cfg.routeReflectorClient === true });
        this.groups.reevaluate();
        this.scheduleFlush();
      }
      return;
    }
    this.peersByAddress.delete(key);
    peer.stop(CEASE_OTHER_CONFIGURATION_CHANGE, undefined, 'config-changed');
    peer.dispose();
    this.addPeer(cfg);
  }

  /**
   * RFC 4456 CLUSTER_ID from now on (undefined: the router id), e.g. when this speaker becomes a route
   * reflector after start. Ask peers for a route refresh to re-check routes already received.
   */
  setClusterId(clusterId: string | undefined): void {
    this.locRib.setClusterId(clusterId);
  }

  /** The CLUSTER_ID in use: the one set, else the router id. */
  get clusterId(): string {
    return this.locRib.clusterId;
  }

  /**
   * Take a session down now for a reason found outside BGP — e.g. `bfd-down` when BFD declares the path dead
   * (RFC 5882 §4.3) — with Cease 6/4 Administrative Reset: its routes are withdrawn at once and the session
   * restarts on its own (connect retry with back-off). False when the peer is unknown or already down.
   */
  resetPeer(address: string, reason: ResetReason): boolean {
    const peer = this.peersByAddress.get(normalize(address));
    if (peer === undefined || peer.main.state.state === 'Idle') return false;
    this.log('warn', 'peer-reset', { peer: peer.address, reason });
    peer.extra?.feed({ type: 'AutomaticStop', reason });
    peer.main.feed({ type: 'AutomaticStop', reason });
    return true;
  }

  peers(): PeerStatus[] {
    return [...this.peersByAddress.values()].map((p) => p.view());
  }

  // ---- Routes ---------------------------------------------------------------------------------------------

  /**
   * The WHOLE desired set of locally originated prefixes: what is not in `ads` any more is withdrawn from every
   * peer, what is new is announced, what is unchanged is not sent again. An empty list withdraws everything.
   */
  setAdvertisements(ads: readonly Advertisement[]): void {
    const routes = ads.map((a) => ({
      prefix: a.prefix,
      ...(a.nextHop !== undefined ? { nextHop: a.nextHop } : {}),
      ...(a.attributes !== undefined ? { attributes: a.attributes } : {}),
    }));
    const changes = this.locRib.setLocal(routes, this.clock.now());
    if (changes.prefixes.length > 0) this.emit('loc-rib', changes);
    this.scheduleFlush();
  }

  /** Prefixes and candidate paths in the Loc-RIB (what `routes()` lists), counted. */
  routeCounts(): { prefixes: number; paths: number } {
    return this.locRib.totals();
  }

  routes(filter?: { prefix?: PrefixKey; peer?: string }): RouteView[] {
    return this.locRib.routes(filter ?? {}, this.clock.now());
  }

  adjRibIn(peer: string): RouteView[] {
    return this.locRib.adjRibIn(normalize(peer), this.clock.now());
  }

  adjRibOut(peer: string): RouteView[] {
    return this.peersByAddress.get(normalize(peer))?.adjRibOutView() ?? [];
  }

  /**
   * The export filter's answers may have changed (`SpeakerConfig.exportFilter` reads state of its owner's, such
   * as a cluster's pod CIDRs): every update group works out again what its members should have, and sends only
   * what differs — sliced like any export.
   */
  exportPolicyChanged(): void {
    this.groups.reevaluate();
    this.scheduleFlush();
  }

  /** Send ROUTE-REFRESH (RFC 2918) for every negotiated family; false when not possible now. */
  requestRefresh(peer: string): boolean {
    return this.peersByAddress.get(normalize(peer))?.requestRefresh() ?? false;
  }

  // ---- Internals ------------------------------------------------------------------------------------------

  private accept(socket: net.Socket): void {
    const remote = socketAddress(socket.remoteAddress) ?? '';
    const peer = this.peersByAddress.get(remote);
    socket.on('error', () => undefined); // errors before a session owns the socket must not throw
    if (peer === undefined || !this.running) {
      this.log('warn', 'connection-refused', {
        remote,
        remotePort: socket.remotePort,
        why: peer === undefined ? 'unknown peer' : 'stopping',
      });
      socket.destroy();
      return;
    }
    this.log('debug', 'connection-accepted', { peer: remote, remotePort: socket.remotePort });
    peer.incoming(socket);
  }

  /** One export pass per event-loop turn, however many UPDATEs arrived in it. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      // The shared slices first, then each peer's own part (catch-up, End-of-RIB once its group is drained).
      if (this.groups.flush()) this.scheduleFlush();
      for (const p of this.peersByAddress.values()) p.flush();
    });
  }

  private readonly logRate = new LogRate<SpeakerLogRecord>();
  /** Disarms the wake-up that lets through the last line held back by `logRate` (none armed: undefined). */
  private logRateDisarm: (() => void) | undefined;

  /**
   * Events a peer can repeat at will are rate-limited per source (log-rate.ts): `suppressed` counts the rest,
   * on the next line let through, or on the last one held back once its interval is over.
   */
  private readonly log: SpeakerLog = (level, event, fields) => {
    if (this.listenerCount('log') === 0) return;
    if (RATE_LIMITED_EVENTS.has(event)) {
      const f = fields as { readonly peer?: string; readonly remote?: string };
      const key = `${event} ${f.peer ?? f.remote ?? ''}`;
      const suppressed = this.logRate.admit(key, this.clock.now(), logRecord(level, event, fields));
      if (suppressed === undefined) return this.armLogRate();
      if (suppressed > 0) return this.emit('log', logRecord(level, event, { ...fields, suppressed }));
    }
    this.emit('log', logRecord(level, event, fields));
  };

  private armLogRate(): void {
    if (this.logRateDisarm !== undefined) return;
    const at = this.logRate.next();
    if (at === undefined) return;
    this.logRateDisarm = this.clock.wakeAt(at, () => {
      this.logRateDisarm = undefined;
      for (const { line, suppressed } of this.logRate.due(this.clock.now()))
        this.emit('log', { ...line, suppressed });
      this.armLogRate();
    });
  }
}

/** The fields whose change needs a new session. */
function sessionRelevantChange(a: PeerConfig, b: PeerConfig): boolean {
  const keys: (keyof PeerConfig)[] = [
    'asn',
    'port',
    'holdTime',
    'keepaliveTime',
    'connectRetryTime',
    'passive',
    'localAddress',
    'localAddressIpv4',
    'localAddressIpv6',
    'ttl',
    'ttlSecurity',
    'password',
    'gracefulRestartTime',
  ];
  if (keys.some((k) => a[k] !== b[k])) return true;
  return JSON.stringify(a.families ?? null) !== JSON.stringify(b.families ?? null);
}

/** RFC 8538 §3: a Hard Reset's data is the subcode of the Cease it stands for, then that Cease's data. */
export function hardResetData(subcode: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + data.length);
  out[0] = subcode;
  out.set(data, 1);
  return out;
}

/** Peer addresses as keys: one spelling per address (ip/address.ts `canonicalAddress`). */
function normalize(address: string): string {
  return canonicalAddress(address) ?? address;
}
