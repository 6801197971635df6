/**
 * The BFD IO shell: the manager (manager.ts) with real sockets and one real timer, on whatever thread creates
 * it — the daemon runs it in a process of its own (child.ts) so that a busy main thread never delays a
 * packet; tests may run it in-process.
 *
 *   receive  UDP 3784 (single hop, RFC 5881) and 4784 (multihop, RFC 5883), IPv4 and IPv6, each datagram with
 *            the TTL it arrived with (sys/udp.ts: IP_RECVTTL / IPV6_RECVHOPLIMIT)
 *   send     from a port in 49152-65535 (RFC 5881 §4), one socket per family, local address and hop mode,
 *            always with TTL 255 (RFC 5881 §5, RFC 5883 §5)
 *
 * A timer that fires late reads every receive socket before it judges the deadlines: libuv runs timers
 * before polling for I/O, and a thread kept off the CPU for longer than a Detection Time would otherwise
 * call down a peer whose packets are already waiting in our socket.
 *
 * Receive sockets are opened when the first session that needs one is added. A socket error never ends the
 * engine: it is reported through `onError` and the session's timers go on (and declare the peer down if the
 * error persists).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { libc, type Libc } from '../sys/libc.js';
import { AF_INET, AF_INET6, openUdp, type UdpSocket } from '../sys/udp.js';
import { familyOf } from '../sys/sockaddr.js';
import {
  BfdManager,
  MULTIHOP_PORT,
  SINGLE_HOP_PORT,
  type BfdPeerConfig,
  type BfdSessionView,
  type Output,
  type StateChange,
} from './manager.js';

export interface EngineOptions {
  readonly onChange: (c: StateChange) => void;
  readonly onError?: (message: string) => void;
  /** Milliseconds on a monotonic clock (default performance.now). */
  readonly clock?: () => number;
  readonly random?: () => number;
  /** Where to listen (default every address); tests bind loopback addresses. */
  readonly listen?: { readonly ipv4?: string; readonly ipv6?: string };
  /** Override the well-known ports (tests). */
  readonly ports?: { readonly singleHop: number; readonly multihop: number };
  /**
   * Scheduling for the calling thread (default: unchanged). The BFD process asks for SCHED_RR priority 10, or nice
   * -10 where real-time scheduling is not allowed: on a loaded machine a BFD packet 300 ms late is a false
   * failure, and the thread needs microseconds per packet (the kernel's RT throttling bounds it anyway).
   */
  readonly priority?: { readonly realtime: number; readonly nice: number };
}

export interface EngineSnapshot {
  readonly sessions: BfdSessionView[];
  /** Received packets that matched no session or failed a check, by reason. */
  readonly discards: Record<string, number>;
  /** How late the engine's timer fired at worst, and how often by more than 50 ms (a starved thread). */
  readonly timerLateMaxMs: number;
  readonly timerLate50ms: number;
  /** Every timer firing by how late it was: `le5` (≤ 5 ms), `le20`, `le50`, `le100`, `le200`, `over200`. */
  readonly timerLate: Readonly<Record<string, number>>;
  /**
   * Of the worst-late firing, how long the thread had been runnable but not running since the timer before
   * (/proc/thread-self/schedstat): near the lateness itself, the OS kept it off the CPU (other processes,
   * a kernel without preemption busy elsewhere); near 0, its own event loop was busy.
   */
  readonly timerLateRunqueueMs: number;
  /** The thread's scheduling, when one was asked for: `SCHED_RR 10`, `nice -10`. */
  readonly scheduling?: string;
}

/** Upper bounds (ms) of the lateness buckets; the last one takes the rest. */
const LATE_BUCKETS = [
  { name: 'le5', max: 5 },
  { name: 'le20', max: 20 },
  { name: 'le50', max: 50 },
  { name: 'le100', max: 100 },
  { name: 'le200', max: 200 },
  { name: 'over200', max: Infinity },
] as const;

