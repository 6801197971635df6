/**
 * The CLI's tables, laid out the way operators of gobgp, birdc and vtysh expect: aligned columns, a header,
 * `*>` for the best path, durations as `00:12:04` or `3d02h`.
 */
import type { BfdView, FibEntryView, FibView, NeighborStatus, RouteView, StatusView } from '../views.js';

/** Left-aligned columns two spaces apart; the last column is never padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** `00:12:04` under a day, `3d02h` under ten weeks, `12w3d` beyond (vtysh's Up/Down column). */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(s / 86400);
  if (days === 0) return `${pad2(Math.floor(s / 3600))}:${pad2(Math.floor((s % 3600) / 60))}:${pad2(s % 60)}`;
  if (days < 70) return `${days}d${pad2(Math.floor((s % 86400) / 3600))}h`;
  return `${Math.floor(days / 7)}w${days % 7}d`;
}

/**
 * Down: why the peer may be silent (a TCP-MD5 or TTL-security guess), the error and the transition reason.
 * Up: only a past error worth knowing (the last reason is routine).
 */
function neighborNote(p: NeighborStatus): string {
  if (p.state === 'Established') return p.lastError ? `last: ${p.lastError}` : '';
  return [p.hint, p.lastError, p.lastReason].filter(Boolean).join('; ');
}

/** The FSM state, and while damped (RFC 4271 §8.1.1) the hold left and the flaps that earned it. */
function stateCell(p: NeighborStatus): string {
  if (p.dampedFor === undefined || p.dampedFor <= 0) return p.state;
  return `${p.state} (damped ${formatDuration(p.dampedFor)}, ${p.flaps ?? 0} flaps)`;
}

/**
 * Graceful restart: `-` off; `120s N` (our restart time, the peer's N bit); while the peer restarts
 * `restarting: 12 stale, 98s left`, once back until its End-of-RIB `stale: 12 stale, 300s left`.
 */
export function grCell(p: NeighborStatus): string {
  const g = p.gracefulRestart;
  if (g === undefined) return '-';
  if (g.state !== undefined)
    return `${g.state}: ${g.stale} stale${g.timeLeft !== undefined ? `, ${g.timeLeft}s left` : ''}`;
  if (g.restartTime === 0) return g.peer !== undefined ? 'peer only' : '-';
  if (g.peer === undefined) return `${g.restartTime}s`;
  return `${g.restartTime}s${g.peer.notification ? ' N' : ''}${g.peer.restarting ? ' R' : ''}`;
}

/** `Up`, or `Down (control detection time expired)`; `-` without BFD. */
function bfdCell(p: NeighborStatus): string {
  if (p.bfd === undefined) return '-';
  return p.bfd.state !== 'Up' && p.bfd.diag !== '' ? `${p.bfd.state} (${p.bfd.diag})` : p.bfd.state;
}

export function neighborsTable(peers: readonly NeighborStatus[], now = Date.now()): string {
  if (peers.length === 0) return 'No peers configured.\n';
  const withBfd = peers.some((p) => p.bfd !== undefined);
  const withGr = peers.some((p) => p.gracefulRestart !== undefined);
  const rows = peers.map((p) => [
    p.description ? `${p.address} (${p.description})` : p.address,
    String(p.asn),
    stateCell(p),
    formatDuration(now - p.since),
    ...(withBfd ? [bfdCell(p)] : []),
    ...(withGr ? [grCell(p)] : []),
    String(p.received),
    String(p.accepted),
    String(p.advertised),
    neighborNote(p),
  ]);
  const head = [
    'Peer',
    'AS',
    'State',
    'Up/Down',
    ...(withBfd ? ['BFD'] : []),
    ...(withGr ? ['GR'] : []),
    'Rcvd',
    'Accepted',
    'Adv',
  ];
  return table([...head, 'Last error/reason'], rows);
}

/** Microseconds as `100ms` or `1.5s`. */
function interval(us: number): string {
  return us >= 1_000_000 ? `${us / 1_000_000}s` : `${Math.round(us / 1000)}ms`;
}

