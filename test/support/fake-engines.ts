/**
 * Stand-ins for the speaker and the FIB behind the daemon (daemon/deps.ts `Engines`), for daemon unit tests:
 * each records what the daemon asked of it, and the test drives the speaker's events by hand
 * (`speaker.emit('loc-rib', …)`, `speaker.emit('end-of-rib', peer)`).
 *
 *   let speaker: FakeSpeaker | undefined;
 *   const engines: Engines = { createSpeaker: (c) => (speaker = new FakeSpeaker(c)), createFib: (o) => new FakeFib(o) };
 *   await new Daemon(config, engines, log).start();
 *   expect(speaker?.calls).toEqual(['start', 'add 10.77.0.1', 'add 10.77.0.3', 'advertise 2']);
 */
import { EventEmitter } from 'node:events';
import type { Advertisement, PeerConfig, PeerStatus, RouteView, SpeakerConfig } from '../../bgp/api.js';
import { validatePeerConfig } from '../../bgp/peer-config.js';
import type { FibLike, FibOptions, SpeakerLike } from '../../daemon/deps.js';
import type { PrefixKey } from '../../ip/prefix.js';

/** The calls that change the peer set, as `FakeSpeaker.calls` writes them. */
const PEER_CALL = /^(add|remove|update|refresh) /;

export class FakeSpeaker extends EventEmitter implements SpeakerLike {
  /**
   * Every call in order: `start`, `stop <reason>`, `add <peer>[ passive]`, `remove <peer>`,
   * `update <peer>[ holdTime=<s>][ rr-client]`, `refresh <peer>`, `cluster-id <id>`, `advertise <count>`.
   */
  calls: string[] = [];
  /** The last set of advertisements. */
  ads: readonly Advertisement[] = [];
  /** Peers that `peers()` reports Established (none unless a test adds them). */
  established = new Set<string>();

  constructor(readonly config: SpeakerConfig) {
    super();
  }

  /** Only the calls that change the peer set (add, remove, update, refresh). */
  peerCalls(): string[] {
    return this.calls.filter((c) => PEER_CALL.test(c));
  }

  start() {
    this.calls.push('start');
  }
  stop(reason: string, how: { graceful?: boolean; hardReset?: boolean } = {}) {
    this.calls.push(`stop ${reason}${how.graceful ? ' graceful' : ''}${how.hardReset ? ' hard-reset' : ''}`);
  }
  beginRestart(forwarding: boolean) {
    this.calls.push(`begin-restart forwarding=${forwarding}`);
  }
  endDeferral(why: string) {
    this.calls.push(`end-deferral ${why}`);
  }
  addPeer(p: PeerConfig) {
    // As the real Speaker: an invalid peer throws, naming the field.
    const invalid = validatePeerConfig(p);
    if (invalid !== undefined) throw new Error(`peer ${p.address}: ${invalid}`);
    this.calls.push(`add ${p.address}${p.passive ? ' passive' : ''}`);
  }
  removePeer(a: string) {
    this.calls.push(`remove ${a}`);
  }
  updatePeer(p: PeerConfig) {
    const hold = p.holdTime !== undefined ? ` holdTime=${p.holdTime}` : '';
    this.calls.push(`update ${p.address}${hold}${p.routeReflectorClient ? ' rr-client' : ''}`);
  }
  setClusterId(id: string | undefined) {
    this.calls.push(`cluster-id ${id}`);
  }
  setAdvertisements(ads: readonly Advertisement[]) {
    this.ads = ads;
    this.calls.push(`advertise ${ads.length}`);
  }
  requestRefresh(peer: string) {
    this.calls.push(`refresh ${peer}`);
  }
  /** exportPolicyChanged() calls, counted (not in `calls`: they come with every policy change). */
  exportPolicyChanges = 0;
  exportPolicyChanged() {
    this.exportPolicyChanges++;
  }
  peers(): PeerStatus[] {
    return [...this.established].map((address) => ({
      address,
      asn: 64512,
      state: 'Established' as const,
      since: 0,
      received: 0,
      accepted: 0,
      advertised: 0,
    })) as unknown as PeerStatus[];
  }
  /** What routes() answers. */
  routesShown: RouteView[] = [];
  routes() {
    return this.routesShown;
  }
  adjRibIn() {
    return [];
  }
  adjRibOut() {
    return [];
  }
}

export class FakeFib implements FibLike {
  /** `start`, `blackholes`, `releaseStale`, `close removeRoutes=<bool>`, in order. */
  calls: string[] = [];
  /** Every setMany: the prefixes and their next hops (null: withdrawn). */
  sets: [PrefixKey[], (readonly string[] | null)[]][] = [];
  /** Every setBlackholes, with its arguments. */
  blackholes: { prefixes: PrefixKey[]; kind: 'blackhole' | 'unreachable'; metric: number }[] = [];

  /** What stats() reports: e.g. `{ stale: 3 }` for routes kept in the kernel from a previous run. */
  statsShown: ReturnType<FibLike['stats']> = {};

  constructor(readonly options: FibOptions) {}

  start() {
    this.calls.push('start');
  }
  setMany(prefixes: readonly PrefixKey[], nexthops: readonly (readonly string[] | null)[]) {
    this.sets.push([[...prefixes], [...nexthops]]);
  }
  setBlackholes(prefixes: readonly PrefixKey[], kind: 'blackhole' | 'unreachable', metric: number) {
    this.blackholes.push({ prefixes: [...prefixes], kind, metric });
    this.calls.push('blackholes');
  }
  releaseStale() {
    this.calls.push('releaseStale');
  }
  entries() {
    return [];
  }
  stats() {
    return this.statsShown;
  }
  close(o: { removeRoutes: boolean }) {
    this.calls.push(`close removeRoutes=${o.removeRoutes}`);
  }
  flushed() {
    return Promise.resolve();
  }
}
