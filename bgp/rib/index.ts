/** The RIBs: Adj-RIB-In per peer, the Loc-RIB with the decision process, Adj-RIB-Out per peer. */
export type { RibPeer } from './peer.js';
export { Path, DEFAULT_LOCAL_PREF, type IneligibleReason } from './path.js';
export { AdjRibIn } from './adj-rib-in.js';
export {
  comparePaths,
  formatVerdict,
  decide,
  explain,
  DECISION_STEPS,
  type Decision,
  type DecisionStep,
  type Verdict,
} from './decision.js';
export { PrefixMap } from './prefix-map.js';
export {
  LocRib,
  LOCAL_ATTRIBUTES,
  validateLocRibOptions,
  type LocRibOptions,
  type LocalRoute,
  type BatchListener,
} from './loc-rib.js';
export { AdjRibOut, type OutPath, type PendingUpdates, type AdjRibOutOptions } from './adj-rib-out.js';
export {
  excludes,
  exclusionOf,
  exportAttributes,
  exportBlock,
  prependAs,
  type ExportBlock,
  type Exclusion,
} from './export.js';
