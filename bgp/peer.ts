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
  GracefulRestartView,
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
import { hasFamily } from './negotiate.js';
import { AFI_IPV4, AFI_IPV6 } from './prefix.js';
import type { LocRib, RibPeer } from './rib/index.js';
import type { GroupMember, UpdateGroup, UpdateGroups } from './update-group.js';
import { Session, type SessionCounters } from './session.js';
import { ExportPacer } from './out-queue.js';
import { Damping } from './damping.js';
import { DEFAULT_MAX_PREFIX_RESTART, MaxPrefixGuard, maxPrefixData } from './max-prefix.js';
import { localCapabilities, survivor, type RestartFlags } from './collision.js';
import {
  downVerdict,
  helperDeadline,
  helperDown,
  helperEndOfRib,
  helperTimeout,
  helperUp,
  type HelperState,
  type HelperStep,
} from './graceful-restart.js';
import { DEFAULT_CONNECT_RETRY_TIME, DEFAULT_HOLD_TIME } from './peer-config.js';
import type { AttributeCache } from './wire/cache.js';
import { capabilityName } from './wire/capabilities.js';
import { encodeNotification } from './wire/notification.js';
import { encodeRouteRefresh } from './wire/route-refresh.js';
import { encodeEndOfRib } from './wire/update-encode.js';
import type { RouteRefreshMessage, UpdateMessage } from './wire/types.js';
import type { Transport } from './transport.js';
import {
  BGP_PORT,
  CEASE_CONNECTION_REJECTED,
  CEASE_MAXIMUM_PREFIXES_REACHED,
  ERR_CEASE,
  MESSAGE_ROUTE_REFRESH,
  ROUTE_REFRESH_BORR,
  ROUTE_REFRESH_EORR,
  SAFI_UNICAST,
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
  /** The speaker's update groups (update-group.ts): an Established session exports through one. */
  readonly groups: UpdateGroups;
  /** Our graceful-restart R and F bits for OPENs sent now. */
  restartFlags(): RestartFlags;
  /** We restarted and hold back our routes and End-of-RIB until selection is done (RFC 4724 §4.1). */
  deferring(): boolean;
}

/**
 * When a peer that does not announce graceful restart is taken to have sent its initial table, if it sends
 * no End-of-RIB: most implementations send End-of-RIB regardless, this only bounds the wait.
 */
export const END_OF_RIB_FALLBACK_MS = 10_000;

/** The deadlines of the peer's own in its timer list (its sessions add theirs, keyed by session and socket). */
const EOR_FALLBACK = 'end-of-rib';
const GR_HELPER = 'graceful-restart';
const DISPOSE = 'dispose';
const REFRESH = 'route-refresh';
const WITHDRAW = 'withdraw';

/**
 * Prefixes withdrawn per slice when a dropped session's routes go (`LocRib.peerDownSlice`, in one random
 * order), one slice per timer turn: between them the event loop serves the other sessions (their KEEPALIVEs
 * and UPDATEs), the FIB's writes and the control socket. 1M routes withdrawn in one go held the main thread
 * for 10 s on a quiet 2-core machine and 29 s on a loaded one (control socket unanswered meanwhile); in
 * slices of this size a 1M drop took 4.7 s (6.5–6.7 s beside a CPU hog, bench/run.mjs).
 */
export const WITHDRAW_SLICE = 65_536;
/**
 * The pause between two slices. Not 0: the shared clock runs every wake-up due by the time it fires, one
 * re-armed for "now" included, so slices 0 ms apart would all run in one turn of the event loop.
 */
export const WITHDRAW_PAUSE_MS = 1;
/** Consecutive failures from which the FSM's back-off also holds back the peer's own connections. */
const DAMP_INBOUND_FAILURES = 3;

