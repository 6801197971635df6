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
  holdIdleUntil,
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
import { encodeNotification, encodeShutdownCommunication, toNotification } from './wire/notification.js';
import { encodeOpen, validateOpen, type OpenExpectations } from './wire/open.js';
import { decodeMessage } from './wire/index.js';
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
  CEASE_ADMINISTRATIVE_RESET,
  ERR_OPEN_MESSAGE,
  MESSAGE_KEEPALIVE,
  MESSAGE_NOTIFICATION,
  MESSAGE_OPEN,
  MESSAGE_ROUTE_REFRESH,
  MESSAGE_UPDATE,
  OPEN_UNSUPPORTED_VERSION_NUMBER,
  TYPE_OFFSET,
} from './wire/iana.js';
import type { CodecContext } from './wire/types.js';

const EMPTY_UPDATE: UpdateMessage = {
  type: MESSAGE_UPDATE,
  withdrawn: [],
  reach: [],
  attributes: null,
  issues: [],
};
/** How long a closing socket may take to flush its last NOTIFICATION before it is destroyed. */
export const CLOSE_GRACE_MS = 2000;
/** How many octets of a message that made the session fail are logged (as hex). */
export const FAULT_BYTES_LOGGED = 64;
/** The codec context before a session is negotiated (only UPDATE uses one, and only in Established). */
const NO_CONTEXT: CodecContext = { fourOctetAs: false, ibgp: false };

/** What the owner (the speaker's peer) is told. All optional; all called synchronously. */
export interface SessionHandlers {
  state?(change: StateChange, s: Session): void;
  established?(negotiated: Negotiated, s: Session): void;
  down?(reason: TransitionReason, s: Session): void;
  message?(m: UpdateMessage | RouteRefreshMessage, s: Session): void;
  /** The socket sent everything it held after a write had to queue ('drain'): export may go on. */
  drain?(s: Session): void;
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

  /** Damping (damping.ts): in Idle, no automatic restart before `until` (ms on the session's clock). */
  holdIdle(until: number): void {
    this.fsm = holdIdleUntil(this.fsm, until);
    if (!this.running) this.arm(); // inside a step, `feed` arms once the step is done
  }

  /** Hand an accepted connection to this session (TcpConnectionConfirmed). */
  accept(socket: net.Socket): void {
    this.attach(socket, false);
    this.feed({ type: 'TcpConnectionConfirmed' });
    if (this.fsm.state !== 'OpenSent') this.dropSocket(socket); // the FSM did not take it (e.g. Idle)
  }

  /**
   * Octets written but not yet handed to the kernel (the socket's `writableLength`): the owner pauses export
   * above its high-water mark and resumes on `drain` (out-queue.ts).
   */
  get backlog(): number {
    return this.socket?.writableLength ?? 0;
  }

