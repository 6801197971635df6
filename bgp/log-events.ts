/**
 * The speaker's log events (`SpeakerEvents['log']`), as one typed table: event name → its fields. Every
 * `log(level, event, fields)` in the session, the peer and the speaker is checked against it, so an event is
 * spelled one way and always carries the same fields — what a log pipeline or an alert can rely on.
 */
import type { ResetReason, SessionState, TransitionReason } from './api.js';
import type { GrDownVerdict } from './graceful-restart.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Fields of the events about one peer. */
interface OfPeer {
  readonly peer: string;
}

/** A decode error handled by the FSM (the NOTIFICATION follows): its stable code and reason in words. */
interface DecodeError extends OfPeer {
  readonly code: string;
  readonly reason: string;
}

interface NotificationFields extends OfPeer {
  readonly code: number;
  readonly subcode: number;
}

export interface SpeakerLogFields {
  // ---- the speaker --------------------------------------------------------------------------------------
  listening: { readonly address?: string; readonly port?: number };
  'listener-error': { readonly error: string };
  'peer-added': OfPeer & { readonly asn: number };
  'peer-removed': OfPeer;
  /** `updatePeer` changed `routeReflectorClient` on a running iBGP session: Adj-RIB-Outs re-evaluated. */
  'route-reflector-client': OfPeer & { readonly client: boolean };
  /** The transport could not give the peer's sockets their password or TTLs (transport.ts). */
  'peer-socket-options': OfPeer & { readonly error: string };
  /** `resetPeer`: a session taken down for a reason found outside BGP (e.g. BFD). */
  'peer-reset': OfPeer & { readonly reason: ResetReason };
  'connection-refused': {
    readonly remote: string;
    readonly remotePort?: number;
    readonly why: 'unknown peer' | 'stopping';
  };
  'connection-accepted': OfPeer & { readonly remotePort?: number };
  // ---- one peer -----------------------------------------------------------------------------------------
  /** A connection closed before its OPEN: the session is Established (Cease 6/5) or stopped. */
  'connection-rejected': OfPeer & { readonly state: SessionState; readonly why?: 'stopped' | 'damped' };
  /**
   * `PeerConfig.maxPrefixes`: the peer's prefixes reached 75 % of the limit (`threshold`), passed it with
   * `warningOnly` (`over-warning`), or passed it and the session is reset with Cease 6/1 (`cease`).
   */
  'max-prefixes': OfPeer & {
    readonly received: number;
    readonly limit: number;
    readonly action: 'threshold' | 'over-warning' | 'cease';
  };
  /** §8.1.1: the session flapped again and is held in Idle (damping.ts). */
  'peer-damped': OfPeer & { readonly flaps: number; readonly holdSeconds: number };
  /** An accepted connection that had sent no OPEN gave way to a newer one from the peer's address. */
  'connection-replaced': OfPeer & { readonly state: SessionState };
  /** RFC 4271 §6.8: which of two connections survived. */
  collision: OfPeer & { readonly remoteId: string; readonly kept: 'new' | 'existing' };
  'peer-state': OfPeer & {
    readonly from: SessionState;
    readonly to: SessionState;
    readonly reason: TransitionReason;
  };
  'peer-down': OfPeer & {
    readonly reason: TransitionReason;
    readonly withdrawn: number;
    /** Why the drop was not a graceful-restart event for a peer with the capability (graceful-restart.ts). */
    readonly gracefulRestart?: GrDownVerdict;
  };
  /**
   * A dropped session's routes withdrawn in more than one slice (peer.ts WITHDRAW_SLICE): prefixes whose FIB
   * entry changed, slices, and how long from the drop.
   */
  'peer-withdrawn': OfPeer & { readonly changed: number; readonly slices: number; readonly ms: number };
  /** RFC 4724 helper: the peer's session dropped, its paths of these families are kept stale. */
  'graceful-restart-helper': OfPeer & {
    readonly reason: TransitionReason;
    readonly families: readonly number[];
    readonly restartTime: number;
    readonly stale: number;
  };
  /** Stale paths of a restarting peer went: End-of-RIB, a timer, F = 0 or no capability on the new session. */
  'graceful-restart-stale-flushed': OfPeer & {
    readonly families: readonly number[];
    readonly why: string;
    readonly withdrawn: number;
  };
  'speaker-stopping': { readonly graceful: boolean; readonly hardReset: boolean };
  /** We restarted: the R bit is set, our tables wait for the selection deferral. */
  'graceful-restart-restarting': { readonly forwarding: boolean };
  /** We restarted: our routes and End-of-RIB are sent (selection deferral over). */
  'graceful-restart-deferral-over': { readonly why: string };
  'end-of-rib': OfPeer & { readonly how: 'end-of-rib' | 'timeout' };
  'encode-failed': OfPeer & { readonly error: string };
  'no-usable-next-hop': OfPeer & { readonly afi: number; readonly nextHop: string; readonly hint: string };
  // ---- one connection (the session) ---------------------------------------------------------------------
  'fsm-transition': OfPeer & {
    readonly from: SessionState;
    readonly to: SessionState;
    readonly reason: TransitionReason;
  };
  /** An owner's callback threw while the session executed an FSM action. */
  'handler-error': OfPeer & { readonly action: string; readonly error: string };
  /**
   * An exception while handling one received message: the session is reset (Cease 6/4), the others are not.
   * `bytes` is the message's first octets in hex (at most FAULT_BYTES_LOGGED).
   */
  'message-failed': OfPeer & {
    readonly messageType: number;
    readonly length: number;
    readonly bytes: string;
    readonly error: string;
  };
  /** The TCP connection failed or was closed; `reason` is the socket's error code or words. */
  'tcp-failed': OfPeer & { readonly reason: string };
  'notification-sent': NotificationFields;
  'notification-received': NotificationFields;
  'header-error': DecodeError;
  'open-error': DecodeError;
  'update-error': DecodeError;
  /** RFC 7606: an attribute error handled without a reset. */
  'attribute-error': DecodeError & {
    readonly action: 'attribute-discard' | 'treat-as-withdraw';
    readonly attribute: number;
  };
}

export type SpeakerLogEvent = keyof SpeakerLogFields;

/**
 * Every record may carry `suppressed`: how many records of the same event and source were held back since the
 * last one let through (the events a peer can repeat at will are rate-limited, log-rate.ts).
 */
export interface Suppressed {
  readonly suppressed?: number;
}

/** One log record as the speaker emits it: `{ level, event, ...fields }`, discriminated by `event`. */
export type SpeakerLogRecord = {
  [E in SpeakerLogEvent]: { readonly level: LogLevel; readonly event: E } & SpeakerLogFields[E] & Suppressed;
}[SpeakerLogEvent];

/** The one `log()` of the library's shells. */
export type SpeakerLog = <E extends SpeakerLogEvent>(
  level: LogLevel,
  event: E,
  fields: SpeakerLogFields[E],
) => void;

/** The record of one call (the compiler cannot relate a generic event to its member of the union). */
export function logRecord<E extends SpeakerLogEvent>(
  level: LogLevel,
  event: E,
  fields: SpeakerLogFields[E] & Suppressed,
): SpeakerLogRecord {
  return { ...fields, level, event } as unknown as SpeakerLogRecord;
}
