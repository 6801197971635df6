/**
 * The public face of the BGP library: what the daemon (or any other program) configures and reads.
 * `Speaker` in `speaker.ts` implements it. Everything here is plain data so it can be logged, compared and
 * sent over the control socket as JSON.
 */
import type { MaxPrefixes } from './max-prefix.js';
import type { PrefixKey } from '../ip/prefix.js';
import type { PathAttributes } from './wire/types.js';
import type { SpeakerLogRecord } from './log-events.js';

export type { LogLevel, SpeakerLogEvent, SpeakerLogFields, SpeakerLogRecord } from './log-events.js';

/** RFC 4271 §8.2.2 session states. */
export type SessionState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

/**
 * Why a session changed state: every FSM transition records one (`PeerStateEvent.reason`,
 * `PeerStatus.lastReason`, the `peer-state` log event), and the compiler checks every producer and consumer.
 */
export type TransitionReason =
  // ---- towards Established ----
  /** ManualStart / AutomaticStart (RFC 4271 §8.1.2 events 1, 3, 4, 5). */
  | 'start'
  /** The damped automatic restart after an error (IdleHoldTimer, §8.1.1). */
  | 'idle-hold-expired'
  /** ConnectRetryTimer in Active: a new connection attempt. */
  | 'connect-retry'
  /** TCP up, our OPEN sent (→ OpenSent). */
  | 'connected'
  /** The peer's acceptable OPEN (→ OpenConfirm). */
  | 'open-received'
  /** The peer's KEEPALIVE in OpenConfirm (→ Established). */
  | 'keepalive-received'
  // ---- stopped by this speaker ----
  /** ManualStop: `Speaker.stop()`, Cease 6/2 Administrative Shutdown. */
  | 'admin-down'
  /** AutomaticStop without a more specific reason (Cease 6/4 Administrative Reset). */
  | 'automatic-stop'
  /** `Speaker.removePeer`: Cease 6/3 Peer De-configured. */
  | 'peer-deconfigured'
  /** `Speaker.updatePeer` with a change the session depends on: Cease 6/6 Other Configuration Change. */
  | 'config-changed'
  /** RFC 4271 §6.8: this connection lost a collision (Cease 6/7); the other one is kept. */
  | 'collision'
  // ---- failures ----
  | 'hold-timer-expired'
  | 'notification-received'
  /** Our TCP connection attempt failed (Connect, Active). */
  | 'connect-failed'
  /** The TCP connection dropped after OPEN was sent. */
  | 'connection-lost'
  /** A malformed message: the NOTIFICATION of RFC 4271 §6 was sent. */
  | 'header-error'
  | 'open-error'
  | 'update-error'
  | 'route-refresh-error'
  /** An unexpected message for the state (RFC 6608). */
  | 'fsm-error'
  /** The peer gave more prefixes than `PeerConfig.maxPrefixes` allows: Cease 6/1 (RFC 4486). */
  | 'max-prefixes'
  /**
   * An exception of ours while handling the peer's message (a bug, not the peer's error): this session only is
   * reset with Cease 6/4 and a Shutdown Communication saying so; it restarts on its own.
   */
  | 'internal-error'
  /** `Speaker.resetPeer`: a reason found outside BGP (ResetReason). */
  | ResetReason;

/** Why `Speaker.resetPeer` takes a session down: BFD declared the path dead (RFC 5882 §4.3). */
export type ResetReason = 'bfd-down';