/** `nodebgp bfd`: one row per session (birdc `show bfd sessions`, vtysh `show bfd peers brief`). */
export function bfdTable(v: BfdView): string {
  if (!v.enabled && v.sessions.length === 0) return 'No BFD sessions (set bfd: on a peer).\n';
  const rows = v.sessions.map((s) => [
    s.peer + (s.multihop ? ' (multihop)' : ''),
    s.state,
    s.remoteState,
    formatDuration(s.sinceMs),
    `${interval(s.txInterval)}/${interval(s.detectionTime)}`,
    `${interval(s.desiredMinTx)}/${interval(s.requiredMinRx)} x${s.detectMult}`,
    `${interval(s.remoteDesiredMinTx)}/${interval(s.remoteMinRx)} x${s.remoteDetectMult}`,
    `${s.rx}/${s.tx}`,
    String(s.discarded),
    String(s.downCount),
    s.localDiag === 0 ? '' : s.localDiagText,
  ]);
  const out = table(
    [
      'Peer',
      'State',
      'Remote',
      'Since',
      'Tx/Detect',
      'Local tx/rx',
      'Remote tx/rx',
      'Rx/Tx pkts',
      'Discarded',
      'Downs',
      'Last diagnostic',
    ],
    rows,
  );
  const d = Object.entries(v.discards).filter(([, n]) => n > 0);
  const notes = [
    d.length > 0 ? `Discarded before any session: ${d.map(([k, n]) => `${k} ${n}`).join(', ')}` : '',
    `BFD thread: timer late by ${v.timerLateMaxMs} ms at worst, ${v.timerLate50ms} times over 50 ms` +
      (v.scheduling !== undefined ? ` (${v.scheduling})` : '') +
      (v.timerLateMaxMs > 20 && v.timerLateRunqueueMs !== undefined
        ? `; ${v.timerLateRunqueueMs} ms of the worst spent runnable, waiting for a CPU`
        : ''),
    v.timerLate !== undefined && Object.keys(v.timerLate).length > 0
      ? `Timer lateness: ${Object.entries(v.timerLate)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}`
      : '',
  ].filter(Boolean);
  return `${out}\n${notes.join('\n')}\n`;
}

/** vtysh status codes: `*` valid, `>` best, `=` multipath; an ineligible path has no `*`. */
function routeMarks(r: RouteView): string {
  const valid = !r.reason.startsWith('ineligible');
  return `${r.stale === true ? 'S' : ' '}${valid ? '*' : ' '}${r.best ? '>' : r.multipath ? '=' : ' '}`;
}

export function routesTable(routes: readonly RouteView[]): string {
  if (routes.length === 0) return 'No routes.\n';
  const rows = routes.map((r) => [
    `${routeMarks(r)} ${r.prefix}`,
    r.nexthops.length > 0 ? r.nexthops.join(',') : r.local ? '0.0.0.0 (local)' : '-',
    r.local ? 'local' : r.peer,
    r.localPref === undefined ? '' : String(r.localPref),
    r.med === undefined ? '' : String(r.med),
    r.asPath === '' ? '(empty)' : r.asPath,
    originCode(r.origin),
    [...r.communities, ...r.largeCommunities].join(' '),
    r.service === undefined ? r.reason : `${r.reason}; service ${r.service}`,
  ]);
  const out = table(
    ['   Network', 'Next hop(s)', 'Peer', 'LocPrf', 'MED', 'Path', 'Origin', 'Communities', 'Best/Reason'],
    rows,
  );
  const best = routes.filter((r) => r.best).length;
  return `Status codes: S stale (graceful restart), * valid, > best, = multipath (ECMP)   Origin codes: i IGP, e EGP, ? incomplete\n${out}\n${countPrefixes(routes)} prefixes, ${routes.length} paths, ${best} best\n`;
}

function countPrefixes(routes: readonly RouteView[]): number {
  return new Set(routes.map((r) => r.prefix)).size;
}

function originCode(o: RouteView['origin']): string {
  return o === 'igp' ? 'i' : o === 'egp' ? 'e' : '?';
}

/** Adj-RIB-In/Out: the same columns without the decision. */
export function ribTable(routes: readonly RouteView[], direction: 'in' | 'out', peer: string): string {
  if (routes.length === 0)
    return direction === 'in' ? `Nothing received from ${peer}.\n` : `Nothing advertised to ${peer}.\n`;
  const rows = routes.map((r) => [
    r.prefix,
    r.nexthops.join(',') || '-',
    r.localPref === undefined ? '' : String(r.localPref),
    r.med === undefined ? '' : String(r.med),
    r.asPath === '' ? '(empty)' : r.asPath,
    originCode(r.origin),
    [...r.communities, ...r.largeCommunities].join(' '),
  ]);
  const head = direction === 'in' ? `Received from ${peer}:` : `Advertised to ${peer}:`;
  return `${head}\n${table(['Network', 'Next hop(s)', 'LocPrf', 'MED', 'Path', 'Origin', 'Communities'], rows)}${routes.length} prefixes\n`;
}

