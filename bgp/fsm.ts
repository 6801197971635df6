/**
 * The RFC 4271 §8 BGP finite state machine as a pure function:
 *
 *     step(state, event, now) → { state, actions }
 *
 * No socket, no `setTimeout`, no `Date.now()`: timers are deadlines kept in the state (`timers.ts`), the IO
 * shell (`session.ts`) arms one real timer for `nextDeadline(state)` and feeds expirations back as events
 * (`timerEvents`). Every transition goes through `changeState(next, reason)`, which holds all entry/exit side
 * effects and records the reason (a `TransitionReason`, api.ts: `hold-timer-expired`, `admin-down`, …).
 *
 * One FSM drives one TCP connection attempt cycle. Connection collisions (§6.8) are two FSMs for the same
 * peer, resolved by the speaker, which feeds `OpenCollisionDump` to the loser.
 *
 * Where this differs from the RFC text, on purpose:
 * - Every failure goes to Idle, and a damped IdleHoldTimer (§8.1.1 DampPeerOscillations; connect-retry time
 *   doubling per consecutive failure, capped at 60 s) restarts the session automatically. The RFC's
 *   "TcpConnectionFails in OpenSent → Active" becomes Idle + damped restart, so no error path can loop tight.
 *   ManualStop is the only way to stay down.
 * - A NOTIFICATION received in OpenSent closes the session without answering with a FSM-error NOTIFICATION
 *   (§6: a NOTIFICATION is never answered with one).
 * - A header error in Established sends its own NOTIFICATION (1/x), not a FSM error.
 * - DelayOpen (events 12, 20), TcpConnection_Valid/Tcp_CR_Invalid (14, 15) are not implemented.
 * - A passive FSM waits in Active without a ConnectRetryTimer (it never connects).
 */
import type { SessionState, TransitionReason } from './api.js';
import { buildOpen, negotiate, type Negotiated } from './negotiate.js';
import { backoff, clearTimer, dueTimers, earliest, setTimer, type TimerName, type Timers } from './timers.js';
import type {
  Capability,
  KeepaliveMessage,
  NotificationMessage,
  OpenMessage,
  RouteRefreshMessage,
  UpdateMessage,
} from './wire/types.js';
import type { FsmSubcode } from './wire/errors.js';
import {
  CEASE_ADMINISTRATIVE_RESET,
  CEASE_ADMINISTRATIVE_SHUTDOWN,
  CEASE_CONNECTION_COLLISION_RESOLUTION,
  ERR_CEASE,
  ERR_FSM,
  ERR_HOLD_TIMER_EXPIRED,
  ERR_OPEN_MESSAGE,
  FSM_UNEXPECTED_IN_ESTABLISHED,
  FSM_UNEXPECTED_IN_OPENCONFIRM,
  FSM_UNEXPECTED_IN_OPENSENT,
  FSM_UNSPECIFIED,
  MESSAGE_KEEPALIVE,
  MESSAGE_NOTIFICATION,
  MIN_HOLD_TIME,
  OPEN_UNACCEPTABLE_HOLD_TIME,
  SUBCODE_UNSPECIFIC,
} from './wire/iana.js';

export type { Negotiated } from './negotiate.js';

/** §8: "the initial HoldTimer value ... a large value ... A HoldTimer value of 4 minutes is suggested." */
export const LARGE_HOLD_TIME = 240;

/** What the FSM needs to know about the session; plain data. */
export interface FsmConfig {
  readonly localAsn: number;
  readonly routerId: string;
  /** Proposed hold time, seconds: 0 or >= 3. */
  readonly holdTime: number;
  /** Configured keepalive interval (default: a third of the negotiated hold time). */
  readonly keepaliveTime?: number;
  /** Seconds between connection attempts; also the first damped-restart delay. */
  readonly connectRetryTime: number;
  /** RFC 4271 PassiveTcpEstablishment: never connect, wait for the peer. */
  readonly passive: boolean;
  /** Capabilities to announce in our OPEN. */
  readonly capabilities: readonly Capability[];
  /** Upper bound of the damped restart delay, seconds (default 60). */
  readonly maxIdleHoldTime?: number;
}

