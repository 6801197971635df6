/**
 * The thin IO shell around the pure FSM (`fsm.ts`): one `net.Socket`, framing with the codec's
 * `messageLength`, decoding, ONE real timer armed for the FSM's earliest deadline, and the execution of the
 * FSM's actions. `Date.now()` is read only here, through an injectable clock.
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
} from './fsm.js';
import type { SessionState } from './api.js';
import { codecContext } from './negotiate.js';
import type { BgpError } from './wire/errors.js';
import { messageLength } from './wire/header.js';
import { encodeKeepalive } from './wire/keepalive.js';
import { decodeNotification, encodeNotification, toNotification } from './wire/notification.js';
import { decodeOpen, encodeOpen, validateOpen, type OpenExpectations } from './wire/open.js';
import { decodeRouteRefresh } from './wire/route-refresh.js';
import { decodeUpdate } from './wire/update.js';
import { AttributeCache } from './wire/cache.js';
import type { NotificationMessage, OpenMessage, RouteRefreshMessage, UpdateMessage } from './wire/types.js';
import { nodeTransport, type Transport } from './transport.js';

const HEADER = 19;
const EMPTY_UPDATE: UpdateMessage = { type: 2, withdrawn: [], reach: [], attributes: null, issues: [] };
/** How long a closing socket may take to flush its last NOTIFICATION before it is destroyed. */
const CLOSE_GRACE_MS = 2000;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What the owner (the speaker's peer) is told. All optional; all called synchronously. */
export interface SessionHandlers {
  state?(from: SessionState, to: SessionState, reason: string, s: Session): void;
  established?(negotiated: Negotiated, s: Session): void;
  down?(reason: string, s: Session): void;
  message?(m: UpdateMessage | RouteRefreshMessage, s: Session): void;
  /**
   * An acceptable OPEN arrived in OpenSent (RFC 4271 §6.8): return false to dump this connection as the
   * loser of a connection collision (the FSM then sends Cease 6/7).
   */
  open?(open: OpenMessage, s: Session): boolean;
  log?(level: LogLevel, event: string, fields: Record<string, unknown>): void;
}

export interface SessionOptions {
  readonly fsm: FsmConfig;
  readonly peerAddress: string;
  /** Peer TCP port (default 179). */
  readonly port?: number;
  /** Source address for our connections. */
  readonly localAddress?: string;
  /** What the peer's OPEN must say (RFC 4271 §6.2). */
  readonly expect: OpenExpectations;
  /** Milliseconds on any clock (default `Date.now`). */
  readonly clock?: () => number;
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
  private timer: NodeJS.Timeout | undefined;
  private armedFor: number | undefined;
  private readonly queue: FsmEvent[] = [];
  private running = false;
  private corked = false;
  private disposed = false;
  private readonly clock: () => number;
  private readonly cache: AttributeCache;
  readonly counters: SessionCounters;
  /** Our address and port on the current (or last) connection. */
  localAddress: string | undefined;
  localPort: number | undefined;

  constructor(
    readonly opts: SessionOptions,
    private readonly handlers: SessionHandlers = {},
  ) {
    this.clock = opts.clock ?? Date.now;
    this.cache = opts.cache ?? new AttributeCache();
    this.counters = opts.counters ?? {
      messagesIn: 0,
      messagesOut: 0,
      updatesIn: 0,
      updatesOut: 0,
      attributeErrors: 0,
    };
    this.fsm = initialState(opts.fsm, this.clock());
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
  stop(subcode?: number, data?: Uint8Array, reason?: string): void {
    this.feed({ type: 'ManualStop', subcode, data, reason });
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

  /** Stop everything now: no more events, no timer; the socket is ended (what was written still goes out). */
  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const s = this.socket;
    this.socket = undefined;
    if (s !== undefined) this.dropSocket(s);
  }

  // ---- FSM plumbing ---------------------------------------------------------------------------------------

  private run(e: FsmEvent): void {
    const r = step(this.fsm, e, this.clock());
    this.fsm = r.state;
    for (const a of r.actions) {
      // An owner's callback that throws must not leave the FSM half-executed or escape into a socket callback.
      try {
        this.execute(a);
      } catch (err) {
        this.log('error', 'handler-error', {
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
        this.log('debug', 'fsm-transition', { from: a.from, to: a.to, reason: a.reason });
        return this.handlers.state?.(a.from, a.to, a.reason, this);
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

  /** Arm the one real timer for the FSM's earliest deadline. */
  private arm(): void {
    if (this.disposed) return;
    const due = nextDeadline(this.fsm);
    if (due === this.armedFor && (due === undefined || this.timer !== undefined)) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = due;
    if (due === undefined) return;
    this.timer = setTimeout(() => this.fire(), Math.max(0, due - this.clock()));
    this.timer.unref?.();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = undefined;
    const events = timerEvents(this.fsm, this.clock());
    if (events.length === 0) return this.arm();
    for (const e of events) this.feed(e);
  }

  private log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
    this.handlers.log?.(level, event, { peer: this.opts.peerAddress, ...fields });
  }

  // ---- Socket ---------------------------------------------------------------------------------------------

  private connect(): void {
    this.close();
    const socket = (this.opts.transport ?? nodeTransport).connect({
      host: this.opts.peerAddress,
      port: this.opts.port ?? 179,
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
    this.log('info', 'tcp-failed', { reason });
    this.feed({ type: 'TcpConnectionFails', reason });
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
    const t = setTimeout(() => s.destroy(), CLOSE_GRACE_MS);
    t.unref?.();
    s.once('close', () => clearTimeout(t));
  }

  private sendFsmMessage(m: OpenMessage | NotificationMessage | { readonly type: 4 }): void {
    if (this.socket === undefined) return;
    if (m.type === 1) this.write(encodeOpen(m));
    else if (m.type === 4) this.write(encodeKeepalive());
    else {
      this.log('warn', 'notification-sent', { code: m.code, subcode: m.subcode });
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
    this.log('warn', 'header-error', { code: err.code, reason: err.reason });
    this.feed({ type: 'BGPHeaderErr', notification: toNotification(err), reason: 'header-error' });
  }

  private dispatch(message: Buffer): void {
    const body = message.subarray(HEADER);
    switch (message[18]) {
      case 1:
        return this.onOpen(body);
      case 2:
        return this.onUpdate(body);
      case 3: {
        const n = decodeNotification(body);
        this.log('warn', 'notification-received', { code: n.code, subcode: n.subcode });
        // RFC 4271 §8.1.2 event 24: a NOTIFICATION with "Unsupported Version Number" is NotifMsgVerErr.
        return this.feed(
          n.code === 2 && n.subcode === 1
            ? { type: 'NotifMsgVerErr', notification: n }
            : { type: 'NotifMsg', notification: n },
        );
      }
      case 4:
        return this.feed({ type: 'KeepAliveMsg' });
      case 5: {
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
      this.log('warn', 'open-error', { code: r.error.code, reason: r.error.reason });
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
      this.log('warn', 'open-error', { code: bad.code, reason: bad.reason });
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
      this.log('warn', 'update-error', { code: r.error.code, reason: r.error.reason });
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