interface RunqueueClock {
  /** Total time this thread has waited runnable on a run queue, ms. */
  waitedMs(): number;
  close(): void;
}

/** The calling thread's run-queue wait (schedstat field 2), or undefined where /proc does not have it. */
function runqueueClock(): RunqueueClock | undefined {
  let fd: number;
  try {
    fd = openSync('/proc/thread-self/schedstat', 'r');
  } catch {
    return undefined;
  }
  const buf = Buffer.alloc(96);
  return {
    waitedMs() {
      try {
        const n = readSync(fd, buf, 0, buf.length, 0);
        const f = buf.toString('latin1', 0, n).split(' ');
        return Number(f[1]) / 1e6;
      } catch {
        return 0;
      }
    },
    close: () => closeSync(fd),
  };
}

const SCHED_RR = 2;

/** SCHED_RR at `realtime`, else nice `nice`, for the calling thread; what was set, or undefined. */
function prioritize(
  c: Libc,
  p: { realtime: number; nice: number },
  error: (m: string) => void,
): string | undefined {
  const tid = c.gettid();
  const param = Buffer.alloc(4);
  param.writeInt32LE(p.realtime, 0);
  if (c.sched_setscheduler(tid, SCHED_RR, param) === 0) return `SCHED_RR ${p.realtime}`;
  if (c.setpriority(0, tid, p.nice) === 0) return `nice ${p.nice}`;
  error(`bfd: cannot raise the BFD thread's priority (errno ${c.errno()}); it runs at the default`);
  return undefined;
}

export class BfdEngine {
  private readonly c: Libc;
  private readonly m: BfdManager;
  private readonly clock: () => number;
  private readonly rx = new Map<string, UdpSocket>();
  private readonly tx = new Map<string, UdpSocket>();
  private timer: NodeJS.Timeout | undefined;
  private armedFor: number | undefined;
  private closed = false;
  private readonly reported = new Set<string>();
  private lateMax = 0;
  private late50 = 0;
  private readonly lateCounts = LATE_BUCKETS.map(() => 0);
  private runqueue: RunqueueClock | undefined;
  private runqueueAtLastTimer = 0;
  private runqueueWorstMs = 0;
  private scheduling: string | undefined;

  constructor(private readonly o: EngineOptions) {
    const c = libc();
    if (c instanceof Error) throw c;
    this.c = c;
    this.clock = o.clock ?? (() => performance.now());
    this.m = new BfdManager(o.random);
    if (o.priority !== undefined) this.scheduling = prioritize(c, o.priority, (m) => this.error(m));
    this.runqueue = runqueueClock();
    this.runqueueAtLastTimer = this.runqueue?.waitedMs() ?? 0;
  }

  /** Add a session or change its timers. */
  set(config: BfdPeerConfig): void {
    const family = familyOf(config.peer);
    if (family === undefined) return this.error(`bfd: ${config.peer} is not an IP address`);
    this.openRx(family, config.multihop === true);
    this.run(this.m.set(config, this.clock()));
  }

  /** Remove a session (AdminDown is sent to the peer for a while first). */
  remove(peer: string, multihop: boolean): void {
    this.run(this.m.remove(peer, multihop, this.clock()));
  }

  snapshot(): EngineSnapshot {
    return {
      sessions: this.m.views(this.clock()),
      discards: Object.fromEntries(this.m.discards),
      timerLateMaxMs: Math.round(this.lateMax * 10) / 10,
      timerLate50ms: this.late50,
      timerLate: Object.fromEntries(LATE_BUCKETS.map((b, i) => [b.name, this.lateCounts[i]!])),
      timerLateRunqueueMs: Math.round(this.runqueueWorstMs * 10) / 10,
      ...(this.scheduling !== undefined ? { scheduling: this.scheduling } : {}),
    };
  }