/** The last error, as data (the shell words it with the codec's NOTIFICATION table). */
export type FsmError =
  | {
      readonly kind: 'sent' | 'received';
      readonly code: number;
      readonly subcode: number;
      readonly data?: Uint8Array;
      /** An FSM Error we sent (RFC 6608): the event that was unexpected, and the state it came in. */
      readonly unexpected?: UnexpectedEvent;
    }
  | { readonly kind: 'tcp'; readonly detail: string }
  /** An event Connect or Active has no use for (§8.2.2 "any other event"): Idle, with no NOTIFICATION to send. */
  | ({ readonly kind: 'unexpected' } & UnexpectedEvent);

/** Which event an FSM error was about, by its RFC 4271 §8.1 name, and the state it came in. */
export interface UnexpectedEvent {
  readonly event: FsmEvent['type'];
  readonly state: SessionState;
}

export interface FsmState {
  readonly state: SessionState;
  readonly config: FsmConfig;
  readonly timers: Timers;
  /** RFC 4271 §8 ConnectRetryCounter. */
  readonly connectRetryCounter: number;
  /** Consecutive failures since the last Established: drives the damped restart. */
  readonly failures: number;
  /** Restart by itself after an error (false after ManualStop, until the next start event). */
  readonly autoRestart: boolean;
  /** The OPEN we send on every connection. */
  readonly localOpen: OpenMessage;
  /** Set from the peer's OPEN (OpenConfirm, Established). */
  readonly negotiated?: Negotiated;
  /** When the current state was entered (the `now` of that step). */
  readonly since: number;
  readonly lastReason?: TransitionReason;
  readonly lastError?: FsmError;
}

type CeaseLike = {
  /**
   * Close the connection without a NOTIFICATION (ManualStop only): how a restarting speaker leaves a peer that
   * has graceful restart without RFC 8538's N bit, which would take a Cease for "withdraw my routes".
   */
  readonly silent?: boolean;
  readonly subcode?: number;
  readonly data?: Uint8Array;
  readonly reason?: TransitionReason;
};
type ErrLike = { readonly notification: NotificationMessage; readonly reason?: TransitionReason };

/** RFC 4271 §8.1 events (numbers in the comments), plus ROUTE-REFRESH (RFC 2918) which §8 predates. */
export type FsmEvent =
  | { readonly type: 'ManualStart' } // 1
  | ({ readonly type: 'ManualStop' } & CeaseLike) // 2
  | { readonly type: 'AutomaticStart' } // 3
  | { readonly type: 'ManualStart_with_PassiveTcpEstablishment' } // 4
  | { readonly type: 'AutomaticStart_with_PassiveTcpEstablishment' } // 5
  | ({ readonly type: 'AutomaticStop' } & CeaseLike) // 8
  | { readonly type: 'ConnectRetryTimer_Expires' } // 9
  | { readonly type: 'HoldTimer_Expires' } // 10
  | { readonly type: 'KeepaliveTimer_Expires' } // 11
  | { readonly type: 'IdleHoldTimer_Expires' } // 13
  | { readonly type: 'Tcp_CR_Acked' } // 16
  | { readonly type: 'TcpConnectionConfirmed' } // 17
  | { readonly type: 'TcpConnectionFails'; readonly detail: string } // 18
  | { readonly type: 'BGPOpen'; readonly open: OpenMessage } // 19
  | ({ readonly type: 'BGPHeaderErr' } & ErrLike) // 21
  | ({ readonly type: 'BGPOpenMsgErr' } & ErrLike) // 22
  | { readonly type: 'OpenCollisionDump' } // 23
  | { readonly type: 'NotifMsgVerErr'; readonly notification: NotificationMessage } // 24
  | { readonly type: 'NotifMsg'; readonly notification: NotificationMessage } // 25
  | { readonly type: 'KeepAliveMsg' } // 26
  | { readonly type: 'UpdateMsg'; readonly update: UpdateMessage } // 27
  | ({ readonly type: 'UpdateMsgErr' } & ErrLike) // 28
  | { readonly type: 'RouteRefreshMsg'; readonly message: RouteRefreshMessage } // RFC 2918
  | ({ readonly type: 'RouteRefreshMsgErr' } & ErrLike); // RFC 7313 §5