export class Peer {
  main: Session;
  extra: Session | undefined;
  /** The update group the Established session exports through, and the session as a member of it. */
  private group: UpdateGroup | undefined;
  private member: GroupMember | undefined;
  /** Export pacing of the Established session (out-queue.ts): slices, high-water mark, refreshes owed. */
  private pacer: ExportPacer | undefined;
  private ribPeer: RibPeer | undefined;
  /** Families whose End-of-RIB the peer has yet to send (initial table), undefined once reported. */
  private eorPending: Set<number> | undefined;
  /** Every deadline of this peer and its sessions, with one real timer for the earliest. */
  readonly timers: TimerList;
  private disposed: Promise<void> | undefined;
  private resolveDisposed: (() => void) | undefined;
  private status: { state: SessionState; since: number; reason?: TransitionReason };
  private readonly errors = new PeerErrors();
  /** §8.1.1 DampPeerOscillations across this peer's sessions (damping.ts). */
  private readonly damping = new Damping();
  /** Connections (ours or the peer's) that failed after TCP was up, since the last Established. */
  private openFailures = 0;
  /** Max-prefix warnings given in this session (max-prefix.ts). */
  private maxPrefixGuard = new MaxPrefixGuard();
  /** After a max-prefix reset: no restart, and no inbound connection, before this (ms). */
  private restartHold = 0;
  readonly counters: SessionCounters = {
    messagesIn: 0,
    messagesOut: 0,
    updatesIn: 0,
    updatesOut: 0,
    attributeErrors: 0,
  };
  establishedCount = 0;
  /** RFC 4724 helper: the peer restarts, its paths of these families are kept stale. */
  private helper: HelperState | undefined;
  /** Times the peer restarted gracefully (its paths were kept). */
  gracefulRestarts = 0;
  /** Our End-of-RIB is held back until the selection deferral is over (we restarted). */
  private eorDeferred = false;
  /** The last session's negotiation (the FSM forgets it when the session drops). */
  private lastNegotiated: Negotiated | undefined;
  /** The dropped session's routes being withdrawn, a slice per timer turn (`withdrawSlice`). */
  private withdrawal: { since: number; slices: number; changed: number } | undefined;

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
  stop(subcode: number, data?: Uint8Array, reason?: TransitionReason, graceful = false): void {
    this.extra?.stop(subcode, data, reason, graceful && silentStop(this.extra.negotiated));
    this.main.stop(subcode, data, reason, graceful && silentStop(this.main.negotiated));
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
    graceful = false,
  ): Promise<void> {
    this.stop(subcode, data, reason, graceful);
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
    this.timers.clear(GR_HELPER);
    // A withdrawal under way ends here: nothing would drive its slices (and the next Peer object of this
    // address could not add it to the Loc-RIB).
    this.finishWithdrawal();
    this.extra?.dispose();
    this.main.dispose();
    this.leaveGroup();
    this.resolveDisposed?.();
  }

  private now(): number {
    return this.timers.clock.now();
  }

  /**
   * A connection from this peer's address arrived. At most two connections live per peer: the session and one
   * in collision (§6.8). A connection that sends no OPEN cannot keep a real one out: an accepted connection
   * still in OpenSent (no OPEN from it yet) gives way to a newer one, and loses to any connection whose OPEN
   * arrives (`onOpen`). What is refused is destroyed at once (the NOTIFICATION, if any, written first), so a
   * flood holds no descriptors.
   */
  incoming(socket: net.Socket): void {
    const main = this.main.state.state;
    if (this.extra !== undefined && silentInbound(this.extra)) {
      this.ctx.log('info', 'connection-replaced', { peer: this.address, state: this.extra.state.state });
      this.dropExtra();
    }
    if (main === 'Established' || this.extra !== undefined) {
      // §6.8: "a connection collision with an existing BGP connection that is in the Established state causes
      // closing of the newly created connection" — before any OPEN; RFC 4486 subcode 5 says why.
      this.ctx.log('info', 'connection-rejected', { peer: this.address, state: main });
      refuse(socket, encodeNotification({ code: ERR_CEASE, subcode: CEASE_CONNECTION_REJECTED }));
      return;
    }
    if (main === 'Idle' && !this.main.state.autoRestart) {
      this.ctx.log('info', 'connection-rejected', { peer: this.address, state: main, why: 'stopped' });
      refuse(socket);
      return;
    }
    if (main === 'Idle' && this.heldBack()) {
      this.ctx.log('info', 'connection-rejected', { peer: this.address, state: main, why: 'damped' });
      refuse(socket);
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

  /**
   * Does the Idle session refuse inbound connections? While held after a max-prefix reset; and, unless
   * `dampPeerOscillations` is false, while damped (a flapping peer) and while the FSM's own back-off runs
   * after DAMP_INBOUND_FAILURES consecutive failures of connections that were up (a peer whose every attempt
   * fails after TCP: bad OPENs, closing before Established). Our own connects refused while the peer was down
   * do not count: the peer coming back must be taken at once, or its restart would wait out our back-off.
   */
  private heldBack(): boolean {
    const now = this.now();
    if (this.restartHold > now) return true;
    if (this.config.dampPeerOscillations === false) return false;
    if (this.damping.remaining(now) > 0) return true;
    const s = this.main.state;
    return this.openFailures >= DAMP_INBOUND_FAILURES && (s.timers.idleHold ?? 0) > now;
  }

  /** Drop the connection in collision without a word (it sent nothing we could answer). */
  private dropExtra(): void {
    const extra = this.extra;
    this.extra = undefined;
    extra?.dispose();
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
      capabilities: localCapabilities(this.ctx.config.asn, c, this.ctx.restartFlags()),
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
        drain: (d) => {
          if (d === this.main) this.ctx.scheduleFlush();
        },
        open: (open, s) => this.onOpen(open.bgpId, s),
        log: this.ctx.log,
      },
    );
  }