  /** Close every socket; no more packets, no more events. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const s of [...this.rx.values(), ...this.tx.values()]) s.close();
    this.rx.clear();
    this.tx.clear();
    this.runqueue?.close();
    this.runqueue = undefined;
  }

  // ---- Internals ------------------------------------------------------------------------------------------

  private run(out: Output): void {
    if (this.closed) return;
    for (const d of out.send) {
      const family = familyOf(d.peer);
      if (family === undefined) continue;
      const sock = this.txSocket(family, d.local, d.multihop);
      if (sock === undefined) continue;
      const port = d.multihop
        ? (this.o.ports?.multihop ?? MULTIHOP_PORT)
        : (this.o.ports?.singleHop ?? SINGLE_HOP_PORT);
      const err = sock.send(d.bytes, d.peer, port);
      if (err !== undefined) this.errorOnce(`send:${d.peer}`, `bfd: sending to ${d.peer}: ${err.message}`);
      else this.reported.delete(`send:${d.peer}`);
    }
    for (const c of out.changes) this.o.onChange(c);
    this.arm();
  }

  private arm(): void {
    const due = this.m.nextDeadline();
    if (due === this.armedFor && this.timer !== undefined) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = due;
    if (due === undefined || this.closed) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.armedFor = undefined;
        const late = this.clock() - due;
        this.noteLate(late);
        // Packets that queued while this thread was kept off the CPU are read before the deadlines are
        // judged: libuv runs timers before the poll phase, so a late detection timer would otherwise call a
        // peer down whose packets are already in our socket.
        for (const s of this.rx.values()) s.drain();
        this.run(this.m.expire(this.clock()));
      },
      Math.max(0, due - this.clock()),
    );
  }

  private noteLate(late: number): void {
    const waited = this.runqueue?.waitedMs() ?? 0;
    const runqueue = waited - this.runqueueAtLastTimer;
    this.runqueueAtLastTimer = waited;
    if (late > this.lateMax) {
      this.lateMax = late;
      this.runqueueWorstMs = runqueue;
    }
    if (late > 50) this.late50++;
    let i = 0;
    while (late > LATE_BUCKETS[i]!.max) i++;
    this.lateCounts[i]!++;
  }

  private openRx(family: number, multihop: boolean): void {
    const key = `${family}|${multihop}`;
    if (this.rx.has(key)) return;
    const address = family === AF_INET ? this.o.listen?.ipv4 : this.o.listen?.ipv6;
    const port = multihop
      ? (this.o.ports?.multihop ?? MULTIHOP_PORT)
      : (this.o.ports?.singleHop ?? SINGLE_HOP_PORT);
    const s = openUdp(this.c, {
      family: family === AF_INET ? AF_INET : AF_INET6,
      port,
      recvTtl: true,
      ...(address !== undefined ? { address } : {}),
    });
    if (s instanceof Error)
      return this.errorOnce(`rx:${key}`, `bfd: cannot listen on port ${port}: ${s.message}`);
    this.rx.set(key, s);
    s.receive(
      (d) => this.run(this.m.receive(d.bytes, { address: d.address, multihop, ttl: d.ttl }, this.clock())),
      (e) => this.errorOnce(`rx:${key}`, `bfd: receiving on port ${port}: ${e.message}`),
    );
  }

  private txSocket(family: number, local: string | undefined, multihop: boolean): UdpSocket | undefined {
    const key = `${family}|${local ?? ''}|${multihop}`;
    const existing = this.tx.get(key);
    if (existing !== undefined) return existing;
    const s = openUdp(this.c, {
      family: family === AF_INET ? AF_INET : AF_INET6,
      port: { from: 49152, to: 65535 },
      ttl: 255,
      ...(local !== undefined ? { address: local } : {}),
    });
    if (s instanceof Error) {
      this.errorOnce(
        `tx:${key}`,
        `bfd: cannot open a socket to send from ${local ?? 'any address'}: ${s.message}`,
      );
      return undefined;
    }
    this.tx.set(key, s);
    return s;
  }

  private errorOnce(key: string, message: string): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.error(message);
  }

  private error(message: string): void {
    this.o.onError?.(message);
  }
}