export interface PeerConfig {
  /** The peer's address (IPv4 or IPv6); also the peer's identity in every API call. */
  readonly address: string;
  readonly asn: number;
  /** TCP port to connect to (default 179). */
  readonly port?: number;
  /** Proposed hold time in seconds: 0 (no keepalives) or 3..65535 (default 90). */
  readonly holdTime?: number;
  /** Keepalive interval in seconds (default holdTime / 3). */
  readonly keepaliveTime?: number;
  /** Seconds between connection attempts (default 5). */
  readonly connectRetryTime?: number;
  /** Never connect; only accept the peer's connection (RFC 4271 PassiveTcpEstablishment). */
  readonly passive?: boolean;
  /** Source address for our connection. */
  readonly localAddress?: string;
  /**
   * Next hop for IPv6 prefixes we originate or re-advertise with next-hop-self over an IPv4 session (and the
   * IPv4 one over an IPv6 session). Without it such prefixes are not sent to this peer (logged once).
   */
  readonly localAddressIpv6?: string;
  readonly localAddressIpv4?: string;
  /** IP TTL of what we send on the session (1..255, e.g. more than 1 for multihop eBGP); default the system's. */
  readonly ttl?: number;
  /**
   * RFC 5082 GTSM: the peer is at most this many hops away (1 = directly connected). We send TTL 255 and the
   * kernel drops every segment from the peer that arrives with a TTL below 256 - hops. Excludes `ttl`.
   */
  readonly ttlSecurity?: number;
  /** RFC 2385 TCP-MD5 password (1..80 bytes) shared with the peer. Never logged, never shown. */
  readonly password?: string;
  /** RFC 4456: this peer is a route-reflector client of ours. */
  readonly routeReflectorClient?: boolean;
  /** Families to negotiate (default both). */
  readonly families?: readonly ('ipv4-unicast' | 'ipv6-unicast')[];
  /** Free text shown by the CLI. */
  readonly description?: string;
  /** RFC 4724 graceful restart: advertise the capability with this restart time in seconds (0 = off). */
  readonly gracefulRestartTime?: number;
  /**
   * The most prefixes this peer may give us (max-prefix.ts): over it, Cease 6/1 and a restart after
   * `restartAfter` seconds (default 60; 0 = stay down), or only a warning with `warningOnly`.
   */
  readonly maxPrefixes?: MaxPrefixes;
  /**
   * RFC 4271 §8.1.1 DampPeerOscillations (damping.ts, default true): a session that keeps going down after it
   * came up is held in Idle longer each time, and the peer's connections are refused while it is held.
   */
  readonly dampPeerOscillations?: boolean;
}

export interface SpeakerConfig {
  readonly asn: number;
  /** BGP Identifier, dotted quad. */
  readonly routerId: string;
  /** Where to accept connections; `false` for none (outbound only). */
  readonly listen: { readonly address: string; readonly port: number } | false;
  /** RFC 4456 CLUSTER_ID when reflecting (default routerId). */
  readonly clusterId?: string;
  /**
   * Import policy: return false to refuse a received route (it stays in Adj-RIB-In, marked not accepted).
   * `nextHop` is the path's next hop (NEXT_HOP, or MP_REACH_NLRI's for other families), as text.
   */
  readonly importFilter?: (
    peer: string,
    prefix: PrefixKey,
    attributes: PathAttributes,
    nextHop: string,
  ) => boolean;
  /** Export policy: return false to keep a route from a peer; may return changed attributes. */
  readonly exportFilter?: (
    peer: string,
    prefix: PrefixKey,
    attributes: PathAttributes,
  ) => boolean | PathAttributes;
  /**
   * Which peers `exportFilter` treats alike: peers with the same key (and the same capabilities) share one
   * update group — one Adj-RIB-Out computation and one encoded UPDATE stream (update-group.ts). Without it, an
   * export filter puts every peer in a group of its own.
   */
  readonly exportPolicyKey?: (peer: string) => string;
}

/** A prefix we originate, with the next hop to put on it (default: the session's local address). */
export interface Advertisement {
  readonly prefix: PrefixKey;
  readonly nextHop?: string;
  /**
   * The route's attributes (default: ORIGIN IGP, empty AS_PATH), e.g. communities or LOCAL_PREF of its own.
   * Give the same object again for an unchanged route: a new object is a changed route, sent again.
   */
  readonly attributes?: PathAttributes;
}

export interface GracefulRestartView {
  /** Our restart time, seconds (0 = we do not announce graceful restart). */
  readonly restartTime: number;
  /** The peer's capability on the current (or last) session. */
  readonly peer?: {
    readonly restartTime: number;
    readonly restarting: boolean;
    /** RFC 8538 N bit, exchanged both ways. */
    readonly notification: boolean;
    /** Families with their F bit: "ipv4 F", "ipv6". */
    readonly families: readonly string[];
  };
  /**
   * `restarting`: the session dropped, the peer's paths are kept stale until its restart time is over;
   * `stale`: the session is back, stale paths go at End-of-RIB or the stale-path timer.
   */
  readonly state?: 'restarting' | 'stale';
  /** Stale paths kept from the peer. */
  readonly stale: number;
  /** Seconds until the stale paths go without End-of-RIB. */
  readonly timeLeft?: number;
  /** Times the peer restarted gracefully. */
  readonly restarts: number;
}