export type FsmAction =
  /** Open a TCP connection to the peer (drop any earlier attempt first). */
  | { readonly type: 'connect' }
  | { readonly type: 'send'; readonly message: OpenMessage | KeepaliveMessage | NotificationMessage }
  /** Drop the TCP connection (after flushing what was sent before). */
  | { readonly type: 'close' }
  | {
      readonly type: 'state';
      readonly from: SessionState;
      readonly to: SessionState;
      readonly reason: TransitionReason;
      /** The error that caused this transition (to Idle), if one did: never an earlier attempt's. */
      readonly error?: FsmError;
    }
  | { readonly type: 'established'; readonly negotiated: Negotiated }
  /** The session left Established: its routes must go. */
  | { readonly type: 'down'; readonly reason: TransitionReason }
  /** An UPDATE or ROUTE-REFRESH for the speaker. */
  | { readonly type: 'deliver'; readonly message: UpdateMessage | RouteRefreshMessage };

/** One reported transition. */
export type StateChange = Extract<FsmAction, { type: 'state' }>;

export interface StepResult {
  readonly state: FsmState;
  readonly actions: FsmAction[];
}

const KEEPALIVE: KeepaliveMessage = { type: MESSAGE_KEEPALIVE };
const NO_DATA = new Uint8Array(0);

export function assertNever(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}

/** A new FSM in Idle. Nothing happens until a start event. */
export function initialState(config: FsmConfig, now: number): FsmState {
  return {
    state: 'Idle',
    config,
    timers: {},
    connectRetryCounter: 0,
    failures: 0,
    autoRestart: false,
    localOpen: buildOpen(config),
    since: now,
  };
}

/** When the shell must wake up next (ms, same clock as `now`), or undefined. */
export function nextDeadline(s: FsmState): number | undefined {
  return earliest(s.timers);
}

const TIMER_EVENTS: Readonly<Record<TimerName, FsmEvent>> = {
  hold: { type: 'HoldTimer_Expires' },
  keepalive: { type: 'KeepaliveTimer_Expires' },
  connectRetry: { type: 'ConnectRetryTimer_Expires' },
  idleHold: { type: 'IdleHoldTimer_Expires' },
};

/**
 * §8.1.1 DampPeerOscillations decided by the owner (damping.ts): an Idle FSM that would restart by itself
 * does not before `until` (ms) — its IdleHoldTimer is moved out, never in. Any other state: unchanged.
 */
export function holdIdleUntil(s: FsmState, until: number): FsmState {
  if (s.state !== 'Idle' || !s.autoRestart) return s;
  const at = s.timers.idleHold;
  if (at !== undefined && at >= until) return s;
  return { ...s, timers: { ...s.timers, idleHold: until } };
}

/** The events of the timers due at `now`; feed them one by one (each step may stop the others). */
export function timerEvents(s: FsmState, now: number): FsmEvent[] {
  return dueTimers(s.timers, now).map((name) => TIMER_EVENTS[name]);
}

/** Is this a timer event whose timer is no longer set (stopped by an earlier event of the same batch)? */
function staleTimer(s: FsmState, e: FsmEvent): boolean {
  for (const [name, ev] of Object.entries(TIMER_EVENTS) as [TimerName, FsmEvent][]) {
    if (ev.type === e.type) return s.timers[name] === undefined;
  }
  return false;
}

/** The state being built by one step: the mutable scratch pad of a pure function. */
class Builder {
  s: FsmState;
  readonly actions: FsmAction[] = [];
  constructor(
    readonly initial: FsmState,
    readonly now: number,
  ) {
    this.s = initial;
  }
  patch(p: Partial<FsmState>): void {
    this.s = { ...this.s, ...p };
  }
  timer(name: TimerName, seconds: number | undefined): void {
    this.patch({ timers: setTimer(this.s.timers, name, this.now, seconds) });
  }
  stop(name: TimerName): void {
    this.patch({ timers: clearTimer(this.s.timers, name) });
  }
  send(message: OpenMessage | KeepaliveMessage | NotificationMessage): void {
    this.actions.push({ type: 'send', message });
    if (message.type === MESSAGE_NOTIFICATION)
      this.patch({
        lastError: { kind: 'sent', code: message.code, subcode: message.subcode, data: message.data },
      });
  }
  notify(code: number, subcode: number, data: Uint8Array = NO_DATA): void {
    this.send({ type: MESSAGE_NOTIFICATION, code, subcode, data });
  }
}

/**
 * All entry/exit side effects of a transition, and its reason.
 * - leaving Established: `down`; entering Established: `established`, failures reset.
 * - entering Idle: every timer stops, the connection is dropped, and unless stopped by hand a damped
 *   IdleHoldTimer is armed for the automatic restart.
 * - entering Connect: ConnectRetryTimer, `connect`. Entering OpenSent: our OPEN, the large hold timer.
 */
