/**
 * What the control socket serves: plain JSON shapes shared by the server (daemon/control.ts), the client
 * (daemon/client.ts) and the CLI tables (daemon/cli/format.ts).
 */
import type { PeerStatus, RouteView as SpeakerRouteView } from '../bgp/api.js';

export type { PeerStatus } from '../bgp/api.js';

/** A Loc-RIB path as `nodebgp routes` shows it. */
export type RouteView = SpeakerRouteView & {
  /**
   * For a Service address we originate (`kubernetes.services`): the Services it belongs to and why we
   * advertise it, e.g. "default/web: externalTrafficPolicy Local: a ready endpoint on node-1".
   */
  readonly service?: string;
};
import type { BfdSessionView } from '../bfd/manager.js';

/** A peer's BFD session as `nodebgp neighbors` shows it. */
export interface NeighborBfd {
  /** RFC 5880 state (AdminDown, Down, Init, Up), or `starting` before the BFD worker has reported. */
  readonly state: string;
  readonly remoteState: string;
  /** Why it last went down, in words ('' when it never did). */
  readonly diag: string;
  readonly downCount: number;
  readonly rx: number;
  readonly tx: number;
}

/** `GET /neighbors`: the speaker's PeerStatus, its BFD session, and for a peer that is down a likely why. */
export type NeighborStatus = PeerStatus & {
  readonly bfd?: NeighborBfd;
  /** E.g. "no answer: 3 connection attempts timed out: TCP-MD5 signature mismatch?" */
  readonly hint?: string;
};

/** `GET /bfd`. */
export interface BfdView {
  /** Some peer has `bfd` configured. */
  readonly enabled: boolean;
  readonly sessions: readonly (BfdSessionView & {
    readonly localDiagText: string;
    readonly remoteDiagText: string;
  })[];
  /** Received packets that matched no session or failed a check (RFC 5880 §6.8.6), by reason. */
  readonly discards: Readonly<Record<string, number>>;
  /** How late the BFD thread's timer fired at worst (ms), and how often by over 50 ms: a starved thread. */
  readonly timerLateMaxMs: number;
  readonly timerLate50ms: number;
  /** Every firing of the BFD thread's timer by lateness: `le5`, `le20`, `le50`, `le100`, `le200`, `over200`. */
  readonly timerLate?: Readonly<Record<string, number>>;
  /** Of the worst-late firing, how long the thread waited runnable for a CPU (ms): near the lateness, starved. */
  readonly timerLateRunqueueMs?: number;
  /** The BFD thread's scheduling when raised: `SCHED_RR 10` or `nice -10`. */
  readonly scheduling?: string;
}

export type FibStatus = 'installed' | 'pending' | 'failed' | 'unresolvable';

/** One route nodebgp wants in the kernel, beside what the kernel holds for it. */
export interface FibEntryView {
  readonly prefix: string;
  /** Wanted next hops (empty for a blackhole). */
  readonly nexthops: readonly string[];
  readonly status: FibStatus;
  readonly error?: string;
  /** Ours from the previous run, wanted by nobody yet: kept until the restart's End-of-RIB sweep. */
  readonly stale?: boolean;
  /** What the kernel holds for this prefix with our protocol number, or null for nothing. */
  readonly kernel: { readonly nexthops: readonly string[]; readonly [k: string]: unknown } | null;
  readonly since: number;
}

export interface FibView {
  /** false when kernel.enabled is false: nothing is installed and `entries` is empty. */
  readonly enabled: boolean;
  readonly entries: readonly FibEntryView[];
  readonly stats?: Readonly<Record<string, unknown>>;
}

export interface StatusView {
  readonly version: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly asn: number;
  readonly routerId: string;
  readonly listen: string;
  readonly nodeAddress: string;
  readonly nodeAddress6?: string;
  readonly podCIDRs: readonly string[];
  readonly peers: { readonly configured: number; readonly established: number };
  readonly routes: { readonly prefixes: number; readonly paths: number };
  readonly fib: {
    readonly enabled: boolean;
    readonly installed: number;
    readonly pending: number;
    readonly failed: number;
    readonly unresolvable: number;
  };
  readonly config: string;
  /** Present when the Kubernetes node source is enabled. */
  readonly kubernetes?: KubernetesStatusView;
}

/** The Kubernetes node source as `nodebgp status` shows it. */
export interface KubernetesStatusView {
  readonly nodeName: string;
  /** The Node watch is up. */
  readonly connected: boolean;
  /** The last API error (kept after reconnecting, for the record). */
  readonly lastError?: string;
  /** What we wait for (e.g. our Node has no spec.podCIDRs yet). */
  readonly waiting?: string;
  /** Where the advertised pod CIDRs come from: the Node's spec.podCIDRs or the file's node.podCIDRs. */
  readonly podCIDRsSource: 'node' | 'config';
  readonly nodePodCIDRs: readonly string[];
  readonly nodes: number;
  readonly problems: number;
  readonly routeReflectorClusterId?: string;
  /** With `kubernetes.services`. */
  readonly services?: ServicesStatusView;
}

/** The Service addresses this node considers, as `nodebgp status` shows them. */
export interface ServicesStatusView {
  /** The Service and EndpointSlice watches are up. */
  readonly connected: boolean;
  /** Both kinds have been listed once (before that nothing is advertised). */
  readonly listed: boolean;
  readonly services: number;
  readonly endpointSlices: number;
  /** Prefixes we advertise. */
  readonly advertised: number;
  /** Every address considered: its Service (`namespace/name`, '' for a range), whether advertised and why. */
  readonly entries: readonly {
    readonly service: string;
    readonly kind: string;
    readonly address: string;
    readonly advertised: boolean;
    readonly why: string;
    readonly detail: string;
  }[];
}

/** How `GET /routes?prefix=` matches: exact prefix, longest match of an address, or everything inside. */
export type RouteMatch = 'exact' | 'longest' | 'longer';

/** Thrown by a ControlSource for a 404 (an unknown peer). */
export class NotFound extends Error {}

/** The daemon's side of the control socket; a fake one in tests. */
export interface ControlSource {
  neighbors(): readonly NeighborStatus[];
  routes(): readonly RouteView[];
  adjRibIn(peer: string): readonly RouteView[];
  adjRibOut(peer: string): readonly RouteView[];
  fib(): FibView;
  status(): StatusView;
  config(): unknown;
  bfd?(): BfdView;
  /**
   * Stop the daemon (answered before it stops). `withdraw`: RFC 8538 Hard Reset to every peer and our kernel
   * routes removed (decommissioning); otherwise as SIGTERM.
   */
  shutdown?(o: { withdraw: boolean }): ShutdownView;
}

export interface ShutdownView {
  readonly stopping: true;
  readonly withdraw: boolean;
}