  /**
   * §6.8 at the arrival of an OPEN on `s`: false = dump `s`. Two connections the peer's address opened to us
   * are no collision when one has sent no OPEN (OpenSent): its BGP Identifier is unknown and it may not be the
   * peer at all, so the one with an OPEN wins and the silent one is dumped. Between ours and one of its (a
   * real race: both sides connect at once) the identifiers decide, as the RFC says.
   */
  private onOpen(remoteId: string, s: Session): boolean {
    const other = s === this.main ? this.extra : this.main;
    if (other === undefined) return true;
    const st = other.state.state;
    if (st === 'Idle' || st === 'Active' || st === 'Connect') return true;
    if (st === 'Established') return false;
    if (silentInbound(other) && s.initiatedLocally === false) {
      this.ctx.log('info', 'collision', { peer: this.address, remoteId, kept: 'new' });
      if (other === this.extra) {
        other.feed({ type: 'OpenCollisionDump' });
        this.dropExtra();
      } else this.promote(s);
      return true;
    }
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
    if (to === 'Established') this.openFailures = 0;
    else if (to === 'Idle' && (from === 'OpenSent' || from === 'OpenConfirm')) this.openFailures++;
    if (to === 'Established' && s !== this.main) this.promote(s);
    if (s !== this.main) {
      if (to === 'Idle') {
        s.dispose();
        if (this.extra === s) this.extra = undefined;
      }
      return;
    }
    if (to === 'Established') {
      this.damping.up(this.now());
      this.maxPrefixGuard = new MaxPrefixGuard();
    }
    if (to === 'Idle' && reason === 'max-prefixes') {
      const after = this.config.maxPrefixes?.restartAfter ?? DEFAULT_MAX_PREFIX_RESTART;
      this.restartHold = this.now() + after * 1000;
      s.holdIdle(this.restartHold);
    }
    if (from === 'Established' && to === 'Idle' && this.config.dampPeerOscillations !== false) {
      const until = this.damping.flap(this.now());
      if (until > this.now()) {
        s.holdIdle(until);
        this.ctx.log('warn', 'peer-damped', {
          peer: this.address,
          flaps: this.damping.flaps(this.now()),
          holdSeconds: Math.round((until - this.now()) / 1000),
        });
      }
    }
    const other = this.extra;
    this.errors.transition(change, other !== undefined && other.state.state !== 'Idle');
    this.status = { state: to, since: this.now(), reason };
    this.ctx.log(to === 'Idle' ? 'warn' : 'info', 'peer-state', { peer: this.address, from, to, reason });
    this.ctx.peerState({ address: this.address, from, to, reason });
  }

