/**
 * One configured neighbour: its session(s), its Adj-RIB-Out, and what the speaker shows about it.
 *
 * Normally one `Session` (`main`). A second, accepted connection (`extra`) exists only while a connection
 * collision (RFC 4271 §6.8) is being resolved: when an OPEN arrives on one of them, the BGP identifiers decide
 * which survives (`collision.ts`), the loser is dumped with Cease 6/7, and the survivor becomes `main`.
 */
import type net from 'node:net';
import { networkInterfaces } from 'node:os';
import { ipv6Beside } from './interfaces.js';
import type {
  LocRibChanges,
  PeerConfig,
  PeerStateEvent,
  PeerStatus,
  SessionState,
  SpeakerConfig,
  TransitionReason,
} from './api.js';
import type { SpeakerLog } from './log-events.js';
import { TimerList, type Clock } from './clock.js';
import type { FsmConfig, Negotiated, StateChange } from './fsm.js';
import { PeerErrors } from './peer-errors.js';
import { codecContext, hasFamily } from './negotiate.js';
import { AFI_IPV4, AFI_IPV6 } from './prefix.js';
import { AdjRibOut, type LocRib, type RibPeer } from './rib/index.js';
import { Session, type SessionCounters } from './session.js';
import { localCapabilities, survivor } from './collision.js';
import { DEFAULT_CONNECT_RETRY_TIME, DEFAULT_HOLD_TIME } from './peer-config.js';
import type { AttributeCache } from './wire/cache.js';
import { capabilityName } from './wire/capabilities.js';
import { encodeNotification } from './wire/notification.js';
import { encodeRouteRefresh } from './wire/route-refresh.js';
import { encodeEndOfRib, encodeUpdates, encodeWithdrawals } from './wire/update-encode.js';
import type { RouteRefreshMessage, UpdateMessage } from './wire/types.js';
import type { Transport } from './transport.js';
import {
  BGP_PORT,
  CEASE_CONNECTION_REJECTED,
  ERR_CEASE,
  MESSAGE_ROUTE_REFRESH,
  ROUTE_REFRESH_BORR,
  ROUTE_REFRESH_EORR,
} from './wire/iana.js';

/** What a peer needs from its speaker. */
export interface PeerContext {
  readonly config: SpeakerConfig;
  readonly locRib: LocRib;
  readonly cache: AttributeCache;
  readonly clock: Clock;
  readonly transport?: Transport;
  locRibChanged(changes: LocRibChanges): void;
  peerState(e: PeerStateEvent): void;
  endOfRib(peer: string): void;
  readonly log: SpeakerLog;
  /** Ask for one export pass over every peer (coalesced per event-loop turn). */
  scheduleFlush(): void;
}

/**
 * When a peer that does not announce graceful restart is taken to have sent its initial table, if it sends
 * no End-of-RIB: most implementations send End-of-RIB regardless, this only bounds the wait.
 */
export const END_OF_RIB_FALLBACK_MS = 10_000;

/** The deadlines of the peer's own in its timer list (its sessions add theirs, keyed by session and socket). */
const EOR_FALLBACK = 'end-of-rib';
const DISPOSE = 'dispose';

export class Peer {
  main: Session;
  extra: Session | undefined;
  private adjRibOut: AdjRibOut | undefined;
  private ribPeer: RibPeer | undefined;
  /** Families whose End-of-RIB the peer has yet to send (initial table), undefined once reported. */
  private eorPending: Set<number> | undefined;
  /** Every deadline of this peer and its sessions, with one real timer for the earliest. */
  readonly timers: TimerList;
  private disposed: Promise<void> | undefined;
  private resolveDisposed: (() => void) | undefined;
  private readonly warned = new Set<string>();
  private status: { state: SessionState; since: number; reason?: TransitionReason };
  private readonly errors = new PeerErrors();
  readonly counters: SessionCounters = {
    messagesIn: 0,
    messagesOut: 0,
    updatesIn: 0,
    updatesOut: 0,
    attributeErrors: 0,
  };
  establishedCount = 0;

