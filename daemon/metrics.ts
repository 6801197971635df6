/**
 * Prometheus metrics (prom-client), in a registry of their own so tests and several daemons in one process
 * never share state. The speaker and the FIB keep their own counters; on each scrape the daemon calls
 * `updateFromStatus(speaker.peers(), fib.stats())` and then `render()`. Peer-labelled series are deleted when
 * the peer is gone, so a removed peer stops being exported instead of freezing at its last value.
 *
 *   nodebgp_bgp_session_state{peer}                 1 Idle, 2 Connect, 3 Active, 4 OpenSent, 5 OpenConfirm,
 *                                                   6 Established
 *   nodebgp_bgp_session_established_total{peer}     sessions established since start
 *   nodebgp_bgp_messages_{received,sent}_total{peer}
 *   nodebgp_bgp_updates_{received,sent}_total{peer}
 *   nodebgp_bgp_prefixes_{received,accepted,advertised}{peer}
 *   nodebgp_fib_routes{state="wanted|installed|failed|pending|unresolvable|stale"}
 *   nodebgp_fib_reconcile_duration_seconds          histogram, observed by the daemon per FIB reconcile
 *   nodebgp_convergence_seconds{phase}              histogram, observed by daemon.ts: phase="startup" (BGP
 *                                                   started → the routes learned at start are in the kernel:
 *                                                   End-of-RIB from every peer, or the stale grace time, and
 *                                                   the FIB flushed), "peer" (a session Established → the
 *                                                   routes it sent before its End-of-RIB are in the kernel)
 *   nodebgp_kubernetes_api_connected                1 while the node watch is up
 *   nodebgp_bfd_session_state{peer}                 RFC 5880 state: 0 AdminDown, 1 Down, 2 Init, 3 Up
 *   nodebgp_bfd_session_down_total{peer}            BFD Up → Down transitions (each one took BGP down)
 *   nodebgp_bfd_packets_{received,sent}_total{peer}
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PeerStatus, SessionState } from '../bgp/api.js';

export const SESSION_STATE_VALUE: Readonly<Record<SessionState, number>> = {
  Idle: 1,
  Connect: 2,
  Active: 3,
  OpenSent: 4,
  OpenConfirm: 5,
  Established: 6,
};

/** The FIB mirror's counts (routing/fib.ts `FibStats` fits); the optional ones are exported when given. */
export interface FibStats {
  readonly wanted: number;
  readonly installed: number;
  readonly failed: number;
  readonly pending?: number;
  readonly unresolvable?: number;
  readonly stale?: number;
}

const FIB_STATES = ['wanted', 'installed', 'failed', 'pending', 'unresolvable', 'stale'] as const;

export interface MetricsOptions {
  /** Also export the Node.js process metrics (CPU, memory, event-loop lag) as nodebgp_process_* (default true). */
  readonly processMetrics?: boolean;
}

type PeerCounterName = 'messagesIn' | 'messagesOut' | 'updatesIn' | 'updatesOut' | 'establishedCount';

/** A peer's BFD session as daemon/peering.ts adds it to PeerStatus. */
interface PeerBfd {
  readonly state: string;
  readonly downCount: number;
  readonly rx: number;
  readonly tx: number;
}

const BFD_STATE_VALUE: Readonly<Record<string, number>> = { AdminDown: 0, Down: 1, Init: 2, Up: 3 };

