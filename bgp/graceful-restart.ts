/**
 * Graceful restart (RFC 4724, with RFC 8538's N bit and Hard Reset) as pure functions: what we announce, and
 * what the receiving speaker ("helper") does with a peer's routes when its session drops, comes back, sends
 * End-of-RIB, or stays away. State, events and `now` (ms) in; new state, what to flush, and the next deadline
 * out. `peer.ts` is the shell: it keeps the routes stale in the Loc-RIB and arms one deadline.
 *
 * Helper rules (RFC 4724 §4.2, RFC 8538 §4):
 * - A drop keeps the peer's paths, stale, per family of the peer's last capability, when both sides announced
 *   graceful restart with a restart time > 0 and the drop is a GR event: a TCP failure (no NOTIFICATION);
 *   with the N bit exchanged also a Hold Timer expiry and any NOTIFICATION received except Cease / Hard Reset.
 *   Drops we cause (a stop, a configuration change, BFD down, an error we detected) flush at once.
 * - While the session is down: stale until the peer's restart time is over (a failed attempt to come back
 *   does not extend it: only a drop from Established starts the timer).
 * - Re-established: a family the new OPEN does not carry in its capability, or carries with F = 0, is flushed
 *   at once; the others stay stale until the family's End-of-RIB or the stale-path timer.
 * - Dropped again before End-of-RIB: a new restart (the routes still stale stay so, the new ones join them).
 */
import type { TransitionReason } from './api.js';
import type { Negotiated } from './negotiate.js';
import type { Capability } from './wire/types.js';
import { CAP_GRACEFUL_RESTART, CEASE_HARD_RESET, ERR_CEASE, MAX_RESTART_TIME } from './wire/iana.js';

/** How long stale paths stay once the session is back, if End-of-RIB does not come (FRR's default). */
export const STALE_PATH_TIME = 360;

/** The peer's graceful-restart capability as negotiated (negotiate.ts). */
export type PeerGr = NonNullable<Negotiated['gracefulRestart']>;

/** The restarting-speaker side of our capability. */
export interface LocalGr {
  /** Our Restart Time, seconds (0 = graceful restart off). */
  readonly restartTime: number;
  /** R bit: we restarted and have not finished (deferral running). */
  readonly restarting: boolean;
  /** F bit for every family: the kernel kept our forwarding state. */
  readonly forwarding: boolean;
}

/** Our graceful-restart capability (RFC 4724 §3) with the N bit (RFC 8538 §2), or none when off. */
export function grCapability(
  gr: LocalGr,
  families: readonly { afi: number; safi: number }[],
): Capability | undefined {
  if (gr.restartTime <= 0) return undefined;
  return {
    code: CAP_GRACEFUL_RESTART,
    restarting: gr.restarting,
    notification: true,
    restartTime: Math.min(gr.restartTime, MAX_RESTART_TIME),
    families: families.map((f) => ({ afi: f.afi, safi: f.safi, forwarding: gr.forwarding })),
  };
}

/** The helper's state for one peer whose paths are kept stale. */
export interface HelperState {
  /** Families (AFI) whose paths are stale. */
  readonly families: readonly number[];
  /** While the session is down: when its restart time is over (ms). */
  readonly restartDeadline?: number;
  /** While the session is back: when stale paths go without End-of-RIB (ms). */
  readonly staleDeadline?: number;
  /** The peer's restart time of the session that dropped, seconds (shown). */
  readonly restartTime: number;
}

/** Why a drop is a graceful-restart event or not (logged). */
export type GrDownVerdict =
  | 'gr-event'
  | 'not-negotiated'
  | 'restart-time-zero'
  | 'hard-reset'
  | 'notification-without-n-bit'
  | 'our-stop';

/** The last error of the session that dropped, as the FSM keeps it (fsm.ts FsmError). */
export type DownError =
  | { readonly kind: 'sent' | 'received'; readonly code: number; readonly subcode: number }
  | { readonly kind: 'tcp' | 'unexpected' }
  | undefined;

