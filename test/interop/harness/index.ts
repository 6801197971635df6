/**
 * The interop harness: launchers for FRR, BIRD, GoBGP, ExaBGP and nodebgp in network namespaces. Namespaces,
 * commands and `until()` come from the toolkit (toolkit/), re-exported here so a test imports one place.
 */
export {
  Lab,
  Netns,
  procStatusKb,
  run,
  signal,
  tempDir,
  until,
  type Link,
  type UntilOptions,
} from '../../../toolkit/index.js';
export { Daemon } from './daemon.js';
export { Frr, frrArgs, startFrr, type FrrOptions } from './frr.js';
export { Bird, startBird } from './bird.js';
export { Gobgp, startGobgp, type GobgpNeighbor } from './gobgp.js';
export { Exabgp, startExabgp, type ExabgpOptions } from './exabgp.js';
export {
  Nodebgp,
  NODEBGP_BIN,
  nodebgpAvailable,
  nodebgpCli,
  startNodebgp,
  type NodebgpConfig,
  type NodebgpPeer,
} from './nodebgp.js';
