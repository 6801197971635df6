/**
 * The messages between the main thread (service.ts) and the BFD worker (worker.ts): plain, structured-clone
 * data. The worker owns every session; the main thread only says what it wants and hears what happened.
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

/** What the worker is started with (`workerData`). */
export interface WorkerSetup {
  readonly listen?: EngineOptions['listen'];
  readonly ports?: EngineOptions['ports'];
  /** How often the worker sends its snapshot for the views (ms). */
  readonly snapshotMs: number;
}
