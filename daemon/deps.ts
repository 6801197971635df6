/**
 * The two engines the daemon drives, as the narrow interfaces it uses: the BGP Speaker (bgp/speaker.ts)
 * and the kernel FIB (routing/fib.ts). Tests hand in fakes; `loadEngines` loads the real ones.
 */
import type { Advertisement, PeerConfig, PeerStatus, RouteView, SpeakerConfig } from '../bgp/api.js';
import type { PrefixKey } from '../ip/prefix.js';
import type { FibOptions as RoutingFibOptions } from '../routing/index.js';
import type { SpeakerEventSource } from './log.js';
import type { BfdView } from './views.js';

export interface SpeakerLike extends SpeakerEventSource {
  start(): unknown;
  /** `graceful`: peers keep our routes (RFC 4724/8538); `hardReset`: they withdraw them (RFC 8538 §3). */
  stop(reason: string, how?: { graceful?: boolean; hardReset?: boolean }): unknown;
  /** We restarted (graceful restart): R bit, F bits when `forwarding`, our tables wait for endDeferral. */
  beginRestart?(forwarding: boolean): unknown;
  /** The selection deferral is over: send our tables and End-of-RIB. */
  endDeferral?(why: string): unknown;
  addPeer(peer: PeerConfig): unknown;
  removePeer(address: string): unknown;
  updatePeer(peer: PeerConfig): unknown;
  setAdvertisements(ads: readonly Advertisement[]): unknown;
  peers(): readonly PeerStatus[];
  routes(filter?: { prefix?: PrefixKey; peer?: string }): readonly RouteView[];
  /** Prefixes and paths of routes(), counted (status stays cheap with a full table). */
  routeCounts?(): { prefixes: number; paths: number };
  adjRibIn(peer: string): readonly RouteView[];
  adjRibOut(peer: string): readonly RouteView[];
  /** Ask the peer to send its routes again (ROUTE-REFRESH), e.g. after the import policy changed. */
  requestRefresh(peer: string): unknown;
  /** The export filter's answers may have changed: every peer's exports are worked out again. */
  exportPolicyChanged(): unknown;
  /** RFC 4456 CLUSTER_ID from now on (undefined: the router id): this node became, or stopped being, a reflector. */
  setClusterId(clusterId: string | undefined): unknown;
  /** BFD sessions (daemon/peering.ts), when the speaker runs them. */
  bfdView?(): BfdView;
}

export interface FibEntryLike {
  /** Text (`10.0.1.0/24`) from routing/fib.ts; a PrefixKey is formatted. */
  readonly prefix: PrefixKey;
  readonly nexthops: readonly string[];
  readonly status: 'installed' | 'pending' | 'failed' | 'unresolvable';
  readonly error?: string;
  /** Ours from a previous run, not wanted (yet). */
  readonly stale?: boolean;
  readonly kernel: { readonly nexthops?: readonly string[] } | null;
  readonly since: number;
}

/** routing/'s FibOptions without the backend: the engine brings that (the kernel, in main.ts). */
export type FibOptions = Omit<RoutingFibOptions, 'backend' | 'clock'>;

export interface FibLike {
  start(): unknown;
  setMany(prefixes: readonly PrefixKey[], nexthops: readonly (readonly string[] | null)[]): unknown;
  setBlackholes(prefixes: readonly PrefixKey[], kind: 'blackhole' | 'unreachable', metric: number): unknown;
  releaseStale(): unknown;
  entries(): readonly FibEntryLike[];
  /** Counts by status (a Fib counts without building a view per route). */
  stats(): Partial<Record<'wanted' | 'installed' | 'pending' | 'failed' | 'unresolvable' | 'stale', number>>;
  close(opts: { removeRoutes: boolean }): unknown;
  /** Resolves once every wanted route has been written (or failed). */
  flushed?(): Promise<void>;
}

export interface Engines {
  createSpeaker(config: SpeakerConfig): SpeakerLike;
  createFib(options: FibOptions): FibLike;
}
