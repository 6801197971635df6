/**
 * One BFD session in Asynchronous mode (RFC 5880 §6): the state machine of §6.2, the reception rules of §6.8.6,
 * the transmission rules of §6.8.7, the Detection Time of §6.8.4 and the timer changes of §6.8.3 with their
 * Poll Sequence (§6.5). Pure: time comes in as `now` (milliseconds on any monotonic clock), randomness (the
 * transmit jitter) through `random`, and everything to do goes out as actions; the deadlines are data
 * (`nextTx`, `detectAt`) that the shell arms one real timer for.
 *
 *                              +--+
 *                              |  | UP, ADMIN DOWN, TIMER
 *                              |  V
 *                      DOWN  +------+  INIT
 *               +------------|      |------------+
 *               |            | DOWN |            |
 *               |  +-------->|      |<--------+  |
 *               |  |         +------+         |  |
 *               |  |                          |  |
 *               |  |               ADMIN DOWN,|  |
 *               |  |ADMIN DOWN,          DOWN,|  |
 *               |  |TIMER                TIMER|  |
 *               V  |                          |  V
 *             +------+                      +------+
 *        +----|      |                      |      |----+
 *    DOWN|    | INIT |--------------------->|  UP  |    |INIT, UP
 *        +--->|      | INIT, UP             |      |<---+
 *             +------+                      +------+
 *
 * Not implemented: Demand mode of our own (we never set D; a peer's D is honoured as §6.8.7 says), the Echo
 * function (we advertise Required Min Echo RX 0), authentication (packet.ts refuses the A bit).
 */
import { BfdState, Diag, type ControlPacket } from './packet.js';

/** §6.8.1 bfd.DesiredMinTxInterval is at least one second while the session is not Up (§6.8.3). */
export const SLOW_TX_US = 1_000_000;

export interface BfdTimers {
  /** bfd.DesiredMinTxInterval once Up, microseconds. */
  readonly desiredMinTx: number;
  /** bfd.RequiredMinRxInterval, microseconds (0: the peer must not send to us). */
  readonly requiredMinRx: number;
  /** bfd.DetectMult. */
  readonly detectMult: number;
}

export type BfdAction =
  | { readonly type: 'send'; readonly packet: ControlPacket }
  | {
      readonly type: 'state';
      readonly from: BfdState;
      readonly to: BfdState;
      /** bfd.LocalDiag after the transition (why we went down). */
      readonly diag: number;
      /** The peer's state as it last told us (AdminDown going down is not a failure: RFC 5882 §3.2). */
      readonly remoteState: BfdState;
    };

export interface BfdCounters {
  rx: number;
  tx: number;
  /** Valid packets from the peer discarded by the session (we are AdminDown). */
  ignored: number;
  /** Transitions into Up, and out of Up. */
  up: number;
  down: number;
}

export class BfdSession {
  state: BfdState = BfdState.Down;
  remoteState: BfdState = BfdState.Down;
  remoteDiscr = 0;
  localDiag = 0;
  /** The peer's last received Diag, Desired Min TX (µs), Required Min RX (µs), Detect Mult, D bit. */
  remoteDiag = 0;
  remoteDesiredMinTx = 0;
  /** bfd.RemoteMinRxInterval: "initialized to 1" (µs). */
  remoteMinRx = 1;
  remoteDetectMult = 0;
  remoteDemand = false;
  /** What we advertise now (µs). */
  desiredMinTx = SLOW_TX_US;
  requiredMinRx: number;
  /** What the timers use while a Poll Sequence for a change is under way (§6.8.3), µs. */
  private txInUse = SLOW_TX_US;
  private rxInUse: number;
  pollActive = false;
  private finalDue = false;
  /** Deadlines (ms): the next periodic packet, the end of the Detection Time (undefined: not running). */
  nextTx: number;
  detectAt: number | undefined;
  readonly counters: BfdCounters = { rx: 0, tx: 0, ignored: 0, up: 0, down: 0 };
  /** When the state last changed (ms, the caller's clock). */
  since: number;

  constructor(
    public timers: BfdTimers,
    readonly localDiscr: number,
    now: number,
    private readonly random: () => number = Math.random,
  ) {
    this.requiredMinRx = timers.requiredMinRx;
    this.rxInUse = timers.requiredMinRx;
    this.since = now;
    // The first packet goes out at once: the peer learns our discriminator without waiting a whole second.
    this.nextTx = now;
  }

  /** The earliest deadline. */
  nextDeadline(): number {
    return this.detectAt === undefined ? this.nextTx : Math.min(this.nextTx, this.detectAt);
  }

  /** Detection Time for the peer's packets (§6.8.4, Asynchronous mode), ms; 0 before the peer spoke. */
  detectionTime(): number {
    return (this.remoteDetectMult * Math.max(this.rxInUse, this.remoteDesiredMinTx)) / 1000;
  }