  constructor(
    /** Replaced by the speaker for changes that need no new session (description). */
    public config: PeerConfig,
    private readonly ctx: PeerContext,
  ) {
    this.timers = new TimerList(ctx.clock);
    this.main = this.newSession();
    this.status = { state: 'Idle', since: this.now() };
  }

  get address(): string {
    return this.config.address;
  }

  start(): void {
    this.main.start();
  }

  /** ManualStop on every connection with the given Cease subcode; the peer stays down. */
  stop(subcode: number, data?: Uint8Array, reason?: TransitionReason): void {
    this.extra?.stop(subcode, data, reason);
    this.main.stop(subcode, data, reason);
  }

  /**
   * Stop with a Cease and let the sockets flush it for `flushMs` (a deadline in the timer list), then
   * `dispose`. Resolves once disposed.
   */
  retire(
    subcode: number,
    data: Uint8Array | undefined,
    reason: TransitionReason,
    flushMs: number,
  ): Promise<void> {
    this.stop(subcode, data, reason);
    if (this.disposed === undefined) {
      this.disposed = new Promise((resolve) => (this.resolveDisposed = resolve));
      this.timers.after(DISPOSE, flushMs, () => this.dispose());
    }
    return this.disposed;
  }

  /** Stop for good (after `stop`): no more events; sockets still closing keep their close grace. */
  dispose(): void {
    this.timers.clear(EOR_FALLBACK);
    this.timers.clear(DISPOSE);
    this.extra?.dispose();
    this.main.dispose();
    this.adjRibOut?.close();
    this.adjRibOut = undefined;
    this.resolveDisposed?.();
  }

  private now(): number {
    return this.timers.clock.now();
  }

  /** A connection from this peer's address arrived. */
  incoming(socket: net.Socket): void {
    const main = this.main.state.state;
    if (main === 'Established' || this.extra !== undefined) {
      // §6.8: "a connection collision with an existing BGP connection that is in the Established state causes
      // closing of the newly created connection" — before any OPEN; RFC 4486 subcode 5 says why.
      this.ctx.log('info', 'connection-rejected', { peer: this.address, state: main });
      socket.end(encodeNotification({ code: ERR_CEASE, subcode: CEASE_CONNECTION_REJECTED }));
      return;
    }
    if (main === 'Idle' && !this.main.state.autoRestart) {
      this.ctx.log('info', 'connection-rejected', { peer: this.address, state: main, why: 'stopped' });
      socket.destroy();
      return;
    }
    if (main === 'Idle') this.main.feed({ type: 'AutomaticStart_with_PassiveTcpEstablishment' });
    if (this.main.state.state === 'Active') return this.main.accept(socket);
    // Our own connection is under way (Connect, OpenSent, OpenConfirm): run both until an OPEN decides.
    const extra = this.newSession();
    this.extra = extra;
    extra.start(true);
    extra.accept(socket);
  }

  // ---- Sessions -------------------------------------------------------------------------------------------

  private fsmConfig(): FsmConfig {
    const c = this.config;
    const holdTime = c.holdTime ?? DEFAULT_HOLD_TIME;
    return {
      localAsn: this.ctx.config.asn,
      routerId: this.ctx.config.routerId,
      holdTime,
      ...(c.keepaliveTime !== undefined ? { keepaliveTime: c.keepaliveTime } : {}),
      connectRetryTime: c.connectRetryTime ?? DEFAULT_CONNECT_RETRY_TIME,
      passive: c.passive === true,
      capabilities: localCapabilities(this.ctx.config.asn, c),
    };
  }

  private newSession(): Session {
    const c = this.config;
    return new Session(
      {
        fsm: this.fsmConfig(),
        peerAddress: c.address,
        port: c.port ?? BGP_PORT,
        ...(c.localAddress !== undefined ? { localAddress: c.localAddress } : {}),
        expect: { peerAs: c.asn, localBgpId: this.ctx.config.routerId, localAs: this.ctx.config.asn },
        timers: this.timers,
        cache: this.ctx.cache,
        counters: this.counters,
        ...(this.ctx.transport !== undefined ? { transport: this.ctx.transport } : {}),
      },
      {
        state: (change, s) => this.onState(change, s),
        established: (n, s) => this.onEstablished(n, s),
        down: (reason) => this.onDown(reason),
        message: (m) => this.onMessage(m),
        open: (open, s) => this.onOpen(open.bgpId, s),
        log: this.ctx.log,
      },
    );
  }

