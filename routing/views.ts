/** The mirror's entries as the daemon and the CLI show them (`nodebgp fib`): text, not keys and bytes. */
import type { FibEntryView } from './api.js';
import type { FibStatus } from './api.js';
import type { Want } from './want.js';
import type { PrefixKey } from './prefix.js';
import type { KernelState } from './kernel.js';
import type { RouteShape } from './shape.js';
import { KERNEL_DEFAULTS } from './defaults.js';
import { RTN } from './netlink/constants.js';
import { formatAddress } from '../ip/address.js';
import { formatPrefix as formatKey } from '../ip/prefix.js';

export function kernelView(
  s: RouteShape,
  kernel: KernelState,
  protocol: number,
): { nexthops: string[]; protocol: string; metric: number } {
  const nexthops = s.nexthops.map((n) => {
    const dev = kernel.links.get(n.oif)?.name;
    return `${n.gateway ? formatAddress(n.gateway) : ''}${dev ? `%${dev}` : ''}`;
  });
  if (s.type === RTN.RTN_BLACKHOLE) nexthops.push('blackhole');
  if (s.type === RTN.RTN_UNREACHABLE) nexthops.push('unreachable');
  return {
    nexthops,
    protocol: protocol === KERNEL_DEFAULTS.protocol ? 'nodebgp' : String(protocol),
    metric: s.priority,
  };
}

/** One prefix of the mirror, read out of its columns. */
export interface EntryState {
  key: PrefixKey;
  /** undefined: stale (not set by the daemon); null: to be removed. */
  want: Want | null | undefined;
  installed: RouteShape | null;
  status: FibStatus;
  error: string | undefined;
  since: number;
}

export function entryView(e: EntryState, kernel: KernelState, protocol: number): FibEntryView {
  const w = e.want;
  const v: FibEntryView = {
    prefix: formatKey(e.key),
    nexthops: w?.kind === 'unicast' ? [...w.nexthops] : [],
    kind:
      w && w.kind !== 'unicast' ? w.kind : e.installed?.type === RTN.RTN_BLACKHOLE ? 'blackhole' : 'unicast',
    status: e.status,
    kernel: e.installed ? kernelView(e.installed, kernel, protocol) : null,
    since: e.since,
  };
  if (e.error) v.error = e.error;
  if (w === undefined) v.stale = true;
  return v;
}
