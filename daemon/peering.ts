/**
 * What the daemon puts around the BGP speaker for each peer, outside BGP itself:
 *
 *   - the Linux transport (sys/tcp.ts) that signs segments (TCP-MD5) and sets TTLs (GTSM) — injected into the
 *     Speaker — and its diagnosis of a silent peer, shown by `nodebgp neighbors` as the down reason;
 *   - a password kept in a file (`passwordFile`, e.g. a Kubernetes Secret mounted as a volume), read when the
 *     peer is configured;
 *   - BFD (bfd/ in a process of its own): a session per peer with `bfd`, and RFC 5882 §4.3 — the BFD session going
 *     from Up to Down (not by the peer's AdminDown) takes the BGP session down at once (`resetPeer`, reason
 *     `bfd-down`), which withdraws its routes and so takes them out of the kernel.
 *
 * As a SpeakerLike decorator it needs no change in the daemon's peer handling (file, reload, Kubernetes):
 * addPeer / updatePeer / removePeer do both. BFD and transport events become the speaker's typed 'log' events.
 */
import { readFileSync } from 'node:fs';
import type { Advertisement, PeerConfig, PeerStatus, SpeakerConfig, SpeakerEvents } from '../bgp/api.js';
import { Speaker } from '../bgp/speaker.js';
import type { Transport } from '../bgp/transport.js';
import { diagText } from '../bfd/packet.js';
import type { BfdPeerConfig, StateChange } from '../bfd/manager.js';
import type { EngineSnapshot } from '../bfd/engine.js';
import { canonicalAddress } from '../ip/address.js';
import type { PrefixKey } from '../ip/prefix.js';
import type { DaemonPeer } from './config.js';
import type { SpeakerLike } from './deps.js';
import type { BfdView, NeighborBfd, NeighborStatus } from './views.js';

/** The BFD service as used here (bfd/service.ts BfdService fits). */
export interface BfdLike {
  set(config: BfdPeerConfig): void;
  remove(peer: string, multihop?: boolean): void;
  snapshot(): EngineSnapshot;
  on(event: 'change', listener: (c: StateChange) => void): unknown;
  on(event: 'problem', listener: (message: string) => void): unknown;
  close(): Promise<void>;
}

/** A transport that can say why a peer is silent (sys/tcp.ts LinuxTcpTransport fits). */
export interface DiagnosingTransport extends Transport {
  diagnose?(address: string): string | undefined;
}

export interface PeeringOptions {
  readonly transport?: DiagnosingTransport;
  /** Created on the first peer with `bfd`. */
  readonly createBfd?: () => BfdLike;
  readonly clock?: () => number;
  /** Reads a password file (tests). */
  readonly readFile?: (path: string) => string;
}

/** This wrapper's own log events, beside the speaker's (bgp/log-events.ts). */
type PeeringLogEvent = 'peer-password-file' | 'bfd-unavailable' | 'bfd-problem' | 'bfd-state';
interface PeeringLogRecord {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly event: PeeringLogEvent;
  readonly [field: string]: unknown;
}

export class PeeringSpeaker implements SpeakerLike {
  readonly inner: Speaker;
  private bfd: BfdLike | undefined;
  /** Peers with BFD: address → the session's hop mode. */
  private readonly bfdPeers = new Map<string, boolean>();
  /** Peers whose password file could not be read: address → why. */
  private readonly passwordProblems = new Map<string, string>();
  /** The speaker's log listeners: this wrapper's own events (BFD, password files) go to them too. */
  private readonly logListeners: ((record: PeeringLogRecord) => void)[] = [];

  constructor(
    config: SpeakerConfig,
    private readonly opts: PeeringOptions = {},
  ) {
    this.inner = new Speaker(config, opts.clock ?? Date.now, opts.transport);
  }

  // ---- SpeakerLike ----------------------------------------------------------------------------------------