  private onEstablished(n: Negotiated, s: Session): void {
    this.establishedCount++;
    this.lastNegotiated = n;
    const c = this.config;
    const ribPeer: RibPeer = {
      address: c.address,
      asn: n.peerAsn,
      localAsn: n.localAsn,
      ibgp: n.ibgp,
      bgpId: n.peerBgpId,
      routeReflectorClient: c.routeReflectorClient === true,
      localAddress: s.localAddress ?? c.localAddress ?? '',
      // An IPv6 next hop matters only when the session carries IPv6 (the interface table costs a syscall).
      ...(hasFamily(n, AFI_IPV6) ? withIpv6NextHop(c.localAddressIpv6, s.localAddress, this.now()) : {}),
      ...(c.localAddressIpv4 !== undefined ? { localAddressIpv4: c.localAddressIpv4 } : {}),
      fourOctetAs: n.fourOctetAs,
    };
    this.ribPeer = ribPeer;
    // Back before the last session's routes were all withdrawn: the rest go now, in one go, as they all did
    // before withdrawals were sliced (the new session's routes must not be taken for the old one's).
    this.finishWithdrawal();
    this.ctx.locRib.addPeer(ribPeer);
    const member: GroupMember = {
      address: c.address,
      bgpId: n.peerBgpId,
      backlog: () => s.backlog,
      send: (buffers, updates) => void s.send(buffers, updates),
    };
    this.member = member;
    this.group = this.ctx.groups.join(member, ribPeer, n);
    this.applyHelper(helperUp(this.helper, n.gracefulRestart, this.now()), 'session-back');
    // RFC 4724 §2: our initial table, then End-of-RIB per family (sent by `flush` once the table is out);
    // after our own restart both wait until the selection deferral is over (§4.1), so the peer keeps our stale
    // routes until it has the whole table. §4.2: a peer that restarts too (R bit) must not be kept waiting for
    // our End-of-RIB: both would wait.
    this.pacer = new ExportPacer(n.families.map((f) => f.afi));
    this.eorDeferred = this.ctx.deferring() && n.gracefulRestart?.restarting !== true;
    if (!this.eorDeferred) this.flush();
    this.waitForEndOfRib(n);
  }

  /** Our selection deferral is over: OPENs lose the R bit; the held-back table and End-of-RIB go out. */
  endDeferral(): void {
    const caps = localCapabilities(this.ctx.config.asn, this.config, this.ctx.restartFlags());
    this.main.setCapabilities(caps);
    this.extra?.setCapabilities(caps);
    const n = this.main.negotiated;
    if (!this.eorDeferred || n === undefined || this.main.state.state !== 'Established') return;
    this.eorDeferred = false;
    this.flush(); // the pacer owes the End-of-RIB: sent once the table is out
  }

  /** Flush what a helper step says, log it, and arm its deadline. */
  private applyHelper(step: HelperStep, why: string): void {
    const was = this.helper;
    this.helper = step.state;
    const at = helperDeadline(step.state);
    if (at === undefined) this.timers.clear(GR_HELPER);
    else
      this.timers.set(GR_HELPER, at, (now) => this.applyHelper(helperTimeout(this.helper, now), 'timeout'));
    if (step.flush === undefined || step.flush.length === 0) return;
    const held = this.ctx.locRib.counts(this.address);
    let withdrawn = 0;
    if (step.state === undefined && this.main.state.state !== 'Established' && held.received === 0) {
      // The peer never came back (restart time over, session down): only stale paths are left and all of them
      // go — a session drop's withdrawal, in slices like one (a million in one go would stall every session).
      withdrawn = held.stale;
      this.startWithdrawal();
    } else
      for (const afi of step.flush) {
        const changes = this.ctx.locRib.sweepStale(this.address, afi);
        withdrawn += changes.prefixes.length;
        if (changes.prefixes.length > 0) this.ctx.locRibChanged(changes);
      }
    if (was !== undefined)
      this.ctx.log('info', 'graceful-restart-stale-flushed', {
        peer: this.address,
        families: step.flush,
        why,
        withdrawn,
      });
    this.ctx.scheduleFlush();
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
    const n = this.lastNegotiated;
    this.lastNegotiated = undefined;
    this.leaveGroup();
    this.pacer = undefined;
    this.timers.clear(REFRESH);
    this.ribPeer = undefined;
    this.eorPending = undefined;
    this.eorDeferred = false;
    this.timers.clear(EOR_FALLBACK);
    const verdict = downVerdict(
      this.config.gracefulRestartTime ?? 0,
      n?.gracefulRestart,
      reason,
      this.main.state.lastError,
    );
    if (verdict === 'gr-event') {
      // RFC 4724 §4.2: keep the peer's paths, stale, for its restart time.
      this.ctx.locRib.markStale(this.address);
      this.gracefulRestarts++;
      const families = n?.families.map((f) => f.afi) ?? [];
      this.applyHelper(helperDown(this.helper, verdict, n?.gracefulRestart, families, this.now()), 'down');
      this.ctx.log('info', 'graceful-restart-helper', {
        peer: this.address,
        reason,
        families: this.helper?.families ?? [],
        restartTime: n?.gracefulRestart?.restartTime ?? 0,
        stale: this.ctx.locRib.counts(this.address).stale,
      });
      this.ctx.scheduleFlush();
      return;
    }
    this.helper = undefined;
    this.timers.clear(GR_HELPER);
    // RFC 4271 §8.2.2: "deletes all routes associated with this connection" — in slices (WITHDRAW_SLICE).
    const held = this.ctx.locRib.counts(this.address);
    this.ctx.log('info', 'peer-down', {
      peer: this.address,
      reason,
      withdrawn: held.received + held.stale,
      ...(n?.gracefulRestart !== undefined ? { gracefulRestart: verdict } : {}),
    });
    this.startWithdrawal();
  }

