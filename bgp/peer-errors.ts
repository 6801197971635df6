/**
 * What `PeerStatus.lastError` says. An operator reads an error beside a session as "this is why it went
 * down", so it is shown only where it does: while the session is up, the error that ended the previous
 * session (if it ever went down); while it is down, the latest error. A connection attempt that failed
 * before the current session came up — an early connect the peer closed, a collision the peer resolved by
 * closing one of the two connections — is forgotten once a session is Established, and while it is the
 * latest news it says what it was.
 */
import type { SessionState } from './api.js';
import type { FsmError, StateChange } from './fsm.js';
import { CEASE_CONNECTION_COLLISION_RESOLUTION, ERR_CEASE } from './wire/iana.js';
import { describeNotification } from './wire/notification.js';

export class PeerErrors {
  /** The error that ended the last Established session. */
  private down: string | undefined;
  /** The error of the latest failed attempt since then; cleared when a session comes up. */
  private attempt: string | undefined;

  /**
   * The peer's main connection changed state. `otherAlive`: a second connection to the same peer (a
   * collision being resolved) is still running.
   */
  transition(c: StateChange, otherAlive: boolean): void {
    if (c.to === 'Established') {
      this.attempt = undefined;
      return;
    }
    if (c.to !== 'Idle' || c.error === undefined) return;
    if (c.from === 'Established') {
      this.down = describeError(c.error);
      this.attempt = undefined;
      return;
    }
    this.attempt =
      otherAlive && c.error.kind === 'tcp'
        ? `collision: the peer closed this connection and kept its own (${describeError(c.error)})`
        : describeError(c.error);
  }

  /** While Established: the error that ended the previous session; otherwise the latest one. */
  shown(state: SessionState): string | undefined {
    return state === 'Established' ? this.down : (this.attempt ?? this.down);
  }
}

/**
 * "sent 4/0 Hold Timer Expired", "received 6/2 Cease / Administrative Shutdown", "tcp: ECONNREFUSED",
 * "unexpected event UpdateMsg in Connect" (the RFC 4271 §8.1 event names);
 * a Cease 6/7 says it was a collision, not a failure.
 */
export function describeError(e: FsmError | undefined): string | undefined {
  if (e === undefined) return undefined;
  if (e.kind === 'tcp') return `tcp: ${e.detail}`;
  if (e.kind === 'unexpected') return `unexpected event ${e.event} in ${e.state}`;
  const cause = e.unexpected === undefined ? '' : ` (event ${e.unexpected.event} in ${e.unexpected.state})`;
  const text = `${e.kind} ${e.code}/${e.subcode} ${describeNotification(e.code, e.subcode)}${cause}`;
  return e.code === ERR_CEASE && e.subcode === CEASE_CONNECTION_COLLISION_RESOLUTION
    ? `collision: the other connection was kept (${text})`
    : text;
}