  /** §6.8 at the arrival of an OPEN on `s`: false = dump `s`. */
  private onOpen(remoteId: string, s: Session): boolean {
    const other = s === this.main ? this.extra : this.main;
    if (other === undefined) return true;
    const st = other.state.state;
    if (st === 'Idle' || st === 'Active' || st === 'Connect') return true;
    if (st === 'Established') return false;
    const keep = survivor(
      {
        localId: this.ctx.config.routerId,
        remoteId,
        localAsn: this.ctx.config.asn,
        remoteAsn: this.config.asn,
      },
      { candidate: s.initiatedLocally === true, other: other.initiatedLocally === true },
    );
    this.ctx.log('info', 'collision', {
      peer: this.address,
      remoteId,
      kept: keep === 'candidate' ? 'new' : 'existing',
    });
    if (keep === 'candidate') {
      this.promote(s);
      other.feed({ type: 'OpenCollisionDump' });
      other.dispose();
      return true;
    }
    return false;
  }

  /** Make `s` the main session; the other one is no longer reported. */
  private promote(s: Session): void {
    if (s === this.main) {
      this.extra = undefined;
      return;
    }
    this.extra = undefined;
    const old = this.main;
    this.main = s;
    if (old.state.state !== 'Idle') old.feed({ type: 'OpenCollisionDump' });
    old.dispose();
  }

  private onState(change: StateChange, s: Session): void {
    const { from, to, reason } = change;
    if (to === 'Established' && s !== this.main) this.promote(s);
    if (s !== this.main) {
      if (to === 'Idle') {
        s.dispose();
        if (this.extra === s) this.extra = undefined;
      }
      return;
    }
    const other = this.extra;
    this.errors.transition(change, other !== undefined && other.state.state !== 'Idle');
    this.status = { state: to, since: this.now(), reason };
    this.ctx.log(to === 'Idle' ? 'warn' : 'info', 'peer-state', { peer: this.address, from, to, reason });
    this.ctx.peerState({ address: this.address, from, to, reason });
  }

  private onEstablished(n: Negotiated, s: Session): void {
    this.establishedCount++;
    const c = this.config;
    const ribPeer: RibPeer = {
      address: c.address,
      asn: n.peerAsn,
      localAsn: n.localAsn,
      ibgp: n.ibgp,
      bgpId: n.peerBgpId,
      routeReflectorClient: c.routeReflectorClient === true,
      localAddress: s.localAddress ?? c.localAddress ?? '',
      ...withIpv6NextHop(c.localAddressIpv6, s.localAddress),
      ...(c.localAddressIpv4 !== undefined ? { localAddressIpv4: c.localAddressIpv4 } : {}),
      fourOctetAs: n.fourOctetAs,
    };
    this.ribPeer = ribPeer;
    this.warned.clear();
    this.ctx.locRib.addPeer(ribPeer);
    this.adjRibOut = new AdjRibOut(ribPeer, this.ctx.locRib, { exportFilter: this.ctx.config.exportFilter });
    // RFC 4724 §2: our initial table, then End-of-RIB per family.
    this.flush();
    s.send(n.families.map((f) => encodeEndOfRib(f.afi, f.safi)));
    this.waitForEndOfRib(n);
  }

  /** The peer's initial table is complete at End-of-RIB for every family (or after a bounded wait, see above). */
  private waitForEndOfRib(n: Negotiated): void {
    this.eorPending = new Set(n.families.map((f) => f.afi));
    if (n.gracefulRestart === undefined)
      this.timers.after(EOR_FALLBACK, END_OF_RIB_FALLBACK_MS, () => this.endOfRibDone('timeout'));
    else this.timers.clear(EOR_FALLBACK);
  }

  private endOfRibDone(how: 'end-of-rib' | 'timeout'): void {
    if (this.eorPending === undefined) return;
    this.eorPending = undefined;
    this.timers.clear(EOR_FALLBACK);
    this.ctx.log('info', 'end-of-rib', { peer: this.address, how });
    this.ctx.endOfRib(this.address);
  }

