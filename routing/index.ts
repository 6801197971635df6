/** routing/: the Linux FIB of nodebgp. The daemon imports from here. */
export { Fib } from './fib.js';
export type { FibOptions, Clock } from './fib.js';
export type { FibEvent, FibEventType, FibEntryView, FibStats, FibStatus } from './api.js';
export type { Backend } from './backend.js';
export { NetlinkBackend } from './netlink-backend.js';
export type { NetlinkBackendOptions } from './netlink-backend.js';
export { NoopBackend } from './noop-backend.js';
export { KERNEL_DEFAULTS, BLACKHOLE_METRIC } from './defaults.js';
export { registerProtocol, NODEBGP_PROTOCOL } from './protocols.js';
export type { PrefixKey } from './prefix.js';