  /** Every path of the peer's goes, a slice now and one per timer turn after (WITHDRAW_SLICE). */
  private startWithdrawal(): void {
    this.withdrawal = { since: this.now(), slices: 0, changed: 0 };
    this.withdrawSlice();
  }

  /** One slice of the dropped session's withdrawal; the next one on the next timer turn. */
  private withdrawSlice(): void {
    const w = this.withdrawal;
    if (w === undefined) return;
    // Finished meanwhile by someone else (`removePeer` withdraws what is left in one go).
    if (w.slices > 0 && !this.ctx.locRib.withdrawing(this.address)) return void (this.withdrawal = undefined);
    const { changes, done } = this.ctx.locRib.peerDownSlice(this.address, WITHDRAW_SLICE);
    w.slices++;
    w.changed += changes.prefixes.length;
    if (changes.prefixes.length > 0) this.ctx.locRibChanged(changes);
    this.ctx.scheduleFlush();
    if (!done) return this.timers.after(WITHDRAW, WITHDRAW_PAUSE_MS, () => this.withdrawSlice());
    this.withdrawal = undefined;
    if (w.slices > 1)
      this.ctx.log('info', 'peer-withdrawn', {
        peer: this.address,
        changed: w.changed,
        slices: w.slices,
        ms: Math.round(this.now() - w.since),
      });
  }

  /** What is left of a withdrawal under way (this object's, or one a disposed predecessor left), at once. */
  private finishWithdrawal(): void {
    if (this.withdrawal === undefined && !this.ctx.locRib.withdrawing(this.address)) return;
    this.timers.clear(WITHDRAW);
    this.withdrawal = undefined;
    const changes = this.ctx.locRib.peerDown(this.address);
    if (changes.prefixes.length > 0) this.ctx.locRibChanged(changes);
    this.ctx.scheduleFlush();
  }

  private onMessage(m: UpdateMessage | RouteRefreshMessage): void {
    if (m.type === MESSAGE_ROUTE_REFRESH) return this.onRouteRefresh(m);
    const changes = this.ctx.locRib.applyUpdate(this.address, m, this.now());
    if (changes.prefixes.length > 0) this.ctx.locRibChanged(changes);
    if (this.config.maxPrefixes !== undefined && m.reach.length > 0) this.checkMaxPrefixes(m.reach[0]!);
    if (m.endOfRib !== undefined && this.helper !== undefined)
      this.applyHelper(helperEndOfRib(this.helper, m.endOfRib.afi), 'end-of-rib');
    if (m.endOfRib !== undefined && this.eorPending !== undefined) {
      this.eorPending.delete(m.endOfRib.afi);
      if (this.eorPending.size === 0) this.endOfRibDone('end-of-rib');
    }
    this.ctx.scheduleFlush();
  }

  /** After an UPDATE that announced routes of `family`: the peer's prefixes against `maxPrefixes`. */
  private checkMaxPrefixes(family: { readonly afi: number; readonly safi: number }): void {
    const config = this.config.maxPrefixes;
    const received = this.ctx.locRib.counts(this.address).received;
    const verdict = this.maxPrefixGuard.check(config, received);
    if (verdict === 'ok' || config === undefined) return;
    const fields = { peer: this.address, received, limit: config.limit };
    if (verdict !== 'cease') return this.ctx.log('warn', 'max-prefixes', { ...fields, action: verdict });
    this.ctx.log('error', 'max-prefixes', { ...fields, action: verdict });
    const data = maxPrefixData(family.afi, family.safi, config.limit);
    // restartAfter 0: down until the configuration changes (ManualStop); else an automatic stop held in Idle.
    if (config.restartAfter === 0) this.main.stop(CEASE_MAXIMUM_PREFIXES_REACHED, data, 'max-prefixes');
    else
      this.main.feed({
        type: 'AutomaticStop',
        subcode: CEASE_MAXIMUM_PREFIXES_REACHED,
        data,
        reason: 'max-prefixes',
      });
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
    // A request: re-advertise the Adj-RIB-Out of that family, bracketed by BoRR/EoRR when enhanced — through
    // the pacer: coalesced (one waiting per family), rate-limited, and sent in slices by `flush`.
    if (this.group === undefined || this.pacer === undefined || !hasFamily(n, m.afi, m.safi)) return;
    this.pacer.request(m.afi);
    this.ctx.scheduleFlush();
  }