  private onDown(reason: TransitionReason): void {
    this.adjRibOut?.close();
    this.adjRibOut = undefined;
    this.ribPeer = undefined;
    this.eorPending = undefined;
    this.timers.clear(EOR_FALLBACK);
    // RFC 4271 §8.2.2: "deletes all routes associated with this connection".
    const changes = this.ctx.locRib.peerDown(this.address);
    this.ctx.log('info', 'peer-down', { peer: this.address, reason, withdrawn: changes.prefixes.length });
    if (changes.prefixes.length > 0) this.ctx.locRibChanged(changes);
    this.ctx.scheduleFlush();
  }

  private onMessage(m: UpdateMessage | RouteRefreshMessage): void {
    if (m.type === MESSAGE_ROUTE_REFRESH) return this.onRouteRefresh(m);
    const changes = this.ctx.locRib.applyUpdate(this.address, m, this.now());
    if (changes.prefixes.length > 0) this.ctx.locRibChanged(changes);
    if (m.endOfRib !== undefined && this.eorPending !== undefined) {
      this.eorPending.delete(m.endOfRib.afi);
      if (this.eorPending.size === 0) this.endOfRibDone('end-of-rib');
    }
    this.ctx.scheduleFlush();
  }

  /** RFC 2918 §4 / RFC 7313 §4. */
  private onRouteRefresh(m: RouteRefreshMessage): void {
    const n = this.main.negotiated;
    if (n === undefined || (m.afi !== AFI_IPV4 && m.afi !== AFI_IPV6)) return;
    // RFC 7313 §4: BoRR → "MUST mark all the routes from the peer ... as stale"; EoRR → "MUST purge" them.
    // The Loc-RIB marks a peer's routes of every family at once, so this is done only when the session carries
    // one family; with more, a refresh of one family would purge the others. Otherwise BoRR/EoRR are no-ops
    // (the re-sent routes replace the old ones; only routes the peer silently dropped linger).
    if (m.subtype === ROUTE_REFRESH_BORR || m.subtype === ROUTE_REFRESH_EORR) {
      if (!n.enhancedRouteRefresh || n.families.length !== 1) return;
      if (m.subtype === ROUTE_REFRESH_BORR) return this.ctx.locRib.markStale(this.address);
      const changes = this.ctx.locRib.sweepStale(this.address);
      if (changes.prefixes.length > 0) this.ctx.locRibChanged(changes);
      this.ctx.scheduleFlush();
      return;
    }
    // A request: re-advertise the Adj-RIB-Out of that family, bracketed by BoRR/EoRR when enhanced.
    if (this.adjRibOut === undefined || !hasFamily(n, m.afi, m.safi)) return;
    if (n.enhancedRouteRefresh)
      this.main.send([encodeRouteRefresh({ afi: m.afi, safi: m.safi, subtype: ROUTE_REFRESH_BORR })], 0);
    this.adjRibOut.resendAll(m.afi);
    this.flush();
    if (n.enhancedRouteRefresh)
      this.main.send([encodeRouteRefresh({ afi: m.afi, safi: m.safi, subtype: ROUTE_REFRESH_EORR })], 0);
  }

  /**
   * RFC 4456: become (or stop being) our route-reflector client in place — it changes what is reflected, not
   * the session. True when the running session's export rules changed: the speaker then re-evaluates every
   * Adj-RIB-Out (`reexport`).
   */
  setRouteReflectorClient(client: boolean): boolean {
    const changed = this.ctx.locRib.setRouteReflectorClient(this.address, client);
    return changed && this.ribPeer?.ibgp === true;
  }

  /** The export rules changed: work out again what this peer should have, to send only what differs. */
  reexport(): void {
    this.adjRibOut?.reevaluate();
  }

  /** Ask the peer to send its routes again (RFC 2918), every negotiated family. */
  requestRefresh(): boolean {
    const n = this.main.negotiated;
    if (n === undefined || !n.routeRefresh || this.main.state.state !== 'Established') return false;
    return this.main.send(
      n.families.map((f) => encodeRouteRefresh({ afi: f.afi, safi: f.safi })),
      0,
    );
  }

