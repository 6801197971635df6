/**
 * Every BFD session of a process, and the demultiplexing of received packets to them (RFC 5880 §6.3, §6.8.6;
 * RFC 5881 §5 and RFC 5883 §5 for the TTL rules). Pure, like session.ts: datagrams and `now` in, datagrams
 * to send and state changes out, one earliest deadline for the shell's timer.
 *
 * Demultiplexing: a nonzero Your Discriminator names our session; a zero one (the peer does not know us yet,
 * allowed only in Down/AdminDown) is matched by the source address and the hop mode (single hop on port 3784,
 * multihop on 4784). A session is keyed by peer address and hop mode: one per BGP neighbour.
 *
 * TTL (GTSM for BFD): single hop — "MUST be discarded if the received TTL or Hop Limit is not equal to 255"
 * (RFC 5881 §5); multihop — at least `minTtl` (RFC 5883 §5 leaves the minimum to configuration; default 1).
 */
import { canonicalAddress } from '../ip/address.js';
import {
  decodeControl,
  encodeControl,
  type BfdStateName,
  STATE_NAMES,
  type DiscardReason,
} from './packet.js';
import { BfdSession, type BfdTimers } from './session.js';

export interface BfdPeerConfig extends BfdTimers {
  readonly peer: string;
  /** Our source address (default: the kernel's choice). */
  readonly local?: string;
  /** RFC 5883 multihop (UDP 4784) instead of RFC 5881 single hop (UDP 3784). */
  readonly multihop?: boolean;
  /** Multihop: the lowest TTL accepted (default 1); single hop always requires 255. */
  readonly minTtl?: number;
}

export interface Datagram {
  readonly peer: string;
  readonly local?: string;
  readonly multihop: boolean;
  readonly bytes: Uint8Array;
}

export interface StateChange {
  readonly peer: string;
  readonly multihop: boolean;
  readonly from: BfdStateName;
  readonly to: BfdStateName;
  readonly diag: number;
  readonly remoteState: BfdStateName;
  readonly at: number;
}

export interface Output {
  readonly send: Datagram[];
  readonly changes: StateChange[];
}

/** One session as `nodebgp bfd` shows it. Times in ms; intervals in µs as on the wire. */
export interface BfdSessionView {
  readonly peer: string;
  readonly local?: string;
  readonly multihop: boolean;
  readonly state: BfdStateName;
  readonly remoteState: BfdStateName;
  readonly localDiscriminator: number;
  readonly remoteDiscriminator: number;
  /** bfd.LocalDiag: why we last went down (0 none). */
  readonly localDiag: number;
  readonly remoteDiag: number;
  /** Configured, and negotiated now. */
  readonly desiredMinTx: number;
  readonly requiredMinRx: number;
  readonly detectMult: number;
  readonly remoteDesiredMinTx: number;
  readonly remoteMinRx: number;
  readonly remoteDetectMult: number;
  /** The interval between our packets (before jitter) and the peer's Detection Time, µs. */
  readonly txInterval: number;
  readonly detectionTime: number;
  /** ms since the state changed. */
  readonly sinceMs: number;
  readonly rx: number;
  readonly tx: number;
  readonly discarded: number;
  readonly upCount: number;
  readonly downCount: number;
}

export const SINGLE_HOP_PORT = 3784;
export const MULTIHOP_PORT = 4784;

interface Entry {
  config: BfdPeerConfig;
  readonly session: BfdSession;
  discarded: number;
  /** Removal: AdminDown is sent until this deadline, then the session is dropped. */
  removeAt?: number;
}

export function sessionKey(peer: string, multihop: boolean): string {
  return `${multihop ? 'm' : 's'}|${canonicalAddress(peer) ?? peer}`;
}

export class BfdManager {
  private readonly byKey = new Map<string, Entry>();
  private readonly byDiscr = new Map<number, Entry>();
  /** Packets that matched no session, by reason. */
  readonly discards = new Map<DiscardReason, number>();
  private changes: StateChange[] = [];
  private send: Datagram[] = [];

  constructor(private readonly random: () => number = Math.random) {}

  /** Add a session or change its timers; returns what to send now. */
  set(config: BfdPeerConfig, now: number): Output {
    const key = sessionKey(config.peer, config.multihop === true);
    const existing = this.byKey.get(key);
    if (existing !== undefined && existing.removeAt === undefined && sameEndpoints(existing.config, config)) {
      existing.config = config;
      this.apply(existing, existing.session.setTimers(config, now), now);
      return this.flush();
    }
    if (existing !== undefined) this.drop(key, existing);
    const session = new BfdSession(config, this.discriminator(), now, this.random);
    const e: Entry = { config, session, discarded: 0 };
    this.byKey.set(key, e);
    this.byDiscr.set(session.localDiscr, e);
    this.apply(e, session.expire(now), now);
    return this.flush();
  }

  /**
   * Remove a session: AdminDown (Diag 7) is sent for one Detection Time so the peer takes it down without
   * calling it a failure (RFC 5882 §3.2), then it is gone. No state change is reported for it.
   */
  remove(peer: string, multihop: boolean, now: number): Output {
    const key = sessionKey(peer, multihop);
    const e = this.byKey.get(key);
    if (e === undefined || e.removeAt !== undefined) return this.flush();
    const actions = e.session.setAdminDown(true, now);
    this.apply(
      e,
      actions.filter((a) => a.type === 'send'),
      now,
    );
    e.removeAt = now + Math.max(1000, e.session.detectionTime(), 3 * e.session.txInterval());
    return this.flush();
  }

