/**
 * The thin IO shell around the pure FSM (`fsm.ts`): one `net.Socket`, framing with the codec's
 * `messageLength`, decoding, and the execution of the FSM's actions. Its deadlines — the FSM's earliest, and
 * the close grace of each socket it dropped — are entries in its owner's `TimerList` (clock.ts), which arms
 * one real timer for the whole peer. Time is read only through that list's injectable clock.
 *
 * Never throws out of socket callbacks: a malformed message becomes the FSM event that sends the right
 * NOTIFICATION (through the codec's `toNotification`), a socket error becomes `TcpConnectionFails`.
 * Writes of one batch are coalesced (cork, then uncork on the next tick).
 */
import type net from 'node:net';
import { canonicalAddress } from '../ip/address.js';
import {
  initialState,
  nextDeadline,
  step,
  timerEvents,
  type FsmAction,
  type FsmConfig,
  type FsmEvent,
  type FsmState,
  type Negotiated,
  type StateChange,
} from './fsm.js';
import type { TransitionReason } from './api.js';
import type { SpeakerLog } from './log-events.js';
import { buildOpen, codecContext } from './negotiate.js';
import type { BgpError } from './wire/errors.js';
import { messageLength } from './wire/header.js';
import { encodeKeepalive } from './wire/keepalive.js';
import { decodeNotification, encodeNotification, toNotification } from './wire/notification.js';
import { decodeOpen, encodeOpen, validateOpen, type OpenExpectations } from './wire/open.js';
import { decodeRouteRefresh } from './wire/route-refresh.js';
import { decodeUpdate } from './wire/update.js';
import { AttributeCache } from './wire/cache.js';
import { nodeTransport, type Transport } from './transport.js';
import { systemClock, TimerList, type Clock } from './clock.js';
import type {
  KeepaliveMessage,
  NotificationMessage,
  OpenMessage,
  RouteRefreshMessage,
  UpdateMessage,
} from './wire/types.js';
import {
  BGP_PORT,
  ERR_OPEN_MESSAGE,
  HEADER_LENGTH,
  MESSAGE_KEEPALIVE,
  MESSAGE_NOTIFICATION,
  MESSAGE_OPEN,
  MESSAGE_ROUTE_REFRESH,
  MESSAGE_UPDATE,
  OPEN_UNSUPPORTED_VERSION_NUMBER,
  TYPE_OFFSET,
} from './wire/iana.js';

const EMPTY_UPDATE: UpdateMessage = {
  type: MESSAGE_UPDATE,
  withdrawn: [],
  reach: [],
  attributes: null,
  issues: [],
};
/** How long a closing socket may take to flush its last NOTIFICATION before it is destroyed. */
export const CLOSE_GRACE_MS = 2000;

/** What the owner (the speaker's peer) is told. All optional; all called synchronously. */
export interface SessionHandlers {
  state?(change: StateChange, s: Session): void;
  established?(negotiated: Negotiated, s: Session): void;
  down?(reason: TransitionReason, s: Session): void;
  message?(m: UpdateMessage | RouteRefreshMessage, s: Session): void;
  /**
   * An acceptable OPEN arrived in OpenSent (RFC 4271 §6.8): return false to dump this connection as the
   * loser of a connection collision (the FSM then sends Cease 6/7).
   */
  open?(open: OpenMessage, s: Session): boolean;
  log?: SpeakerLog;
}

export interface SessionOptions {
  readonly fsm: FsmConfig;
  readonly peerAddress: string;
  /** Peer TCP port (default BGP_PORT, 179). */
  readonly port?: number;
  /** Source address for our connections. */
  readonly localAddress?: string;
  /** What the peer's OPEN must say (RFC 4271 §6.2). */
  readonly expect: OpenExpectations;
  /**
   * The owner's deadline list (one real timer per peer); default: a list of its own on `clock` (default the
   * system clock).
   */
  readonly timers?: TimerList;
  readonly clock?: Clock;
  /** Shared attribute cache (one per speaker is fine). */
  readonly cache?: AttributeCache;
  /** Counters to add to (shared by the sessions of one peer); default: the session's own. */
  readonly counters?: SessionCounters;
  /** Where connections come from (transport.ts); default plain `node:net`. */
  readonly transport?: Transport;
}

export interface SessionCounters {
  messagesIn: number;
  messagesOut: number;
  updatesIn: number;
  updatesOut: number;
  /** RFC 7606 attribute errors handled without a reset. */
  attributeErrors: number;
}