  /** The interval between our packets before jitter (§6.8.2), ms. */
  txInterval(): number {
    return Math.max(this.txInUse, this.remoteMinRx) / 1000;
  }

  /** A valid packet demultiplexed to this session (packet-level §6.8.6 checks already done). */
  receive(p: ControlPacket, now: number): BfdAction[] {
    const actions: BfdAction[] = [];
    this.counters.rx++;
    // "Set bfd.RemoteDiscr to the value of My Discriminator." "Set bfd.RemoteState to the value of the State
    // (Sta) field." "Set bfd.RemoteDemandMode to the value of the Demand (D) bit." "Set
    // bfd.RemoteMinRxInterval to the value of Required Min RX Interval."
    this.remoteDiscr = p.myDiscriminator;
    this.remoteState = p.state;
    this.remoteDemand = p.demand;
    this.remoteMinRx = p.requiredMinRx;
    this.remoteDesiredMinTx = p.desiredMinTx;
    this.remoteDetectMult = p.detectMult;
    this.remoteDiag = p.diag;
    // "If the Final (F) bit is set and the local system has sent a Poll, terminate the Poll Sequence."
    if (p.final && this.pollActive) {
      this.pollActive = false;
      this.txInUse = this.desiredMinTx;
      this.rxInUse = this.requiredMinRx;
    }
    // "If bfd.SessionState is AdminDown: Discard the packet."
    if (this.state === BfdState.AdminDown) {
      this.counters.ignored++;
      return actions;
    }
    // A packet counts for the Detection Time (§6.8.4) once it gets this far.
    this.detectAt = now + this.detectionTime();
    const before = this.state;
    if (p.state === BfdState.AdminDown) {
      // "If received state is AdminDown: If bfd.SessionState is not Down: Set bfd.LocalDiag to 3 (Neighbor
      // signaled session down), Set bfd.SessionState to Down."
      if (this.state !== BfdState.Down) this.change(actions, BfdState.Down, Diag.NeighborSignaledDown, now);
    } else if (this.state === BfdState.Down) {
      // "If received State is Down: Set bfd.SessionState to Init. Else if received State is Init: Set
      // bfd.SessionState to Up."
      if (p.state === BfdState.Down) this.change(actions, BfdState.Init, Diag.None, now);
      else if (p.state === BfdState.Init) this.change(actions, BfdState.Up, Diag.None, now);
    } else if (this.state === BfdState.Init) {
      // "If received State is Init or Up: Set bfd.SessionState to Up."
      if (p.state === BfdState.Init || p.state === BfdState.Up)
        this.change(actions, BfdState.Up, Diag.None, now);
    } else if (p.state === BfdState.Down) {
      // Up: "If received State is Down: Set bfd.LocalDiag to 3 (Neighbor signaled session down), Set
      // bfd.SessionState to Down."
      this.change(actions, BfdState.Down, Diag.NeighborSignaledDown, now);
    }
    // "If the Poll (P) bit is set, send a BFD Control packet to the remote system with the Poll (P) bit clear,
    // and the Final (F) bit set" — "as soon as practicable, without respect to the transmission timer".
    if (p.poll) this.finalDue = true;
    if (p.poll || this.state !== before) this.transmit(actions, now, false);
    this.keepPace(now);
    return actions;
  }

  /** Whatever is due at `now`: the end of the Detection Time, the next periodic packet. */
  expire(now: number): BfdAction[] {
    const actions: BfdAction[] = [];
    if (this.detectAt !== undefined && now >= this.detectAt) {
      // §6.8.4: "... the session has gone down -- the local system MUST set bfd.SessionState to Down and
      // bfd.LocalDiag to 1 (Control Detection Time Expired)." §6.8.1: bfd.RemoteDiscr "MUST be set to zero".
      this.detectAt = undefined;
      this.remoteDiscr = 0;
      this.remoteState = BfdState.Down;
      this.remoteDemand = false;
      if (this.state === BfdState.Init || this.state === BfdState.Up)
        this.change(actions, BfdState.Down, Diag.ControlDetectionTimeExpired, now);
    }
    if (now >= this.nextTx) this.transmit(actions, now, true);
    return actions;
  }

  /** Local administrative control: AdminDown (diag 7, the peer takes it as no failure) or back to Down. */
  setAdminDown(down: boolean, now: number): BfdAction[] {
    const actions: BfdAction[] = [];
    if (down && this.state !== BfdState.AdminDown) {
      this.change(actions, BfdState.AdminDown, Diag.AdministrativelyDown, now);
      this.detectAt = undefined;
      this.transmit(actions, now, false);
    } else if (!down && this.state === BfdState.AdminDown) {
      this.change(actions, BfdState.Down, Diag.None, now);
      this.transmit(actions, now, false);
    }
    return actions;
  }