function changeState(b: Builder, next: SessionState, reason: TransitionReason): void {
  const from = b.s.state;
  if (from === 'Established' && next !== 'Established') b.actions.push({ type: 'down', reason });
  // The connection is dropped before the transition is reported, so an owner reacting to the report (e.g.
  // disposing a collision loser) finds the last NOTIFICATION already flushing.
  if (next === 'Idle' && from !== 'Idle' && from !== 'Active') b.actions.push({ type: 'close' });
  b.patch({ state: next, since: b.now, lastReason: reason });
  // The error set by this very step (a NOTIFICATION sent or received, a TCP failure) is the cause.
  const error = next === 'Idle' && b.s.lastError !== b.initial.lastError ? b.s.lastError : undefined;
  b.actions.push({ type: 'state', from, to: next, reason, ...(error !== undefined ? { error } : {}) });
  switch (next) {
    case 'Idle': {
      const failures = b.s.failures + 1;
      b.patch({ timers: {}, negotiated: undefined, failures });
      if (b.s.autoRestart)
        b.timer('idleHold', backoff(b.s.config.connectRetryTime, failures, b.s.config.maxIdleHoldTime));
      return;
    }
    case 'Connect':
      b.patch({ timers: {} });
      b.timer('connectRetry', b.s.config.connectRetryTime);
      b.actions.push({ type: 'connect' });
      return;
    case 'Active':
      b.patch({ timers: {} });
      if (!b.s.config.passive) b.timer('connectRetry', b.s.config.connectRetryTime);
      return;
    case 'OpenSent':
      b.patch({ timers: {} });
      b.send(b.s.localOpen);
      b.timer('hold', LARGE_HOLD_TIME);
      return;
    case 'OpenConfirm':
      return;
    case 'Established':
      b.patch({ failures: 0, connectRetryCounter: 0 });
      if (b.s.negotiated !== undefined) b.actions.push({ type: 'established', negotiated: b.s.negotiated });
      return;
    default:
      assertNever(next);
  }
}

/** Stop by hand: no automatic restart (§8.2.2 ManualStop: "sets the ConnectRetryCounter to zero"). */
function manualStop(b: Builder, e: CeaseLike, cease: boolean): void {
  if (cease && e.silent !== true) b.notify(ERR_CEASE, e.subcode ?? CEASE_ADMINISTRATIVE_SHUTDOWN, e.data);
  b.patch({ autoRestart: false, connectRetryCounter: 0 });
  changeState(b, 'Idle', e.reason ?? 'admin-down');
}

/** Event 8 in OpenSent, OpenConfirm, Established: Cease (Administrative Reset unless given), then Idle. */
function automaticStop(b: Builder, e: CeaseLike): void {
  b.notify(ERR_CEASE, e.subcode ?? CEASE_ADMINISTRATIVE_RESET, e.data);
  fail(b, e.reason ?? 'automatic-stop');
}

/** Event 10 in OpenSent, OpenConfirm, Established: NOTIFICATION Hold Timer Expired, then Idle. */
function holdTimerExpired(b: Builder): void {
  b.notify(ERR_HOLD_TIMER_EXPIRED, SUBCODE_UNSPECIFIC);
  fail(b, 'hold-timer-expired');
}

/** Event 23 (§6.8 resolved against this connection): Cease / Connection Collision Resolution, then Idle. */
function collisionDump(b: Builder): void {
  b.notify(ERR_CEASE, CEASE_CONNECTION_COLLISION_RESOLUTION);
  fail(b, 'collision');
}

/** Drop the session because of an error (optionally sending `notification` first). */
function fail(b: Builder, reason: TransitionReason, notification?: NotificationMessage): void {
  if (notification !== undefined) b.send(notification);
  b.patch({ connectRetryCounter: b.s.connectRetryCounter + 1 });
  changeState(b, 'Idle', reason);
}

/** RFC 6608 §3: "unexpected message" in OpenSent (1), OpenConfirm (2), Established (3). */
function fsmError(b: Builder, e: FsmEvent, subcode: Exclude<FsmSubcode, typeof FSM_UNSPECIFIED>): void {
  b.send({ type: MESSAGE_NOTIFICATION, code: ERR_FSM, subcode, data: NO_DATA });
  const sent = b.s.lastError;
  if (sent?.kind === 'sent')
    b.patch({ lastError: { ...sent, unexpected: { event: e.type, state: b.s.state } } });
  fail(b, 'fsm-error');
}