  /** Send encoded messages (UPDATEs, ROUTE-REFRESH) in one coalesced write; only in Established. */
  send(buffers: readonly Buffer[], updates = buffers.length): boolean {
    if (this.fsm.state !== 'Established' || this.socket === undefined) return false;
    // One write per batch, not one per message: a catch-up slice of 2048 one-route UPDATEs (a route reflector's
    // clients each send their own attributes) was 2048 entries queued in the socket, then a writev of 2048
    // chunks; one copy into one buffer costs less than that (issue 13).
    if (buffers.length === 1) this.write(buffers[0]!);
    else if (buffers.length > 1) this.write(Buffer.concat(buffers), buffers.length);
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
          error: errorText(err),
        });
        // The owner failed half-way through a received message (its routes may be half applied): this
        // session, and only this one, is reset — run after the current event, as any event fed from a handler.
        if (a.type === 'deliver') this.queue.push(internalErrorStop(a.message.type));
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
      if (this.socket !== socket) return;
      this.receive(chunk);
      // One chunk per event-loop turn and session: libuv reads up to 32 chunks (2 MB, half a full table)
      // in one turn, and until the turn ends nothing else runs — the FIB's writes waited ~10 s of a 1M load.
      if (this.socket === socket && !socket.isPaused()) {
        socket.pause();
        setImmediate(() => this.socket === socket && socket.resume());
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.socket === socket) this.lost(socket, err.code ?? err.message);
    });
    socket.on('drain', () => {
      if (this.socket === socket) this.handlers.drain?.(this);
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

  /** `b` holds `messages` whole messages. */
  private write(b: Buffer, messages = 1): void {
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
    // false = queued in user space beyond the socket's own mark; 'drain' follows, and the owner's export
    // watches `backlog` against its high-water mark rather than each write's answer.
    s.write(b);
    this.counters.messagesOut += messages;
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
      try {
        this.dispatch(message);
      } catch (err) {
        // A bug of ours on this message, not an input error (the codec reports those as values): reset this
        // session only. Nothing may escape a socket callback — it would be the whole process's uncaughtException.
        this.fault(message, err);
        break;
      }
    }
    this.inbox = off >= this.inbox.length ? Buffer.alloc(0) : this.inbox.subarray(off);
  }

  /** An exception while handling `message`: log it with the message's first octets, reset the session. */
  private fault(message: Buffer, err: unknown): void {
    this.log('error', 'message-failed', {
      peer: this.opts.peerAddress,
      messageType: message[TYPE_OFFSET] ?? 0,
      length: message.length,
      bytes: message.subarray(0, FAULT_BYTES_LOGGED).toString('hex'),
      error: errorText(err),
    });
    if (this.fsm.state === 'Idle') return; // already down (AutomaticStop in Idle would cancel the restart)
    try {
      this.feed(internalErrorStop(message[TYPE_OFFSET] ?? 0));
    } catch (again) {
      // Even the reset failed: drop the connection without a word rather than leave it half handled.
      this.log('error', 'handler-error', {
        peer: this.opts.peerAddress,
        action: 'reset',
        error: errorText(again),
      });
      const s = this.socket;
      if (s !== undefined) this.lost(s, 'internal error');
    }
  }

  private headerError(err: BgpError): void {
    this.log('warn', 'header-error', { peer: this.opts.peerAddress, code: err.code, reason: err.reason });
    this.feed({ type: 'BGPHeaderErr', notification: toNotification(err), reason: 'header-error' });
  }

  /**
   * Every message goes through the codec's one guarded entry point (`decodeMessage`, which turns a decoder
   * exception into an error value); only an UPDATE outside Established is not decoded (the FSM refuses it).
   */
  private dispatch(message: Buffer): void {
    const type = message[TYPE_OFFSET];
    const n = this.fsm.negotiated;
    if (type === MESSAGE_UPDATE && (this.fsm.state !== 'Established' || n === undefined))
      return this.feed({ type: 'UpdateMsg', update: EMPTY_UPDATE });
    const r = decodeMessage(message, n !== undefined ? codecContext(n) : NO_CONTEXT, this.cache);
    if (!r.ok) return this.decodeError(type, r.error);
    const m = r.message;
    switch (m.type) {
      case MESSAGE_OPEN:
        return this.onOpen(m);
      case MESSAGE_UPDATE:
        return this.onUpdate(m);
      case MESSAGE_NOTIFICATION:
        this.log('warn', 'notification-received', {
          peer: this.opts.peerAddress,
          code: m.code,
          subcode: m.subcode,
        });
        // RFC 4271 §8.1.2 event 24: a NOTIFICATION with "Unsupported Version Number" is NotifMsgVerErr.
        return this.feed(
          m.code === ERR_OPEN_MESSAGE && m.subcode === OPEN_UNSUPPORTED_VERSION_NUMBER
            ? { type: 'NotifMsgVerErr', notification: m }
            : { type: 'NotifMsg', notification: m },
        );
      case MESSAGE_KEEPALIVE:
        return this.feed({ type: 'KeepAliveMsg' });
      case MESSAGE_ROUTE_REFRESH:
        return this.feed({ type: 'RouteRefreshMsg', message: m });
      default: {
        const never: never = m;
        throw new Error(`unknown message ${JSON.stringify(never)}`);
      }
    }
  }

  /** A message the codec refused: the FSM event of its type, which sends the NOTIFICATION the RFC prescribes. */
  private decodeError(type: number | undefined, error: BgpError): void {
    const fields = { peer: this.opts.peerAddress, code: error.code, reason: error.reason };
    const notification = toNotification(error);
    switch (type) {
      case MESSAGE_OPEN:
        this.log('warn', 'open-error', fields);
        return this.feed({ type: 'BGPOpenMsgErr', notification, reason: 'open-error' });
      case MESSAGE_UPDATE:
        this.log('warn', 'update-error', fields);
        return this.feed({ type: 'UpdateMsgErr', notification, reason: 'update-error' });
      case MESSAGE_ROUTE_REFRESH:
        return this.feed({ type: 'RouteRefreshMsgErr', notification, reason: 'route-refresh-error' });
      default:
        this.log('warn', 'header-error', fields);
        return this.feed({ type: 'BGPHeaderErr', notification, reason: 'header-error' });
    }
  }

  private onOpen(open: OpenMessage): void {
    // Outside OpenSent an OPEN is unexpected whatever it says: the FSM answers with the RFC 6608 error.
    if (this.fsm.state !== 'OpenSent') return this.feed({ type: 'BGPOpen', open });
    const bad = validateOpen(open, this.opts.expect);
    if (bad !== undefined) {
      this.log('warn', 'open-error', { peer: this.opts.peerAddress, code: bad.code, reason: bad.reason });
      return this.feed({ type: 'BGPOpenMsgErr', notification: toNotification(bad), reason: 'open-error' });
    }
    if (this.handlers.open !== undefined && !this.handlers.open(open, this))
      return this.feed({ type: 'OpenCollisionDump' });
    this.feed({ type: 'BGPOpen', open });
  }

  private onUpdate(update: UpdateMessage): void {
    this.counters.updatesIn++;
    if (update.issues.length > 0) {
      this.counters.attributeErrors += update.issues.length;
      for (const i of update.issues)
        this.log('warn', 'attribute-error', {
          peer: this.opts.peerAddress,
          action: i.action,
          code: i.code,
          attribute: i.attribute,
          reason: i.reason,
        });
    }
    this.feed({ type: 'UpdateMsg', update });
  }
}

/**
 * The reset after an exception of ours while handling a message: Cease 6/4 Administrative Reset (no
 * NOTIFICATION code says "internal error"; RFC 9003 lets its Shutdown Communication say it in words), and the
 * session restarts on its own after the idle hold time.
 */
function internalErrorStop(messageType: number): FsmEvent {
  return {
    type: 'AutomaticStop',
    subcode: CEASE_ADMINISTRATIVE_RESET,
    data: encodeShutdownCommunication(`internal error handling a message of type ${messageType}`),
    reason: 'internal-error',
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/** A socket's address in its one spelling (`::ffff:127.0.0.1` on a dual-stack socket → `127.0.0.1`). */
export function socketAddress(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  return canonicalAddress(address) ?? address;
}