  /** A datagram from `from` (address, hop mode, received TTL or hop limit). */
  receive(bytes: Uint8Array, from: { address: string; multihop: boolean; ttl: number }, now: number): Output {
    const d = decodeControl(bytes);
    if (!d.ok) return this.discard(undefined, d.reason);
    const p = d.packet;
    let e: Entry | undefined;
    if (p.yourDiscriminator !== 0) {
      // "If the Your Discriminator field is nonzero, it MUST be used to select the session ... If no session is
      // found, the packet MUST be discarded."
      e = this.byDiscr.get(p.yourDiscriminator);
      if (
        e !== undefined &&
        sessionKey(e.config.peer, e.config.multihop === true) !== sessionKey(from.address, from.multihop)
      )
        e = undefined;
    } else e = this.byKey.get(sessionKey(from.address, from.multihop));
    if (e === undefined) return this.discard(undefined, 'unknown-session');
    const minTtl = from.multihop ? (e.config.minTtl ?? 1) : 255;
    if (from.ttl < minTtl) return this.discard(e, 'ttl');
    this.apply(e, e.session.receive(p, now), now);
    return this.flush();
  }

  /** Run every session whose deadline has come. */
  expire(now: number): Output {
    for (const [key, e] of this.byKey) {
      if (e.removeAt !== undefined && now >= e.removeAt) {
        this.drop(key, e);
        continue;
      }
      if (e.session.nextDeadline() <= now) {
        const actions = e.session.expire(now);
        this.apply(e, e.removeAt === undefined ? actions : actions.filter((a) => a.type === 'send'), now);
      }
    }
    return this.flush();
  }

  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const e of this.byKey.values()) {
      const d = e.removeAt === undefined ? e.session.nextDeadline() : Math.min(e.removeAt, e.session.nextTx);
      if (next === undefined || d < next) next = d;
    }
    return next;
  }

  views(now: number): BfdSessionView[] {
    const out: BfdSessionView[] = [];
    for (const e of this.byKey.values()) {
      if (e.removeAt !== undefined) continue;
      const s = e.session;
      out.push({
        peer: canonicalAddress(e.config.peer) ?? e.config.peer,
        ...(e.config.local !== undefined ? { local: e.config.local } : {}),
        multihop: e.config.multihop === true,
        state: STATE_NAMES[s.state],
        remoteState: STATE_NAMES[s.remoteState],
        localDiscriminator: s.localDiscr,
        remoteDiscriminator: s.remoteDiscr,
        localDiag: s.localDiag,
        remoteDiag: s.remoteDiag,
        desiredMinTx: e.config.desiredMinTx,
        requiredMinRx: e.config.requiredMinRx,
        detectMult: e.config.detectMult,
        remoteDesiredMinTx: s.remoteDesiredMinTx,
        remoteMinRx: s.remoteMinRx,
        remoteDetectMult: s.remoteDetectMult,
        txInterval: Math.round(s.txInterval() * 1000),
        detectionTime: Math.round(s.detectionTime() * 1000),
        sinceMs: Math.max(0, now - s.since),
        rx: s.counters.rx,
        tx: s.counters.tx,
        discarded: e.discarded + s.counters.ignored,
        upCount: s.counters.up,
        downCount: s.counters.down,
      });
    }
    return out;
  }

  // ---- Internals ------------------------------------------------------------------------------------------

  private apply(e: Entry, actions: ReturnType<BfdSession['receive']>, now: number): void {
    const multihop = e.config.multihop === true;
    for (const a of actions) {
      if (a.type === 'send')
        this.send.push({
          peer: e.config.peer,
          ...(e.config.local !== undefined ? { local: e.config.local } : {}),
          multihop,
          bytes: encodeControl(a.packet),
        });
      else
        this.changes.push({
          peer: canonicalAddress(e.config.peer) ?? e.config.peer,
          multihop,
          from: STATE_NAMES[a.from],
          to: STATE_NAMES[a.to],
          diag: a.diag,
          remoteState: STATE_NAMES[a.remoteState],
          at: now,
        });
    }
  }

  private discard(e: Entry | undefined, reason: DiscardReason): Output {
    if (e !== undefined) e.discarded++;
    this.discards.set(reason, (this.discards.get(reason) ?? 0) + 1);
    return this.flush();
  }

  private drop(key: string, e: Entry): void {
    this.byKey.delete(key);
    if (this.byDiscr.get(e.session.localDiscr) === e) this.byDiscr.delete(e.session.localDiscr);
  }

  /** A random nonzero discriminator no session has (§6.3: "unique ... nonzero"). */
  private discriminator(): number {
    let d = Math.floor(this.random() * 0xfffffffe) + 1;
    while (this.byDiscr.has(d)) d = (d % 0xffffffff) + 1;
    return d;
  }

  private flush(): Output {
    const out = { send: this.send, changes: this.changes };
    this.send = [];
    this.changes = [];
    return out;
  }
}

function sameEndpoints(a: BfdPeerConfig, b: BfdPeerConfig): boolean {
  return a.local === b.local && (a.minTtl ?? 1) === (b.minTtl ?? 1);
}
