/**
 * The toolkit of the interop tests, the benchmarks and the lab runner: commands, the one `until()`, network
 * namespaces with veths and a teardown that always runs. It imports nothing of ours, and nothing of the daemon
 * (ip/, bgp/, routing/, daemon/) may import it. Compiled into dist/toolkit/ by `npm run build`, so the
 * benchmarks' plain .mjs files load it with plain node.
 */
export {
  alive,
  CommandError,
  inNs,
  procStatusKb,
  run,
  runSync,
  signal,
  sleep,
  startLogged,
  tryRun,
  type RunOptions,
  type RunResult,
  type StartOptions,
} from './run.js';
export { until, type UntilOptions } from './until.js';
export {
  addVeth,
  createNamespace,
  deleteNamespaces,
  destroyNamespaces,
  destroyNamespacesSync,
  killNamespaces,
  killNamespacesSync,
  Lab,
  listNamespaces,
  namespacePids,
  Netns,
  onExit,
  tempDir,
  type LabOptions,
  type Link,
  type LinkOptions,
  type VethEnd,
} from './netns.js';
export {
  FRR_BIN,
  FRR_USER,
  frrArgs,
  frrLog,
  frrPids,
  startFrr,
  startFrrDaemon,
  vtysh,
  vtyshArgv,
  type FrrDaemon,
  type FrrInstance,
  type FrrOptions,
} from './frr.js';