export interface Metrics {
  readonly registry: Registry;
  readonly sessionState: Gauge<'peer'>;
  readonly sessionsEstablished: Counter<'peer'>;
  readonly messagesReceived: Counter<'peer'>;
  readonly messagesSent: Counter<'peer'>;
  readonly updatesReceived: Counter<'peer'>;
  readonly updatesSent: Counter<'peer'>;
  readonly prefixesReceived: Gauge<'peer'>;
  readonly prefixesAccepted: Gauge<'peer'>;
  readonly prefixesAdvertised: Gauge<'peer'>;
  readonly fibRoutes: Gauge<'state'>;
  readonly reconcileDuration: Histogram;
  readonly convergence: Histogram<'phase'>;
  readonly kubernetesConnected: Gauge;
  readonly bfdSessionState: Gauge<'peer'>;
  readonly bfdDowns: Counter<'peer'>;
  readonly bfdReceived: Counter<'peer'>;
  readonly bfdSent: Counter<'peer'>;
  /** RFC 4724 helper: paths kept stale from a restarting peer. */
  readonly stalePaths: Gauge<'peer'>;
  /** Graceful restarts of the peer that we helped (its paths kept). */
  readonly gracefulRestarts: Counter<'peer'>;
  /** Sets every peer and FIB series from the speaker's and the FIB's own numbers; drops peers not listed. */
  updateFromStatus(peers: readonly (PeerStatus & { readonly bfd?: PeerBfd })[], fib?: FibStats): void;
  /** Deletes every series of one peer. */
  removePeer(peer: string): void;
  /** The text exposition format. */
  render(): Promise<string>;
  readonly contentType: string;
}

type Handles = Omit<Metrics, 'registry' | 'updateFromStatus' | 'removePeer' | 'render' | 'contentType'>;

