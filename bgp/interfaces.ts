/**
 * Our IPv6 next hop on an IPv4 session, found the way FRR finds it: the global IPv6 address of the interface
 * that holds the session's local IPv4 address. A pure view of an interface table (`os.networkInterfaces()`'s
 * shape), read when a session comes up, so an operator need not write the address into the config.
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { canonicalAddress, isLinkLocal6, parseIpv6 } from '../ip/address.js';

export type InterfaceTable = Readonly<Record<string, readonly NetworkInterfaceInfo[] | undefined>>;

/**
 * The first global IPv6 address (not link-local, not loopback, not IPv4-mapped) on the interface holding
 * `local`, or undefined (no such interface, or it has none).
 */
export function ipv6Beside(table: InterfaceTable, local: string): string | undefined {
  const want = canonicalAddress(local);
  if (want === undefined) return undefined;
  for (const addrs of Object.values(table)) {
    if (!addrs?.some((a) => canonicalAddress(a.address) === want)) continue;
    for (const a of addrs) {
      if (a.family !== 'IPv6' || a.internal) continue;
      const b = parseIpv6(a.address);
      if (
        b === undefined ||
        isLinkLocal6(b) ||
        (b[10] === 0xff && b[11] === 0xff && b.subarray(0, 10).every((x) => x === 0))
      )
        continue;
      return canonicalAddress(a.address);
    }
    return undefined;
  }
  return undefined;
}