  on<K extends keyof SpeakerEvents>(event: K, listener: SpeakerEvents[K]): this {
    this.inner.on(event, listener);
    if (event === 'log') this.logListeners.push(listener as unknown as (record: PeeringLogRecord) => void);
    return this;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  async stop(reason: string, how?: { graceful?: boolean; hardReset?: boolean }): Promise<void> {
    await this.inner.stop(reason, how);
    await this.bfd?.close();
  }

  beginRestart(forwarding: boolean): void {
    this.inner.beginRestart(forwarding);
  }

  endDeferral(why: string): void {
    this.inner.endDeferral(why);
  }

  addPeer(peer: PeerConfig): void {
    const p = peer as DaemonPeer;
    this.inner.addPeer(this.sessionConfig(p));
    this.applyBfd(p);
  }

  updatePeer(peer: PeerConfig): void {
    const p = peer as DaemonPeer;
    this.inner.updatePeer(this.sessionConfig(p));
    this.applyBfd(p);
  }

  removePeer(address: string): void {
    this.inner.removePeer(address);
    this.passwordProblems.delete(key(address));
    this.applyBfd({ address, asn: 0 });
  }

  setAdvertisements(ads: readonly Advertisement[]): void {
    this.inner.setAdvertisements(ads);
  }

  routes(filter?: { prefix?: PrefixKey; peer?: string }) {
    return this.inner.routes(filter);
  }

  routeCounts() {
    return this.inner.routeCounts();
  }

  adjRibIn(peer: string) {
    return this.inner.adjRibIn(peer);
  }

  adjRibOut(peer: string) {
    return this.inner.adjRibOut(peer);
  }

  requestRefresh(peer: string) {
    return this.inner.requestRefresh(peer);
  }

  exportPolicyChanged(): void {
    this.inner.exportPolicyChanged();
  }

  setClusterId(clusterId: string | undefined): void {
    this.inner.setClusterId(clusterId);
  }

  /** The speaker's view of each peer, with its BFD session and, when it is down, why it may be silent. */
  peers(): NeighborStatus[] {
    const sessions = new Map((this.bfd?.snapshot().sessions ?? []).map((s) => [s.peer, s]));
    return this.inner.peers().map((p: PeerStatus) => {
      const multihop = this.bfdPeers.get(p.address);
      const s = multihop === undefined ? undefined : sessions.get(p.address);
      const bfd: NeighborBfd | undefined =
        multihop === undefined
          ? undefined
          : s === undefined || s.multihop !== multihop
            ? { state: 'starting', remoteState: 'Down', diag: '', downCount: 0, rx: 0, tx: 0 }
            : {
                state: s.state,
                remoteState: s.remoteState,
                diag: s.localDiag === 0 ? '' : diagText(s.localDiag),
                downCount: s.downCount,
                rx: s.rx,
                tx: s.tx,
              };
      const hint = p.state === 'Established' ? undefined : this.hint(p.address);
      return { ...p, ...(bfd !== undefined ? { bfd } : {}), ...(hint !== undefined ? { hint } : {}) };
    });
  }

  /** `nodebgp bfd`: every session with its timers, state, last diagnostic and counters. */
  bfdView(): BfdView {
    const snap = this.bfd?.snapshot();
    return {
      enabled: this.bfdPeers.size > 0,
      timerLateMaxMs: snap?.timerLateMaxMs ?? 0,
      timerLate50ms: snap?.timerLate50ms ?? 0,
      ...(snap !== undefined
        ? { timerLate: snap.timerLate, timerLateRunqueueMs: snap.timerLateRunqueueMs }
        : {}),
      ...(snap?.scheduling !== undefined ? { scheduling: snap.scheduling } : {}),
      sessions: (snap?.sessions ?? []).map((s) => ({
        ...s,
        localDiagText: diagText(s.localDiag),
        remoteDiagText: diagText(s.remoteDiag),
      })),
      discards: snap?.discards ?? {},
    };
  }

  // ---- Internals ------------------------------------------------------------------------------------------

  /** The peer as the speaker takes it: the password read from its file, no daemon-only keys. */
  private sessionConfig(p: DaemonPeer): PeerConfig {
    const { bfd: _bfd, passwordFile, ...session } = p;
    this.passwordProblems.delete(key(p.address));
    if (passwordFile === undefined) return session;
    try {
      const read = this.opts.readFile ?? ((f: string) => readFileSync(f, 'utf8'));
      const password = read(passwordFile).replace(/\r?\n$/, '');
      if (password === '') throw new Error('the file is empty');
      return { ...session, password };
    } catch (err) {
      const why = `password file ${passwordFile} unreadable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      this.passwordProblems.set(key(p.address), why);
      this.log('error', 'peer-password-file', { peer: p.address, file: passwordFile, error: why });
      return session;
    }
  }

  private applyBfd(p: DaemonPeer): void {
    const address = key(p.address);
    const before = this.bfdPeers.get(address);
    const multihop = p.bfd?.multihop === true;
    if (before !== undefined && (p.bfd === undefined || before !== multihop)) {
      this.bfd?.remove(address, before);
      this.bfdPeers.delete(address);
    }
    if (p.bfd === undefined) return;
    const bfd = this.service();
    if (bfd === undefined) return;
    this.bfdPeers.set(address, multihop);
    bfd.set({
      peer: address,
      ...(p.localAddress !== undefined ? { local: p.localAddress } : {}),
      multihop,
      ...(multihop && p.ttlSecurity !== undefined ? { minTtl: 256 - p.ttlSecurity } : {}),
      desiredMinTx: p.bfd.minTx * 1000,
      requiredMinRx: p.bfd.minRx * 1000,
      detectMult: p.bfd.multiplier,
    });
  }

  private service(): BfdLike | undefined {
    if (this.bfd !== undefined) return this.bfd;
    if (this.opts.createBfd === undefined) {
      this.log('error', 'bfd-unavailable', {
        error: 'BFD needs the Linux socket layer (koffi); sessions run without it',
      });
      return undefined;
    }
    const bfd = this.opts.createBfd();
    bfd.on('change', (c) => this.bfdChanged(c));
    bfd.on('problem', (message) => this.log('error', 'bfd-problem', { error: message }));
    this.bfd = bfd;
    return bfd;
  }

  /** RFC 5882 §4.3: BFD Up → Down is the session's end; the peer's own AdminDown is not (§3.2). */
  private bfdChanged(c: StateChange): void {
    if (this.bfdPeers.get(c.peer) !== c.multihop) return; // a session being removed
    const failure = c.from === 'Up' && c.to === 'Down' && c.remoteState !== 'AdminDown';
    this.log(failure ? 'warn' : 'info', 'bfd-state', {
      peer: c.peer,
      from: c.from,
      to: c.to,
      diag: diagText(c.diag),
      remoteState: c.remoteState,
    });
    if (failure) this.inner.resetPeer(c.peer, 'bfd-down');
  }

  private hint(address: string): string | undefined {
    return this.passwordProblems.get(address) ?? this.opts.transport?.diagnose?.(address);
  }

  private log(
    level: PeeringLogRecord['level'],
    event: PeeringLogEvent,
    fields: Record<string, unknown>,
  ): void {
    for (const listener of this.logListeners) listener({ ...fields, level, event });
  }
}

function key(address: string): string {
  return canonicalAddress(address) ?? address;
}
