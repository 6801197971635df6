/** The interop harness: namespaces, and launchers for FRR, BIRD, GoBGP, ExaBGP and nodebgp inside them. */
export { Lab, Netns, run, signal, tempDir, waitUntil, type Link, type WaitOptions } from './netns.js';
export { Daemon, procStatusKb } from './daemon.js';
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