export class Session {
  private fsm: FsmState;
  private socket: net.Socket | undefined;
  /** Did we open the current connection (true) or accept it (false)? Undefined without a connection. */
  private outbound: boolean | undefined;
  private inbox: Buffer = Buffer.alloc(0);
  private readonly timers: TimerList;
  private readonly queue: FsmEvent[] = [];
  private running = false;
  private corked = false;
  private disposed = false;
  private readonly cache: AttributeCache;
  readonly counters: SessionCounters;
  /** Our address and port on the current (or last) connection. */
  localAddress: string | undefined;
  localPort: number | undefined;

  constructor(
    readonly opts: SessionOptions,
    private readonly handlers: SessionHandlers = {},
  ) {
    this.timers = opts.timers ?? new TimerList(opts.clock ?? systemClock);
    this.cache = opts.cache ?? new AttributeCache();
    this.counters = opts.counters ?? {
      messagesIn: 0,
      messagesOut: 0,
      updatesIn: 0,
      updatesOut: 0,
      attributeErrors: 0,
    };
    this.fsm = initialState(opts.fsm, this.now());
  }

  get state(): FsmState {
    return this.fsm;
  }

  /** True when this connection was initiated by us (for §6.8 collision resolution). */
  get initiatedLocally(): boolean | undefined {
    return this.outbound;
  }

  get negotiated(): Negotiated | undefined {
    return this.fsm.negotiated;
  }

  /** ManualStart (active) or ManualStart_with_PassiveTcpEstablishment. */
  start(passive = this.opts.fsm.passive): void {
    this.feed({ type: passive ? 'ManualStart_with_PassiveTcpEstablishment' : 'ManualStart' });
  }

  /** ManualStop: Cease (default 6/2 Administrative Shutdown) when a session exists; no restart. */
  stop(subcode?: number, data?: Uint8Array, reason?: TransitionReason, silent?: boolean): void {
    this.feed({ type: 'ManualStop', subcode, data, reason, ...(silent === true ? { silent } : {}) });
  }

  /** The capabilities of the OPENs of later connections (graceful restart's R bit clears after a restart). */
  setCapabilities(capabilities: FsmConfig['capabilities']): void {
    const config = { ...this.fsm.config, capabilities };
    this.fsm = { ...this.fsm, config, localOpen: buildOpen(config) };
  }