/** Connect, Active: an event with no meaning here drops the connection (no session, so no NOTIFICATION). */
function unexpected(b: Builder, e: FsmEvent): void {
  b.patch({ lastError: { kind: 'unexpected', event: e.type, state: b.s.state } });
  fail(b, 'fsm-error');
}

function received(b: Builder, n: NotificationMessage, reason: TransitionReason): void {
  b.patch({
    connectRetryCounter: b.s.connectRetryCounter + 1,
    lastError: { kind: 'received', code: n.code, subcode: n.subcode, data: n.data },
  });
  changeState(b, 'Idle', reason);
}

function tcpFailed(b: Builder, reason: TransitionReason, detail: string): void {
  b.patch({ connectRetryCounter: b.s.connectRetryCounter + 1, lastError: { kind: 'tcp', detail } });
  changeState(b, 'Idle', reason);
}

/** Restart the timers that a message from the peer resets. */
function heard(b: Builder): void {
  const n = b.s.negotiated;
  if (n !== undefined && n.holdTime > 0) b.timer('hold', n.holdTime);
}

function keepalive(b: Builder): void {
  b.send(KEEPALIVE);
  const n = b.s.negotiated;
  if (n !== undefined && n.keepaliveTime > 0) b.timer('keepalive', n.keepaliveTime);
}

/** OpenSent, BGPOpen: negotiate; §8.2.2 "sends a KEEPALIVE message, sets the HoldTimer ..., → OpenConfirm". */
function openReceived(b: Builder, open: OpenMessage): void {
  // §4.2 / §6.2: "An implementation MUST reject Hold Time values of one or two seconds."
  if (open.holdTime > 0 && open.holdTime < MIN_HOLD_TIME) {
    b.notify(ERR_OPEN_MESSAGE, OPEN_UNACCEPTABLE_HOLD_TIME);
    fail(b, 'open-error');
    return;
  }
  const negotiated = negotiate(b.s.localOpen, open, b.s.config.localAsn, b.s.config.keepaliveTime);
  b.patch({ negotiated, timers: {} });
  // "If the negotiated hold time value is zero, then the HoldTimer and KeepaliveTimer are not started."
  changeState(b, 'OpenConfirm', 'open-received');
  keepalive(b);
  heard(b);
}

function start(b: Builder, passive: boolean, reason: TransitionReason): void {
  b.patch({ autoRestart: true });
  changeState(b, passive || b.s.config.passive ? 'Active' : 'Connect', reason);
}

/** One event against one state. */
export function step(s: FsmState, e: FsmEvent, now: number): StepResult {
  const b = new Builder(s, now);
  if (staleTimer(s, e)) return { state: s, actions: [] };
  // A fired timer is spent; the branch re-arms it when the RFC says "restart".
  if (e.type.endsWith('Timer_Expires')) {
    const name = (Object.keys(TIMER_EVENTS) as TimerName[]).find((n) => TIMER_EVENTS[n].type === e.type);
    if (name !== undefined) b.stop(name);
  }
  switch (s.state) {
    case 'Idle':
      idle(b, e);
      break;
    case 'Connect':
      connect(b, e);
      break;
    case 'Active':
      active(b, e);
      break;
    case 'OpenSent':
      openSent(b, e);
      break;
    case 'OpenConfirm':
      openConfirm(b, e);
      break;
    case 'Established':
      established(b, e);
      break;
    default:
      assertNever(s.state);
  }
  return { state: b.s, actions: b.actions };
}