export interface PeerStatus {
  readonly address: string;
  readonly asn: number;
  readonly description?: string;
  readonly state: SessionState;
  /** When the session entered its current state (ms since the epoch). */
  readonly since: number;
  /** The reason of the last transition (`hold-timer-expired`, `notification-received`, `admin-down`, …). */
  readonly lastReason?: TransitionReason;
  /**
   * The error that explains the state, in words with code/subcode ("received 6/2 Cease / Administrative
   * Shutdown", "tcp: ECONNREFUSED"): while Established, the one that ended the previous session (absent if
   * it never went down); otherwise the latest. Attempts that failed before the current session came up are
   * not shown once it is up; a collision says it was one.
   */
  readonly lastError?: string;
  readonly localAddress?: string;
  readonly peerRouterId?: string;
  /** Negotiated hold time (seconds). */
  readonly holdTime?: number;
  readonly received: number;
  readonly accepted: number;
  readonly advertised: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly updatesIn: number;
  readonly updatesOut: number;
  /** Established sessions since start. */
  readonly establishedCount: number;
  /** §8.1.1 damping: milliseconds the session is still held in Idle (nothing restarts it meanwhile). */
  readonly dampedFor?: number;
  /** Flaps (Established sessions that went down) in the current damping sequence. */
  readonly flaps?: number;
  /**
   * Octets written to the session's socket that it has not yet sent; export to the peer pauses at
   * `OUTPUT_HIGH_WATER_BYTES` (out-queue.ts) and resumes when the socket drains.
   */
  readonly outputQueued?: number;
  /** Prefixes waiting in the Adj-RIB-Out to be (re-)sent (a prefix may count twice until compacted). */
  readonly exportPending?: number;
  /** ROUTE-REFRESH requests from the peer folded into one already waiting (out-queue.ts). */
  readonly refreshesCoalesced?: number;
  /** RFC 4724: ours and the peer's capability, and the peer's restart as we help it. */
  readonly gracefulRestart?: GracefulRestartView;
  /** RFC 7606 attribute errors handled without a reset. */
  readonly attributeErrors: number;
  readonly capabilities?: readonly string[];
}

/** One path in the Loc-RIB, as shown to operators. */
export interface RouteView {
  readonly prefix: string;
  readonly nexthops: readonly string[];
  readonly peer: string;
  readonly asPath: string;
  readonly origin: 'igp' | 'egp' | 'incomplete';
  readonly localPref?: number;
  readonly med?: number;
  readonly communities: readonly string[];
  readonly largeCommunities: readonly string[];
  readonly best: boolean;
  /** Part of the ECMP set of the best path. */
  readonly multipath: boolean;
  /** For the best path: the decision step that chose it; for the others: the step that lost; or why ineligible. */
  readonly reason: string;
  /** Originated by this speaker. */
  readonly local: boolean;
  /** RFC 4724: kept from the peer's previous session while it restarts (until its End-of-RIB). */
  readonly stale?: true;
  readonly age: number;
}

/**
 * Loc-RIB best-route changes, batched per received message: parallel arrays so that a burst of a thousand
 * prefixes costs two arrays, not a thousand objects. `nexthops[i]` is the ECMP next-hop set now used for
 * `prefixes[i]` (the arrays are shared between prefixes), or `null` when the prefix has no route any more.
 * Locally originated prefixes are never reported.
 */
export interface LocRibChanges {
  readonly prefixes: PrefixKey[];
  readonly nexthops: (readonly string[] | null)[];
}

export interface PeerStateEvent {
  readonly address: string;
  readonly from: SessionState;
  readonly to: SessionState;
  readonly reason: TransitionReason;
}

export interface SpeakerEvents {
  'peer-state': (e: PeerStateEvent) => void;
  'loc-rib': (changes: LocRibChanges) => void;
  /** A peer finished its initial table (End-of-RIB for every negotiated family). */
  'end-of-rib': (peer: string) => void;
  /** Typed log events (`log-events.ts`): the daemon maps them to its logger. */
  log: (e: SpeakerLogRecord) => void;
}