  /** Start the refreshes that are due (BoRR, then everything of the family pending again); arm the next one. */
  private startRefreshes(pacer: ExportPacer, group: UpdateGroup, member: GroupMember, n: Negotiated): void {
    for (const afi of pacer.due(this.now())) {
      if (n.enhancedRouteRefresh)
        this.main.send([encodeRouteRefresh({ afi, safi: SAFI_UNICAST, subtype: ROUTE_REFRESH_BORR })], 0);
      group.resend(member, afi === AFI_IPV6 ? AFI_IPV6 : AFI_IPV4);
    }
    const next = pacer.nextDue();
    if (next === undefined) this.timers.clear(REFRESH);
    else this.timers.set(REFRESH, next, () => this.ctx.scheduleFlush());
  }

  /** The configuration changed in place: a session stopped for good by max-prefix starts again. */
  reconfigured(): void {
    const st = this.main.state;
    if (st.state !== 'Idle' || st.autoRestart || st.lastReason !== 'max-prefixes') return;
    this.restartHold = 0;
    this.main.start();
  }

  /**
   * RFC 4456: become (or stop being) our route-reflector client in place — it changes what is reflected, not
   * the session. True when the running session's export rules changed: the speaker then re-evaluates every
   * update group (`UpdateGroups.reevaluate`).
   */
  setRouteReflectorClient(client: boolean): boolean {
    const changed = this.ctx.locRib.setRouteReflectorClient(this.address, client);
    const moved = changed && this.ribPeer?.ibgp === true;
    // Another update group now (the key has the client bit): what the session held is looked at again there.
    const n = this.main.negotiated;
    if (
      moved &&
      this.group !== undefined &&
      this.member !== undefined &&
      this.ribPeer !== undefined &&
      n !== undefined
    )
      this.group = this.ctx.groups.move(this.member, this.group, this.ribPeer, n);
    return moved;
  }

  private leaveGroup(): void {
    if (this.group !== undefined && this.member !== undefined) this.ctx.groups.leave(this.member, this.group);
    this.group = undefined;
    this.member = undefined;
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

  /**
   * This peer's part of an export pass (the speaker runs every update group's shared slice first,
   * update-group.ts): refreshes that are due, one slice of its own catch-up while it is behind the group's
   * stream (nothing while its socket holds more than the high-water mark: the session's 'drain' asks for a pass
   * again), and once the group owes it nothing: the End-of-RIB and EoRR owed.
   */
  flush(): void {
    if (this.eorDeferred) return;
    const group = this.group;
    const member = this.member;
    const pacer = this.pacer;
    const n = this.main.negotiated;
    if (
      group === undefined ||
      member === undefined ||
      pacer === undefined ||
      n === undefined ||
      this.main.state.state !== 'Established'
    )
      return;
    // In step, nothing pending, nothing owed: the common case of a pass over a thousand peers after one of them
    // sent an UPDATE — no work and no garbage (the path below would build `owed` and `markers` for nothing).
    if (pacer.idle && group.drained(member)) return;
    if (ExportPacer.paused(this.main.backlog)) return;
    this.startRefreshes(pacer, group, member, n);
    if (group.catchUp(member)) {
      if (!ExportPacer.paused(this.main.backlog)) this.ctx.scheduleFlush();
      return;
    }
    if (!group.drained(member)) {
      this.ctx.scheduleFlush();
      return;
    }
    const owed = pacer.drained();
    const markers: Buffer[] = [];
    for (const f of n.families)
      if (owed.endOfRib.includes(f.afi)) markers.push(encodeEndOfRib(f.afi, f.safi));
    if (n.enhancedRouteRefresh)
      for (const afi of owed.endOfRefresh)
        markers.push(encodeRouteRefresh({ afi, safi: SAFI_UNICAST, subtype: ROUTE_REFRESH_EORR }));
    if (markers.length > 0) this.main.send(markers, owed.endOfRib.length);
    if (owed.endOfRefresh.length > 0) this.startRefreshes(pacer, group, member, n);
    if (!group.drained(member)) this.ctx.scheduleFlush();
  }

  // ---- Views ----------------------------------------------------------------------------------------------

  adjRibOutView(): ReturnType<UpdateGroup['out']['adjRibOut']> {
    return this.group !== undefined && this.member !== undefined ? this.group.out.adjRibOut(this.member) : [];
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
      advertised:
        this.group !== undefined && this.member !== undefined ? this.group.advertisedFor(this.member) : 0,
      ...this.counters,
      establishedCount: this.establishedCount,
      ...damped(this.damping, this.now()),
      outputQueued: s.backlog,
      exportPending:
        this.group !== undefined && this.member !== undefined ? this.group.pendingFor(this.member) : 0,
      refreshesCoalesced: this.pacer?.coalesced ?? 0,
      ...this.grView(),
    };
  }