  // ---- Export ---------------------------------------------------------------------------------------------

  /** Send what the Adj-RIB-Out has pending, packed into as few UPDATEs as fit. */
  flush(): void {
    const out = this.adjRibOut;
    const n = this.main.negotiated;
    if (out === undefined || n === undefined || !out.hasPending || this.main.state.state !== 'Established')
      return;
    const pending = out.takePending();
    const ctx = codecContext(n);
    const buffers: Buffer[] = [];
    try {
      for (const w of pending.withdraw)
        if (hasFamily(n, w.afi, w.safi)) buffers.push(...encodeWithdrawals(w, ctx));
      for (const a of pending.announce) {
        if (!hasFamily(n, a.reach.afi, a.reach.safi) || !this.nextHopUsable(a.reach.afi, a.reach.nextHop, n))
          continue;
        buffers.push(...encodeUpdates(a.attributes, a.reach, ctx));
      }
    } catch (err) {
      this.ctx.log('error', 'encode-failed', { peer: this.address, error: String(err) });
    }
    if (buffers.length > 0) this.main.send(buffers);
  }

  /**
   * The next-hop rule: IPv4 prefixes need an IPv4 next hop, or an IPv6 one when RFC 8950 extended next hop was
   * negotiated; IPv6 prefixes need an IPv6 next hop (PeerConfig.localAddressIpv6 over an IPv4 session).
   * Otherwise the prefixes are not sent to this peer, logged once per session and family.
   */
  private nextHopUsable(afi: number, nextHop: string, n: Negotiated): boolean {
    const v6 = nextHop.includes(':');
    const ok = afi === AFI_IPV6 ? v6 : !v6 || n.extendedNextHopIpv4;
    if (!ok && nextHop !== '' && !this.warned.has(`${afi}`)) {
      this.warned.add(`${afi}`);
      this.ctx.log('warn', 'no-usable-next-hop', {
        peer: this.address,
        afi,
        nextHop,
        hint: 'set localAddressIpv6/localAddressIpv4 or an Advertisement nextHop',
      });
    }
    return ok && nextHop !== '';
  }

  // ---- Views ----------------------------------------------------------------------------------------------

  adjRibOutView(): ReturnType<AdjRibOut['adjRibOut']> {
    return this.adjRibOut?.adjRibOut() ?? [];
  }

  view(): PeerStatus {
    const s = this.main;
    const n = s.negotiated;
    const counts =
      this.ctx.locRib.peer(this.address) !== undefined
        ? this.ctx.locRib.counts(this.address)
        : { received: 0, accepted: 0 };
    const c = this.config;
    return {
      address: c.address,
      asn: c.asn,
      ...(c.description !== undefined ? { description: c.description } : {}),
      state: s.state.state,
      since: this.status.since,
      ...(this.status.reason !== undefined ? { lastReason: this.status.reason } : {}),
      ...lastError(this.errors.shown(s.state.state)),
      ...(s.localAddress !== undefined ? { localAddress: s.localAddress } : {}),
      ...(n !== undefined
        ? {
            peerRouterId: n.peerBgpId,
            holdTime: n.holdTime,
            capabilities: n.peerCapabilities.map(capabilityName),
          }
        : {}),
      received: counts.received,
      accepted: counts.accepted,
      advertised: this.adjRibOut?.advertisedCount ?? 0,
      ...this.counters,
      establishedCount: this.establishedCount,
    };
  }
}

function lastError(text: string | undefined): { lastError?: string } {
  return text === undefined ? {} : { lastError: text };
}

/**
 * Our IPv6 next hop for this session: the configured one, else over an IPv4 session the global IPv6 address
 * of the interface holding our end of it (as FRR does), so IPv6 routes need no address set by hand.
 */
function withIpv6NextHop(
  configured: string | undefined,
  local: string | undefined,
): { localAddressIpv6?: string } {
  const v6 =
    configured ??
    (local !== undefined && !local.includes(':') ? ipv6Beside(networkInterfaces(), local) : undefined);
  return v6 === undefined ? {} : { localAddressIpv6: v6 };
}