/** §8.2.2 Idle: "refuses all incoming BGP connections"; only start events (and our damped restart) act. */
function idle(b: Builder, e: FsmEvent): void {
  switch (e.type) {
    // Event 1 ManualStart, Event 3 AutomaticStart: "initiates a TCP connection ..., changes its state to Connect".
    case 'ManualStart':
    case 'AutomaticStart':
      return start(b, false, 'start');
    // Events 4, 5: "... listens for a connection ..., changes its state to Active".
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
      return start(b, true, 'start');
    // Event 13 IdleHoldTimer_Expires (§8.1.1 DampPeerOscillations): the automatic restart after an error.
    case 'IdleHoldTimer_Expires':
      return start(b, false, 'idle-hold-expired');
    // Event 2 ManualStop, Event 8 AutomaticStop: "ignored in the Idle state" — but a pending restart stops.
    case 'ManualStop':
    case 'AutomaticStop':
      b.patch({ autoRestart: false, timers: {}, connectRetryCounter: 0 });
      return;
    // "Any other event (Events 9-12, 15-28) received in the Idle state does not cause change in the state."
    case 'ConnectRetryTimer_Expires':
    case 'HoldTimer_Expires':
    case 'KeepaliveTimer_Expires':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
    case 'TcpConnectionFails':
    case 'BGPOpen':
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
    case 'OpenCollisionDump':
    case 'NotifMsgVerErr':
    case 'NotifMsg':
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
    case 'RouteRefreshMsgErr':
      return;
    default:
      assertNever(e);
  }
}

/** §8.2.2 Connect: our TCP connection attempt is under way. */
function connect(b: Builder, e: FsmEvent): void {
  switch (e.type) {
    // Events 1, 3-7: "ignored in the Connect state".
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'IdleHoldTimer_Expires':
      return;
    // Event 2 ManualStop: "drops the TCP connection, ... sets ConnectRetryCounter to zero, ... Idle".
    case 'ManualStop':
      return manualStop(b, e, false);
    case 'AutomaticStop':
      b.patch({ connectRetryCounter: b.s.connectRetryCounter + 1 });
      return changeState(b, 'Idle', e.reason ?? 'automatic-stop');
    // Event 9: "drops the TCP connection, restarts the ConnectRetryTimer, ... initiates a TCP connection".
    case 'ConnectRetryTimer_Expires':
      b.actions.push({ type: 'close' }, { type: 'connect' });
      b.timer('connectRetry', b.s.config.connectRetryTime);
      return;
    // Events 16, 17: "stops the ConnectRetryTimer, ... sends an OPEN message, ... sets the HoldTimer to a
    // large value, and changes its state to OpenSent".
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return changeState(b, 'OpenSent', 'connected');
    // Event 18 without DelayOpen: "stops the ConnectRetryTimer ..., drops the TCP connection, ... Idle".
    case 'TcpConnectionFails':
      return tcpFailed(b, 'connect-failed', e.detail);
    // Event 24: "... changes its state to Idle" (no NOTIFICATION is sent back for a NOTIFICATION).
    case 'NotifMsgVerErr':
    case 'NotifMsg':
      return received(b, e.notification, 'notification-received');
    // "In response to any other events (Events 8, 10-11, 13, 19, 23, 25-28), the local system: ... increments
    // the ConnectRetryCounter by 1, ... changes its state to Idle." No BGP session exists yet, so no
    // RFC 6608 NOTIFICATION (that is defined for OpenSent and later).
    case 'HoldTimer_Expires':
    case 'KeepaliveTimer_Expires':
    case 'BGPOpen':
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
    case 'OpenCollisionDump':
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
    case 'RouteRefreshMsgErr':
      return unexpected(b, e);
    default:
      assertNever(e);
  }
}

/** §8.2.2 Active: waiting for the peer to connect (or for the ConnectRetryTimer, when not passive). */
function active(b: Builder, e: FsmEvent): void {
  switch (e.type) {
    // Events 1, 3-7: "ignored in the Active state".
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'IdleHoldTimer_Expires':
      return;
    // Event 2: "... sets ConnectRetryCounter to zero, ... changes its state to Idle".
    case 'ManualStop':
      return manualStop(b, e, false);
    case 'AutomaticStop':
      b.patch({ connectRetryCounter: b.s.connectRetryCounter + 1 });
      return changeState(b, 'Idle', e.reason ?? 'automatic-stop');
    // Event 9: "restarts the ConnectRetryTimer, initiates a TCP connection ..., changes its state to Connect".
    case 'ConnectRetryTimer_Expires':
      return changeState(b, 'Connect', 'connect-retry');
    // Events 16, 17: "sends the OPEN message ..., sets its HoldTimer to a large value, ... OpenSent".
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return changeState(b, 'OpenSent', 'connected');
    // Event 18: "restarts the ConnectRetryTimer ..., increments the ConnectRetryCounter by 1, ... Idle".
    case 'TcpConnectionFails':
      return tcpFailed(b, 'connect-failed', e.detail);
    case 'NotifMsgVerErr':
    case 'NotifMsg':
      return received(b, e.notification, 'notification-received');
    // "In response to any other event (Events 8, 10-11, 13, 19, 23, 25-28), the local system: ... Idle."
    case 'HoldTimer_Expires':
    case 'KeepaliveTimer_Expires':
    case 'BGPOpen':
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
    case 'OpenCollisionDump':
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
    case 'RouteRefreshMsgErr':
      return unexpected(b, e);
    default:
      assertNever(e);
  }
}