  /** Any FSM event (the speaker uses it for OpenCollisionDump and AutomaticStop). */
  feed(e: FsmEvent): void {
    if (this.disposed) return;
    this.queue.push(e);
    if (this.running) return; // a handler fed us while we were stepping: run after the current event
    this.running = true;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) this.run(next);
    } finally {
      this.running = false;
    }
    this.arm();
  }

  /** Hand an accepted connection to this session (TcpConnectionConfirmed). */
  accept(socket: net.Socket): void {
    this.attach(socket, false);
    this.feed({ type: 'TcpConnectionConfirmed' });
    if (this.fsm.state !== 'OpenSent') this.dropSocket(socket); // the FSM did not take it (e.g. Idle)
  }

  /** Send encoded messages (UPDATEs, ROUTE-REFRESH) in one coalesced write; only in Established. */
  send(buffers: readonly Buffer[], updates = buffers.length): boolean {
    if (this.fsm.state !== 'Established' || this.socket === undefined) return false;
    for (const b of buffers) this.write(b);
    this.counters.updatesOut += updates;
    return true;
  }

  /**
   * Stop everything now: no more events, no FSM deadline; the socket is ended (what was written still goes
   * out, within the close grace).
   */
  dispose(): void {
    this.disposed = true;
    this.timers.clear(this);
    const s = this.socket;
    this.socket = undefined;
    if (s !== undefined) this.dropSocket(s);
  }

  // ---- FSM plumbing ---------------------------------------------------------------------------------------

  private run(e: FsmEvent): void {
    const r = step(this.fsm, e, this.now());
    this.fsm = r.state;
    for (const a of r.actions) {
      // An owner's callback that throws must not leave the FSM half-executed or escape into a socket callback.
      try {
        this.execute(a);
      } catch (err) {
        this.log('error', 'handler-error', {
          peer: this.opts.peerAddress,
          action: a.type,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
  }

  private execute(a: FsmAction): void {
    switch (a.type) {
      case 'connect':
        return this.connect();
      case 'send':
        return this.sendFsmMessage(a.message);
      case 'close':
        return this.close();
      case 'state':
        this.log('debug', 'fsm-transition', {
          peer: this.opts.peerAddress,
          from: a.from,
          to: a.to,
          reason: a.reason,
        });
        return this.handlers.state?.(a, this);
      case 'established':
        return this.handlers.established?.(a.negotiated, this);
      case 'down':
        return this.handlers.down?.(a.reason, this);
      case 'deliver':
        return this.handlers.message?.(a.message, this);
      default: {
        const never: never = a;
        throw new Error(`unknown action ${JSON.stringify(never)}`);
      }
    }
  }

  private now(): number {
    return this.timers.clock.now();
  }

  /** Put the FSM's earliest deadline in the owner's timer list (this session's one entry). */
  private arm(): void {
    if (this.disposed) return;
    this.timers.set(this, nextDeadline(this.fsm), (now) => this.fire(now));
  }

  private fire(now: number): void {
    const events = timerEvents(this.fsm, now);
    if (events.length === 0) return this.arm();
    for (const e of events) this.feed(e);
  }

  private readonly log: SpeakerLog = (level, event, fields) => this.handlers.log?.(level, event, fields);

  // ---- Socket ---------------------------------------------------------------------------------------------

  private connect(): void {
    this.close();
    const socket = (this.opts.transport ?? nodeTransport).connect({
      host: this.opts.peerAddress,
      port: this.opts.port ?? BGP_PORT,
      ...(this.opts.localAddress !== undefined ? { localAddress: this.opts.localAddress } : {}),
    });
    this.attach(socket, true);
    socket.once('connect', () => {
      if (this.socket !== socket) return;
      this.noteAddresses(socket);
      this.feed({ type: 'Tcp_CR_Acked' });
    });
  }

  private attach(socket: net.Socket, outbound: boolean): void {
    if (this.socket !== undefined && this.socket !== socket) this.dropSocket(this.socket);
    this.socket = socket;
    this.outbound = outbound;
    this.inbox = Buffer.alloc(0);
    socket.setNoDelay(true);
    if (!outbound) this.noteAddresses(socket);
    socket.on('data', (chunk: Buffer) => {
      if (this.socket === socket) this.receive(chunk);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.socket === socket) this.lost(socket, err.code ?? err.message);
    });
    socket.on('close', () => {
      if (this.socket === socket) this.lost(socket, 'connection closed by peer');
    });
  }

  private noteAddresses(socket: net.Socket): void {
    this.localAddress = socketAddress(socket.localAddress);
    this.localPort = socket.localPort;
  }

  private lost(socket: net.Socket, reason: string): void {
    this.socket = undefined;
    socket.destroy();
    this.log('info', 'tcp-failed', { peer: this.opts.peerAddress, reason });
    this.feed({ type: 'TcpConnectionFails', detail: reason });
  }

  /** The FSM's `close`: flush what was written (the NOTIFICATION), FIN, destroy after a grace period. */
  private close(): void {
    const s = this.socket;
    this.socket = undefined;
    this.outbound = undefined;
    if (s !== undefined) this.dropSocket(s);
  }

  private dropSocket(s: net.Socket): void {
    if (this.socket === s) this.socket = undefined;
    if (s.destroyed) return;
    if (s.connecting) {
      s.destroy();
      return;
    }
    s.end();
    // The close grace is a deadline of the socket's own, kept after `dispose` until the socket closes.
    this.timers.after(s, CLOSE_GRACE_MS, () => s.destroy());
    s.once('close', () => this.timers.clear(s));
  }

  private sendFsmMessage(m: OpenMessage | NotificationMessage | KeepaliveMessage): void {
    if (this.socket === undefined) return;
    if (m.type === MESSAGE_OPEN) this.write(encodeOpen(m));
    else if (m.type === MESSAGE_KEEPALIVE) this.write(encodeKeepalive());
    else {
      this.log('warn', 'notification-sent', {
        peer: this.opts.peerAddress,
        code: m.code,
        subcode: m.subcode,
      });
      this.write(encodeNotification(m));
    }
  }

  private write(b: Buffer): void {
    const s = this.socket;
    if (s === undefined || s.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      s.cork();
      process.nextTick(() => {
        this.corked = false;
        s.uncork();
      });
    }
    s.write(b);
    this.counters.messagesOut++;
  }

  // ---- Receiving ------------------------------------------------------------------------------------------

  /** Frame and dispatch every complete message; stop at the first one that ends the connection. */
  private receive(chunk: Buffer): void {
    const socket = this.socket;
    this.inbox = this.inbox.length === 0 ? chunk : Buffer.concat([this.inbox, chunk]);
    let off = 0;
    while (this.socket === socket && !this.disposed) {
      const len = messageLength(this.inbox, off);
      if (typeof len !== 'number') {
        this.headerError(len);
        return;
      }
      if (len < 0 || this.inbox.length - off < len) break;
      const message = this.inbox.subarray(off, off + len);
      off += len;
      this.counters.messagesIn++;
      this.dispatch(message);
    }
    this.inbox = off >= this.inbox.length ? Buffer.alloc(0) : this.inbox.subarray(off);
  }

  private headerError(err: BgpError): void {
    this.log('warn', 'header-error', { peer: this.opts.peerAddress, code: err.code, reason: err.reason });
    this.feed({ type: 'BGPHeaderErr', notification: toNotification(err), reason: 'header-error' });
  }

  private dispatch(message: Buffer): void {
    const body = message.subarray(HEADER_LENGTH);
    switch (message[TYPE_OFFSET]) {
      case MESSAGE_OPEN:
        return this.onOpen(body);
      case MESSAGE_UPDATE:
        return this.onUpdate(body);
      case MESSAGE_NOTIFICATION: {
        const n = decodeNotification(body);
        this.log('warn', 'notification-received', {
          peer: this.opts.peerAddress,
          code: n.code,
          subcode: n.subcode,
        });
        // RFC 4271 §8.1.2 event 24: a NOTIFICATION with "Unsupported Version Number" is NotifMsgVerErr.
        return this.feed(
          n.code === ERR_OPEN_MESSAGE && n.subcode === OPEN_UNSUPPORTED_VERSION_NUMBER
            ? { type: 'NotifMsgVerErr', notification: n }
            : { type: 'NotifMsg', notification: n },
        );
      }
      case MESSAGE_KEEPALIVE:
        return this.feed({ type: 'KeepAliveMsg' });
      case MESSAGE_ROUTE_REFRESH: {
        const r = decodeRouteRefresh(body, message);
        if (r.ok) return this.feed({ type: 'RouteRefreshMsg', message: r.message });
        return this.feed({
          type: 'RouteRefreshMsgErr',
          notification: toNotification(r.error),
          reason: 'route-refresh-error',
        });
      }
      default:
        // messageLength already refused unknown types; kept for the compiler.
        return;
    }
  }

  private onOpen(body: Buffer): void {
    const r = decodeOpen(body);
    if (!r.ok) {
      this.log('warn', 'open-error', {
        peer: this.opts.peerAddress,
        code: r.error.code,
        reason: r.error.reason,
      });
      return this.feed({
        type: 'BGPOpenMsgErr',
        notification: toNotification(r.error),
        reason: 'open-error',
      });
    }
    // Outside OpenSent an OPEN is unexpected whatever it says: the FSM answers with the RFC 6608 error.
    if (this.fsm.state !== 'OpenSent') return this.feed({ type: 'BGPOpen', open: r.message });
    const bad = validateOpen(r.message, this.opts.expect);
    if (bad !== undefined) {
      this.log('warn', 'open-error', { peer: this.opts.peerAddress, code: bad.code, reason: bad.reason });
      return this.feed({ type: 'BGPOpenMsgErr', notification: toNotification(bad), reason: 'open-error' });
    }
    if (this.handlers.open !== undefined && !this.handlers.open(r.message, this))
      return this.feed({ type: 'OpenCollisionDump' });
    this.feed({ type: 'BGPOpen', open: r.message });
  }

  private onUpdate(body: Buffer): void {
    const n = this.fsm.negotiated;
    // Outside Established the FSM refuses any UPDATE (RFC 6608): no need to decode it.
    if (this.fsm.state !== 'Established' || n === undefined)
      return this.feed({ type: 'UpdateMsg', update: EMPTY_UPDATE });
    const r = decodeUpdate(body, codecContext(n), this.cache);
    if (!r.ok) {
      this.log('warn', 'update-error', {
        peer: this.opts.peerAddress,
        code: r.error.code,
        reason: r.error.reason,
      });
      return this.feed({
        type: 'UpdateMsgErr',
        notification: toNotification(r.error),
        reason: 'update-error',
      });
    }
    this.counters.updatesIn++;
    if (r.message.issues.length > 0) {
      this.counters.attributeErrors += r.message.issues.length;
      for (const i of r.message.issues)
        this.log('warn', 'attribute-error', {
          peer: this.opts.peerAddress,
          action: i.action,
          code: i.code,
          attribute: i.attribute,
          reason: i.reason,
        });
    }
    this.feed({ type: 'UpdateMsg', update: r.message });
  }
}

/** A socket's address in its one spelling (`::ffff:127.0.0.1` on a dual-stack socket → `127.0.0.1`). */
export function socketAddress(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  return canonicalAddress(address) ?? address;
}