  private grView(): { gracefulRestart?: GracefulRestartView } {
    const local = this.config.gracefulRestartTime ?? 0;
    const peer = (this.main.negotiated ?? this.lastNegotiated)?.gracefulRestart;
    if (local === 0 && peer === undefined && this.helper === undefined) return {};
    const h = this.helper;
    const at = helperDeadline(h);
    const stale =
      this.ctx.locRib.peer(this.address) !== undefined ? this.ctx.locRib.counts(this.address).stale : 0;
    return {
      gracefulRestart: {
        restartTime: local,
        ...(peer !== undefined
          ? {
              peer: {
                restartTime: peer.restartTime,
                restarting: peer.restarting,
                notification: peer.notification,
                families: peer.families.map(
                  (f) =>
                    `${f.afi === AFI_IPV4 ? 'ipv4' : f.afi === AFI_IPV6 ? 'ipv6' : `afi ${f.afi}`}${f.forwarding ? ' F' : ''}`,
                ),
              },
            }
          : {}),
        ...(h !== undefined ? { state: h.restartDeadline !== undefined ? 'restarting' : 'stale' } : {}),
        stale,
        ...(at !== undefined ? { timeLeft: Math.max(0, Math.ceil((at - this.now()) / 1000)) } : {}),
        restarts: this.gracefulRestarts,
      },
    };
  }
}

/**
 * Our graceful stop of a session with graceful restart but without the N bit: close it without a Cease, which
 * such a peer takes as "withdraw" (RFC 4724 §4: only a TCP failure is a restart for it).
 */
function silentStop(n: Negotiated | undefined): boolean {
  return (
    n?.gracefulRestart !== undefined && n.gracefulRestart.restartTime > 0 && !n.gracefulRestart.notification
  );
}

function damped(d: Damping, now: number): { dampedFor?: number; flaps?: number } {
  const left = d.remaining(now);
  const flaps = d.flaps(now);
  return { ...(left > 0 ? { dampedFor: left } : {}), ...(flaps > 0 ? { flaps } : {}) };
}

/** An accepted connection that has sent no OPEN yet. */
function silentInbound(s: Session): boolean {
  return s.state.state === 'OpenSent' && s.initiatedLocally === false;
}

/** Refuse a connection now: write the NOTIFICATION (into the kernel's buffer at once), then close the socket. */
function refuse(socket: net.Socket, notification?: Uint8Array): void {
  if (notification !== undefined && !socket.destroyed) socket.write(notification);
  socket.destroy();
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
  now: number,
): { localAddressIpv6?: string } {
  const v6 =
    configured ??
    (local !== undefined && !local.includes(':') ? ipv6Beside(interfaceTable(now), local) : undefined);
  return v6 === undefined ? {} : { localAddressIpv6: v6 };
}

/**
 * `os.networkInterfaces()`, read at most once a second: it costs about a millisecond and a thousand sessions
 * coming up at once would each read it.
 */
let interfaces: { readonly at: number; readonly table: ReturnType<typeof networkInterfaces> } | undefined;
function interfaceTable(now: number): ReturnType<typeof networkInterfaces> {
  if (interfaces === undefined || Math.abs(now - interfaces.at) > INTERFACES_MAX_AGE_MS)
    interfaces = { at: now, table: networkInterfaces() };
  return interfaces.table;
}
const INTERFACES_MAX_AGE_MS = 1000;