/** §8.2.2 OpenSent: our OPEN is out, waiting for the peer's. */
function openSent(b: Builder, e: FsmEvent): void {
  switch (e.type) {
    // Events 1, 3-7: "ignored in the OpenSent state".
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'IdleHoldTimer_Expires':
    // Events 16, 17 (a second connection): collision tracking is the speaker's (two FSMs, §6.8).
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return;
    // Event 2: "sends the NOTIFICATION with a Cease, ... sets the ConnectRetryCounter to zero, ... Idle".
    case 'ManualStop':
      return manualStop(b, e, true);
    // Event 8: "sends the NOTIFICATION with a Cease, ... increments the ConnectRetryCounter by 1, ... Idle".
    case 'AutomaticStop':
      return automaticStop(b, e);
    // Event 10: "sends a NOTIFICATION message with the error code Hold Timer Expired, ... Idle".
    case 'HoldTimer_Expires':
      return holdTimerExpired(b);
    // Event 18: the RFC goes to Active; we go to Idle with a damped restart (see the file comment).
    case 'TcpConnectionFails':
      return tcpFailed(b, 'connection-lost', e.detail);
    // Event 19: "... sets the BGP ConnectRetryTimer to zero, sends a KEEPALIVE message, and sets a
    // KeepaliveTimer ..., sets the HoldTimer according to the negotiated value ..., OpenConfirm".
    case 'BGPOpen':
      return openReceived(b, e.open);
    // Events 21, 22: "sends a NOTIFICATION message with the appropriate error code, ... Idle".
    case 'BGPHeaderErr':
      return fail(b, e.reason ?? 'header-error', e.notification);
    case 'BGPOpenMsgErr':
      return fail(b, e.reason ?? 'open-error', e.notification);
    // Event 23: "sends the NOTIFICATION with a Cease, ... Idle" (§6.8: subcode 7, RFC 4486).
    case 'OpenCollisionDump':
      return collisionDump(b);
    // Event 24: "... changes its state to Idle". Event 25: the RFC answers with a FSM error; a NOTIFICATION is
    // never answered with one, so it is closed like event 24.
    case 'NotifMsgVerErr':
    case 'NotifMsg':
      return received(b, e.notification, 'notification-received');
    // "In response to any other event (Events 9, 11-13, 20, 25-28), the local system: sends the NOTIFICATION
    // with the Error Code Finite State Machine Error" — RFC 6608 subcode 1, unexpected message in OpenSent.
    case 'ConnectRetryTimer_Expires':
    case 'KeepaliveTimer_Expires':
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
    case 'RouteRefreshMsgErr':
      return fsmError(b, e, FSM_UNEXPECTED_IN_OPENSENT);
    default:
      assertNever(e);
  }
}

/** §8.2.2 OpenConfirm: OPENs exchanged, waiting for the peer's KEEPALIVE. */
function openConfirm(b: Builder, e: FsmEvent): void {
  switch (e.type) {
    // Events 1, 3-7 and 16-17: ignored (the second connection is the speaker's business, §6.8).
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'IdleHoldTimer_Expires':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return;
    // Event 2: "sends the NOTIFICATION message with a Cease, ... sets the ConnectRetryCounter to zero, ... Idle".
    case 'ManualStop':
      return manualStop(b, e, true);
    case 'AutomaticStop':
      return automaticStop(b, e);
    // Event 10: "sends the NOTIFICATION message with the Error Code Hold Timer Expired, ... Idle".
    case 'HoldTimer_Expires':
      return holdTimerExpired(b);
    // Event 11: "sends a KEEPALIVE message, restarts the KeepaliveTimer, and remains in the OpenConfirmed state".
    case 'KeepaliveTimer_Expires':
      return keepalive(b);
    // Event 18: "... drops the TCP connection, ... changes its state to Idle".
    case 'TcpConnectionFails':
      return tcpFailed(b, 'connection-lost', e.detail);
    // Events 24, 25: "... changes its state to Idle".
    case 'NotifMsgVerErr':
    case 'NotifMsg':
      return received(b, e.notification, 'notification-received');
    // Events 21, 22: "sends a NOTIFICATION message with the appropriate error code, ... Idle".
    case 'BGPHeaderErr':
      return fail(b, e.reason ?? 'header-error', e.notification);
    case 'BGPOpenMsgErr':
      return fail(b, e.reason ?? 'open-error', e.notification);
    // Event 23 (and event 19 resolved by §6.8 as this connection losing): "sends a NOTIFICATION with a Cease".
    case 'OpenCollisionDump':
      return collisionDump(b);
    // Event 26: "restarts the HoldTimer and changes its state to Established".
    case 'KeepAliveMsg':
      heard(b);
      return changeState(b, 'Established', 'keepalive-received');
    // "In response to any other event (Events 9, 12-13, 20, 27-28), the local system: sends a NOTIFICATION
    // with a code of Finite State Machine Error" — RFC 6608 subcode 2. A second OPEN on this connection is
    // such an event: collisions are between connections.
    case 'ConnectRetryTimer_Expires':
    case 'BGPOpen':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
    case 'RouteRefreshMsgErr':
      return fsmError(b, e, FSM_UNEXPECTED_IN_OPENCONFIRM);
    default:
      assertNever(e);
  }
}