/** The metric objects, registered in `registry`. */
function createHandles(registry: Registry): Handles {
  const registers = [registry];
  const peerGauge = (name: string, help: string) =>
    new Gauge({ name, help, labelNames: ['peer'], registers });
  const peerCounter = (name: string, help: string) =>
    new Counter({ name, help, labelNames: ['peer'], registers });
  return {
    sessionState: peerGauge('nodebgp_bgp_session_state', 'BGP session state (1 Idle .. 6 Established)'),
    sessionsEstablished: peerCounter(
      'nodebgp_bgp_session_established_total',
      'Sessions established since start',
    ),
    messagesReceived: peerCounter('nodebgp_bgp_messages_received_total', 'BGP messages received'),
    messagesSent: peerCounter('nodebgp_bgp_messages_sent_total', 'BGP messages sent'),
    updatesReceived: peerCounter('nodebgp_bgp_updates_received_total', 'UPDATE messages received'),
    updatesSent: peerCounter('nodebgp_bgp_updates_sent_total', 'UPDATE messages sent'),
    prefixesReceived: peerGauge('nodebgp_bgp_prefixes_received', 'Prefixes in the Adj-RIB-In of the peer'),
    prefixesAccepted: peerGauge(
      'nodebgp_bgp_prefixes_accepted',
      'Received prefixes the import policy accepted',
    ),
    prefixesAdvertised: peerGauge(
      'nodebgp_bgp_prefixes_advertised',
      'Prefixes in the Adj-RIB-Out of the peer',
    ),
    fibRoutes: new Gauge({
      name: 'nodebgp_fib_routes',
      help: 'Kernel routes of ours by state: wanted, installed, failed, pending, unresolvable, stale',
      labelNames: ['state'],
      registers,
    }),
    reconcileDuration: new Histogram({
      name: 'nodebgp_fib_reconcile_duration_seconds',
      help: 'Time to reconcile the kernel table with the wanted routes',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    convergence: new Histogram({
      name: 'nodebgp_convergence_seconds',
      help: 'Convergence by phase (startup: BGP start until the routes learned at start are in the kernel; peer: a session Established until the routes it sent before End-of-RIB are in the kernel)',
      labelNames: ['phase'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers,
    }),
    kubernetesConnected: new Gauge({
      name: 'nodebgp_kubernetes_api_connected',
      help: '1 while the watch of Node objects is connected to the API server',
      registers,
    }),
    bfdSessionState: peerGauge(
      'nodebgp_bfd_session_state',
      'BFD session state (0 AdminDown, 1 Down, 2 Init, 3 Up)',
    ),
    bfdDowns: peerCounter('nodebgp_bfd_session_down_total', 'BFD sessions that went from Up to Down'),
    bfdReceived: peerCounter('nodebgp_bfd_packets_received_total', 'BFD Control packets received'),
    bfdSent: peerCounter('nodebgp_bfd_packets_sent_total', 'BFD Control packets sent'),
    stalePaths: peerGauge(
      'nodebgp_bgp_stale_paths',
      'Paths kept stale from a peer that restarts (graceful restart helper)',
    ),
    gracefulRestarts: peerCounter(
      'nodebgp_bgp_graceful_restarts_total',
      'Session drops of the peer taken as a graceful restart (its paths kept stale)',
    ),
  };
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const handles = createHandles(registry);
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'nodebgp_' });
  const counters: [PeerCounterName, Counter<'peer'>][] = [
    ['messagesIn', handles.messagesReceived],
    ['messagesOut', handles.messagesSent],
    ['updatesIn', handles.updatesReceived],
    ['updatesOut', handles.updatesSent],
    ['establishedCount', handles.sessionsEstablished],
  ];
  const peerMetrics = [
    handles.sessionState,
    handles.prefixesReceived,
    handles.prefixesAccepted,
    handles.prefixesAdvertised,
    ...counters.map(([, c]) => c),
    handles.bfdSessionState,
    handles.bfdDowns,
    handles.bfdReceived,
    handles.bfdSent,
    handles.stalePaths,
    handles.gracefulRestarts,
  ];
  const sync = new CounterSync();
  const known = new Set<string>();

  const removePeer = (peer: string): void => {
    for (const m of peerMetrics) m.remove({ peer });
    sync.forget(peer);
    known.delete(peer);
  };

  const updateFromStatus: Metrics['updateFromStatus'] = (peers, fib) => {
    const present = new Set<string>();
    for (const p of peers) {
      const labels = { peer: p.address };
      present.add(p.address);
      known.add(p.address);
      handles.sessionState.set(labels, SESSION_STATE_VALUE[p.state]);
      handles.prefixesReceived.set(labels, p.received);
      handles.prefixesAccepted.set(labels, p.accepted);
      handles.prefixesAdvertised.set(labels, p.advertised);
      for (const [field, counter] of counters) sync.set(counter, p.address, field, p[field]);
      const gr = p.gracefulRestart;
      if (gr !== undefined) {
        handles.stalePaths.set(labels, gr.stale);
        sync.set(handles.gracefulRestarts, p.address, 'gracefulRestarts', gr.restarts);
      }
      const bfd = p.bfd;
      if (bfd !== undefined && bfd.state in BFD_STATE_VALUE) {
        handles.bfdSessionState.set(labels, BFD_STATE_VALUE[bfd.state]!);
        sync.set(handles.bfdDowns, p.address, 'bfdDowns', bfd.downCount);
        sync.set(handles.bfdReceived, p.address, 'bfdRx', bfd.rx);
        sync.set(handles.bfdSent, p.address, 'bfdTx', bfd.tx);
      }
    }
    for (const peer of [...known]) if (!present.has(peer)) removePeer(peer);
    if (fib !== undefined)
      for (const state of FIB_STATES) {
        const value = fib[state];
        if (value !== undefined) handles.fibRoutes.set({ state }, value);
      }
  };

  return {
    registry,
    ...handles,
    updateFromStatus,
    removePeer,
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}

/**
 * Mirrors a total kept elsewhere into a prom-client Counter (which only increments): adds the difference
 * since the last scrape; a smaller total means the source restarted from zero, so the series restarts too
 * (Prometheus' rate() treats a drop as a counter reset).
 */
class CounterSync {
  private readonly last = new Map<string, number>();

  set(counter: Counter<'peer'>, peer: string, field: string, total: number): void {
    const key = `${peer}\u0000${field}`;
    const before = this.last.get(key) ?? 0;
    if (total < before) {
      counter.remove({ peer });
      if (total > 0) counter.inc({ peer }, total);
    } else if (total > before) counter.inc({ peer }, total - before);
    else if (!this.last.has(key)) counter.inc({ peer }, 0);
    this.last.set(key, total);
  }

  forget(peer: string): void {
    for (const key of [...this.last.keys()]) if (key.startsWith(`${peer}\u0000`)) this.last.delete(key);
  }
}