/** Wanted vs kernel; a `!` before the kernel column marks a difference. */
export function fibTable(fib: FibView): string {
  if (!fib.enabled)
    return 'kernel disabled (kernel.enabled: false in the config): nodebgp installs no routes.\n';
  if (fib.entries.length === 0) return 'No routes wanted in the kernel.\n';
  const rows = fib.entries.map((e) => [
    e.prefix,
    e.nexthops.length > 0 ? e.nexthops.join(',') : 'blackhole',
    kernelCell(e),
    e.stale === true ? `${e.status}, stale (previous run)` : e.status,
    e.error ?? '',
  ]);
  const out = table(['Prefix', 'Wanted next hops', 'Kernel next hops', 'Status', 'Error'], rows);
  const differ = fib.entries.filter((e) => !sameNexthops(e)).length;
  const stale = fib.entries.filter((e) => e.stale === true).length;
  const kept = stale > 0 ? `, ${stale} kept from the previous run until the restart's End-of-RIB sweep` : '';
  return `${out}\n${fib.entries.length} routes, ${differ} differ from the kernel (marked !)${kept}\n`;
}

function kernelCell(e: FibEntryView): string {
  const text =
    e.kernel === null ? '(none)' : e.kernel.nexthops.length > 0 ? e.kernel.nexthops.join(',') : 'blackhole';
  return sameNexthops(e) ? text : `! ${text}`;
}

function sameNexthops(e: FibEntryView): boolean {
  if (e.kernel === null) return false;
  // The kernel side names the interface (`10.77.0.1%eth0`); a wanted link-local one names it or an address of
  // ours. A wanted entry may give alternatives (`global|link-local%zone`): the one in the kernel counts.
  const bare = (n: string) => n.replace(/%.*$/, '');
  const kernel = new Set(e.kernel.nexthops.map(bare));
  const wanted = new Set(
    e.nexthops.map((n) => {
      const alternatives = n.split('|').map(bare);
      return alternatives.find((x) => kernel.has(x)) ?? alternatives[0]!;
    }),
  );
  return wanted.size === kernel.size && [...wanted].every((x) => kernel.has(x));
}

export function statusText(s: StatusView, now = Date.now()): string {
  const rows: [string, string][] = [
    ['Router', `AS ${s.asn}, router id ${s.routerId}, listening on ${s.listen}`],
    ['Node', [s.nodeAddress, s.nodeAddress6].filter(Boolean).join(', ')],
    ['Pod CIDRs', s.podCIDRs.join(', ') || '(none)'],
    ['Peers', `${s.peers.established}/${s.peers.configured} Established`],
    ['Loc-RIB', `${s.routes.prefixes} prefixes, ${s.routes.paths} paths`],
    [
      'Kernel',
      s.fib.enabled
        ? `${s.fib.installed} installed, ${s.fib.pending} pending, ${s.fib.failed} failed, ${s.fib.unresolvable} unresolvable`
        : 'disabled',
    ],
    ...kubernetesRows(s),
    ['Uptime', formatDuration(now - s.startedAt)],
    ['Config', s.config],
    ['Version', `nodebgp ${s.version}, pid ${s.pid}`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${(k === '' ? '' : k + ':').padEnd(w + 1)}  ${v}`).join('\n') + '\n';
}

function kubernetesRows(s: StatusView): [string, string][] {
  const k = s.kubernetes;
  if (!k) return [];
  const api = k.connected ? 'connected' : 'not connected';
  const rows: [string, string][] = [
    ['Kubernetes', `node ${k.nodeName || '(unnamed)'}, API ${api}, ${k.nodes} nodes seen`],
    ['Pod CIDRs from', k.podCIDRsSource === 'node' ? 'the Node (spec.podCIDRs)' : 'the config file'],
  ];
  if (k.routeReflectorClusterId) rows.push(['Reflector', `cluster id ${k.routeReflectorClusterId}`]);
  if (k.waiting) rows.push(['Waiting', k.waiting]);
  if (k.lastError) rows.push(['Last error', k.lastError]);
  if (k.problems > 0) rows.push(['Problems', `${k.problems} (see the log: k8s-peer-config)`]);
  rows.push(...serviceRows(k.services));
  return rows;
}

/** At most this many Service addresses in the text; `--json` has them all. */
const SERVICE_ROWS = 50;

function serviceRows(v: NonNullable<StatusView['kubernetes']>['services']): [string, string][] {
  if (v === undefined) return [];
  const api = v.connected ? 'watching' : 'not connected';
  const state = v.listed ? '' : ', not listed yet (nothing advertised)';
  const withheld = v.entries.filter((e) => !e.advertised).length;
  const rows: [string, string][] = [
    [
      'Services',
      `${v.services} Services, ${v.endpointSlices} EndpointSlices (${api}${state}); ` +
        `${v.advertised} addresses advertised, ${withheld} not`,
    ],
  ];
  for (const e of v.entries.slice(0, SERVICE_ROWS))
    rows.push([
      '',
      `${e.advertised ? '+' : '-'} ${e.address} ${e.kind}${e.service === '' ? '' : ` ${e.service}`}: ${e.detail}`,
    ]);
  if (v.entries.length > SERVICE_ROWS) rows.push(['', `… ${v.entries.length - SERVICE_ROWS} more (--json)`]);
  return rows;
}
