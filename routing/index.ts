/** routing/: the Linux FIB of nodebgp. The daemon imports from here. */
export { Fib } from './fib.js';
export type { FibOptions, FibEvent, FibEntryView, FibStats, FibStatus } from './fib.js';
export { registerProtocol, NODEBGP_PROTOCOL } from './protocols.js';
export type { PrefixKey } from './prefix.js';
