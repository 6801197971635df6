/**
 * The messages between the daemon (service.ts) and the BFD process (child.ts), over its IPC channel: plain
 * JSON data. The BFD process owns every session; the daemon only says what it wants and hears what happened.
 */
import type { BfdPeerConfig, StateChange } from './manager.js';
import type { EngineOptions, EngineSnapshot } from './engine.js';

export type ToWorker =
  | { readonly type: 'set'; readonly config: BfdPeerConfig }
  | { readonly type: 'remove'; readonly peer: string; readonly multihop: boolean }
  /** Remove every session (AdminDown to each peer), then answer 'closed'. */
  | { readonly type: 'close' };

export type FromWorker =
  | { readonly type: 'change'; readonly change: StateChange }
  | { readonly type: 'snapshot'; readonly snapshot: EngineSnapshot }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'closed' };

/** What the BFD process is started with (its first argument, as JSON). */
export interface WorkerSetup {
  readonly listen?: EngineOptions['listen'];
  readonly ports?: EngineOptions['ports'];
  /** How often the BFD process sends its snapshot for the views (ms). */
  readonly snapshotMs: number;
}