  /** New timers (§6.8.3): while Up, a Poll Sequence announces them; slower sending waits for its Final. */
  setTimers(t: BfdTimers, now: number): BfdAction[] {
    this.timers = t;
    const actions: BfdAction[] = [];
    const desired = this.state === BfdState.Up ? t.desiredMinTx : Math.max(SLOW_TX_US, t.desiredMinTx);
    const changed = desired !== this.desiredMinTx || t.requiredMinRx !== this.requiredMinRx;
    this.applyTimers(desired, t.requiredMinRx);
    if (changed && this.state === BfdState.Up) {
      this.pollActive = true;
      this.transmit(actions, now, false);
    }
    this.keepPace(now);
    return actions;
  }

  /**
   * §6.8.3: "If bfd.DesiredMinTxInterval is increased and bfd.SessionState is Up, the actual transmission
   * interval used MUST NOT change until the Poll Sequence ... has terminated"; "If bfd.RequiredMinRxInterval
   * is reduced and bfd.SessionState is Up, the previous value ... MUST be used when calculating the Detection
   * Time ... until the Poll Sequence ... has terminated." Everything else applies at once.
   */
  private applyTimers(desiredMinTx: number, requiredMinRx: number): void {
    const up = this.state === BfdState.Up;
    if (!up || desiredMinTx < this.txInUse) this.txInUse = desiredMinTx;
    if (!up || requiredMinRx > this.rxInUse) this.rxInUse = requiredMinRx;
    this.desiredMinTx = desiredMinTx;
    this.requiredMinRx = requiredMinRx;
  }

  /**
   * A faster rate (we went Up, the peer asked for less) applies now, not after the packet already scheduled
   * at the old one: the peer's Detection Time already counts on it.
   */
  private keepPace(now: number): void {
    const latest = now + this.txInterval();
    if (this.nextTx > latest) this.nextTx = now + this.txInterval() * (1 - this.jitter());
  }

  /** §6.8.7: reduce each interval by 0-25% at random, 10-25% when bfd.DetectMult is 1. */
  private jitter(): number {
    return this.timers.detectMult === 1 ? 0.1 + 0.15 * this.random() : 0.25 * this.random();
  }

  private change(actions: BfdAction[], to: BfdState, diag: number, now: number): void {
    const from = this.state;
    this.state = to;
    this.localDiag = diag;
    this.since = now;
    if (to === BfdState.Up) {
      this.counters.up++;
      // Up: the configured rate replaces the slow one, announced by a Poll Sequence.
      this.applyTimers(this.timers.desiredMinTx, this.timers.requiredMinRx);
      if (this.desiredMinTx !== SLOW_TX_US) this.pollActive = true;
    } else {
      if (from === BfdState.Up) this.counters.down++;
      // "When bfd.SessionState is not Up, the system MUST set bfd.DesiredMinTxInterval to a value of not less
      // than one second."
      this.pollActive = false;
      this.applyTimers(Math.max(SLOW_TX_US, this.timers.desiredMinTx), this.timers.requiredMinRx);
    }
    actions.push({ type: 'state', from, to, diag, remoteState: this.remoteState });
  }

  /**
   * §6.8.7. `periodic`: the transmit timer fired (and is re-armed, reduced by 0-25% jitter, 10-25% when
   * bfd.DetectMult is 1); otherwise an extra packet (a Final, a state change) that leaves the timer alone.
   */
  private transmit(actions: BfdAction[], now: number, periodic: boolean): void {
    if (periodic) {
      this.nextTx = now + this.txInterval() * (1 - this.jitter());
      // "A system MUST NOT periodically transmit BFD Control packets if bfd.RemoteMinRxInterval is zero."
      if (this.remoteMinRx === 0) return;
      // "If bfd.RemoteDemandMode is 1, bfd.SessionState is Up, and bfd.RemoteSessionState is Up, Demand mode
      // is active on the remote system and the local system MUST cease the periodic transmission".
      if (this.remoteDemand && this.state === BfdState.Up && this.remoteState === BfdState.Up) return;
    }
    const final = this.finalDue;
    this.finalDue = false;
    this.counters.tx++;
    actions.push({
      type: 'send',
      packet: {
        diag: this.localDiag,
        state: this.state,
        // "A system MUST NOT set the Poll (P) and Final (F) bits in the same packet."
        poll: this.pollActive && !final,
        final,
        cpi: false,
        auth: false,
        demand: false,
        multipoint: false,
        detectMult: this.timers.detectMult,
        myDiscriminator: this.localDiscr,
        yourDiscriminator: this.remoteDiscr,
        desiredMinTx: this.desiredMinTx,
        requiredMinRx: this.requiredMinRx,
        requiredMinEchoRx: 0,
      },
    });
  }
}
