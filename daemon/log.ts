/**
 * Structured logs: pino JSON lines on stdout. The speaker's typed 'log' events and its 'peer-state'
 * transitions become fields (`event`, `peer`, `from`, `to`, `reason`), never sentences to parse.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { PeerStateEvent, SpeakerEvents } from '../bgp/api.js';
import type { LogLevel } from './config.js';

export type { Logger } from 'pino';

/** A JSON logger; `dest` (default stdout) is for tests. */
export function createLogger(level: LogLevel, dest?: DestinationStream): Logger {
  const options = {
    level,
    base: { pid: process.pid, name: 'nodebgp' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return dest ? pino(options, dest) : pino(options);
}

/** The event subset of the Speaker that logging needs. */
export interface SpeakerEventSource {
  on(event: 'peer-state', listener: SpeakerEvents['peer-state']): unknown;
  on(event: 'loc-rib', listener: SpeakerEvents['loc-rib']): unknown;
  on(event: 'end-of-rib', listener: SpeakerEvents['end-of-rib']): unknown;
  on(event: 'log', listener: SpeakerEvents['log']): unknown;
}

/** Leaving Established is worth a warning; everything else is routine. */
export function peerStateLevel(e: PeerStateEvent): 'info' | 'warn' | 'debug' {
  if (e.from === 'Established') return 'warn';
  if (e.to === 'Established') return 'info';
  return 'debug';
}

export function attachSpeakerLogs(speaker: SpeakerEventSource, log: Logger): void {
  speaker.on('log', (e) => {
    // The 'peer-state' listener below logs transitions (with our levels); skip the speaker's copy.
    if (e.event === 'peer-state') return;
    const { level, event, ...fields } = e;
    log[level]({ event, ...fields }, event);
  });
  speaker.on('peer-state', (e) => {
    log[peerStateLevel(e)](
      { event: 'peer-state', peer: e.address, from: e.from, to: e.to, reason: e.reason },
      `peer ${e.address} ${e.from} -> ${e.to} (${e.reason})`,
    );
  });
}