/** Is this drop a graceful-restart event (keep the peer's paths stale)? */
export function downVerdict(
  localRestartTime: number,
  peer: PeerGr | undefined,
  reason: TransitionReason,
  error: DownError,
): GrDownVerdict {
  if (localRestartTime <= 0 || peer === undefined) return 'not-negotiated';
  if (peer.restartTime <= 0) return 'restart-time-zero';
  const nBit = peer.notification;
  if (
    (error?.kind === 'sent' || error?.kind === 'received') &&
    error.code === ERR_CEASE &&
    error.subcode === CEASE_HARD_RESET
  )
    return 'hard-reset';
  switch (reason) {
    case 'connection-lost':
      return 'gr-event';
    case 'hold-timer-expired':
    case 'notification-received':
      return nBit ? 'gr-event' : 'notification-without-n-bit';
    default:
      return 'our-stop';
  }
}

export interface HelperStep {
  readonly state: HelperState | undefined;
  /** Families whose stale paths go now (undefined = none). */
  readonly flush?: readonly number[];
}

/**
 * The session dropped. `families` are the AFIs of the session that dropped. With a GR event, the paths of
 * the families in the peer's capability become stale and the restart timer runs; the rest are flushed.
 */
export function helperDown(
  prev: HelperState | undefined,
  verdict: GrDownVerdict,
  peer: PeerGr | undefined,
  families: readonly number[],
  now: number,
): HelperStep {
  const all = union(families, prev?.families ?? []);
  if (verdict !== 'gr-event' || peer === undefined) return { state: undefined, flush: all };
  const kept = all.filter((afi) => peer.families.some((f) => f.afi === afi));
  const flush = all.filter((afi) => !kept.includes(afi));
  const state: HelperState = {
    families: kept,
    restartDeadline: now + peer.restartTime * 1000,
    restartTime: peer.restartTime,
  };
  return { state: kept.length > 0 ? state : undefined, ...(flush.length > 0 ? { flush } : {}) };
}

/** The session is back (Established) with `peer` as its new capability. */
export function helperUp(
  prev: HelperState | undefined,
  peer: PeerGr | undefined,
  now: number,
  stalePathTime = STALE_PATH_TIME,
): HelperStep {
  if (prev === undefined) return { state: undefined };
  if (peer === undefined) return { state: undefined, flush: prev.families };
  const kept = prev.families.filter((afi) => peer.families.some((f) => f.afi === afi && f.forwarding));
  const flush = prev.families.filter((afi) => !kept.includes(afi));
  const state: HelperState = {
    families: kept,
    staleDeadline: now + stalePathTime * 1000,
    restartTime: prev.restartTime,
  };
  return { state: kept.length > 0 ? state : undefined, ...(flush.length > 0 ? { flush } : {}) };
}

/** End-of-RIB for `afi` on the re-established session: its stale paths go. */
export function helperEndOfRib(prev: HelperState | undefined, afi: number): HelperStep {
  if (prev === undefined || !prev.families.includes(afi)) return { state: prev };
  const families = prev.families.filter((f) => f !== afi);
  return { state: families.length > 0 ? { ...prev, families } : undefined, flush: [afi] };
}

/** The peer never came back, or never sent End-of-RIB: at the deadline everything stale goes. */
export function helperTimeout(prev: HelperState | undefined, now: number): HelperStep {
  const at = helperDeadline(prev);
  if (prev === undefined || at === undefined || at > now) return { state: prev };
  return { state: undefined, flush: prev.families };
}

/** When `helperTimeout` must run next (ms), or undefined. */
export function helperDeadline(s: HelperState | undefined): number | undefined {
  return s?.restartDeadline ?? s?.staleDeadline;
}

function union(a: readonly number[], b: readonly number[]): number[] {
  return [...new Set([...a, ...b])];
}
