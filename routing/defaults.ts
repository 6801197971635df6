/**
 * Where our routes go and how they are tagged, unless configured otherwise: the one place these numbers are
 * written (daemon/config.ts takes its defaults from here).
 *
 *   ip route show table 254 proto 202          (= `proto nodebgp` once protocols.ts registered the name)
 *   10.244.2.0/24 nhid 1312948225 via 10.0.0.2 dev eth0 proto nodebgp metric 20
 */
export const KERNEL_DEFAULTS = {
  /** RT_TABLE_MAIN. */
  table: 254,
  /** rtm_priority of our unicast routes: below the kernel's IPv6 default of 1024 and most DHCP/RA routes. */
  metric: 20,
  /** rtm_protocol of our routes: unassigned in rtnetlink.h, registered as "nodebgp" (protocols.ts). */
  protocol: 202,
} as const;

/**
 * rtm_priority of the blackhole routes for our own pod CIDRs (`ip route` prints
 * `blackhole 10.244.1.0/24 proto nodebgp metric 4278198272`, 0xff002000). A blackhole only keeps traffic to
 * unused pod addresses from following the default route; it must lose to every real route for the same
 * prefix, whoever installs it — ours (metric 20), a CNI's, an operator's, NetworkManager's (which goes into the
 * tens of thousands) — so it sits near the top of the u32 range, with room above it for an operator's
 * last-resort route. It is the value the daemon has always installed, so an upgrade rewrites no blackhole.
 */
export const BLACKHOLE_METRIC = 0xff002000;