/** §8.2.2 Established: UPDATE, NOTIFICATION and KEEPALIVE messages flow. */
function established(b: Builder, e: FsmEvent): void {
  switch (e.type) {
    // Events 1, 3-7 and 16-17: ignored.
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'IdleHoldTimer_Expires':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return;
    // Event 2: "sends the NOTIFICATION message with a Cease, ... deletes all routes associated with this
    // connection, ... sets the ConnectRetryCounter to zero, ... Idle".
    case 'ManualStop':
      return manualStop(b, e, true);
    // Event 8: "sends a NOTIFICATION with a Cease, ... deletes all routes ..., Idle".
    case 'AutomaticStop':
      return automaticStop(b, e);
    // Event 10: "sends a NOTIFICATION message with the Error Code Hold Timer Expired, ... Idle".
    case 'HoldTimer_Expires':
      return holdTimerExpired(b);
    // Event 11: "sends a KEEPALIVE message, and restarts its KeepaliveTimer".
    case 'KeepaliveTimer_Expires':
      return keepalive(b);
    // Event 18: "... deletes all routes ..., drops the TCP connection, ... Idle".
    case 'TcpConnectionFails':
      return tcpFailed(b, 'connection-lost', e.detail);
    // Events 24, 25: "... deletes all routes ..., drops the TCP connection, ... Idle".
    case 'NotifMsgVerErr':
    case 'NotifMsg':
      return received(b, e.notification, 'notification-received');
    // Event 23 (or 19 resolved against this connection, §6.8): Cease, Idle.
    case 'OpenCollisionDump':
      return collisionDump(b);
    // Event 26: "restarts its HoldTimer, if the negotiated HoldTime value is non-zero".
    case 'KeepAliveMsg':
      return heard(b);
    // Event 27: "processes the message, restarts its HoldTimer, if the negotiated HoldTime value is non-zero".
    case 'UpdateMsg':
      heard(b);
      b.actions.push({ type: 'deliver', message: e.update });
      return;
    case 'RouteRefreshMsg':
      heard(b);
      b.actions.push({ type: 'deliver', message: e.message });
      return;
    // Event 28: "sends a NOTIFICATION message with an Update error, ... deletes all routes ..., Idle".
    case 'UpdateMsgErr':
      return fail(b, e.reason ?? 'update-error', e.notification);
    case 'RouteRefreshMsgErr':
      return fail(b, e.reason ?? 'route-refresh-error', e.notification);
    // A broken header is reported as such (1/x) rather than as the RFC's FSM error: more useful to the peer.
    case 'BGPHeaderErr':
      return fail(b, e.reason ?? 'header-error', e.notification);
    // "In response to any other event (Events 9, 12-13, 20-22), the local system: sends a NOTIFICATION message
    // with the Error Code Finite State Machine Error" — RFC 6608 subcode 3. An OPEN here is unexpected.
    case 'ConnectRetryTimer_Expires':
    case 'BGPOpen':
    case 'BGPOpenMsgErr':
      return fsmError(b, e, FSM_UNEXPECTED_IN_ESTABLISHED);
    default:
      assertNever(e);
  }
}
