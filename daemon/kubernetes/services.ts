/**
 * Which Service addresses this node advertises, and why each is (not) advertised. Pure: Services,
 * EndpointSlices, our Node's name and `kubernetes.services` in; the plan out. The service source
 * (service-source.ts) calls `planServices` after every change; the cluster controller hands the routes to the
 * speaker and the known addresses to the import policy.
 *
 *   kind           address                                    advertised by
 *   loadBalancer   status.loadBalancer.ingress[].ip            externalTrafficPolicy Cluster: every node;
 *   external       spec.externalIPs                            Local: a node with a ready endpoint of it
 *   cluster        spec.clusterIPs (not "None")                internalTrafficPolicy Cluster / Local, the same way
 *   range          kubernetes.services.clusterIPRanges         every node, as one aggregate
 *
 * An endpoint is this node's when its EndpointSlice (label kubernetes.io/service-name, same namespace) lists it
 * with `nodeName` ours, and ready unless `conditions.ready` is false (the API: unknown counts as ready). Each
 * address is a /32 or /128. Communities and LOCAL_PREF come from the config and the Service's annotations
 * (`nodebgp.io/communities`, `nodebgp.io/local-preference`); a Service whose annotation does not parse is not
 * advertised (the operator asked for attributes we cannot give), and says so.
 *
 * `known` is every Service address of the cluster, selected or not and whatever the kinds switched on, plus
 * the ranges: the import policy refuses them from every peer (kube-proxy delivers them on every node, a BGP
 * route to one in our kernel would take that traffic elsewhere).
 */
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { parseIpv4, parseIpv6 } from '../../ip/address.js';
import { ipv4Key, ipv6Key, prefixContains, type PrefixKey } from '../../ip/prefix.js';
import {
  communitySchema,
  SERVICE_COMMUNITIES_ANNOTATION,
  SERVICE_LOCAL_PREF_ANNOTATION,
  type LabelSelector,
  type ServicesConfig,
} from './schema.js';

/** The EndpointSlice label naming its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export type TrafficPolicy = 'Cluster' | 'Local';

/** What we read of a Service. */
export interface ServiceView {
  /** `namespace/name`. */
  readonly key: string;
  readonly type: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Only the annotations we read. */
  readonly communities?: string;
  readonly localPreference?: string;
  readonly clusterIPs: readonly string[];
  readonly externalIPs: readonly string[];
  readonly loadBalancerIPs: readonly string[];
  readonly externalTrafficPolicy: TrafficPolicy;
  readonly internalTrafficPolicy: TrafficPolicy;
}

/** What we read of an EndpointSlice: its Service and the nodes with a ready endpoint in it. */
export interface SliceView {
  /** `namespace/name` of the slice. */
  readonly key: string;
  /** `namespace/name` of its Service ('' without the service-name label). */
  readonly service: string;
  /** Nodes with a ready endpoint, sorted, once each. */
  readonly readyNodes: readonly string[];
}

export function serviceView(s: V1Service): ServiceView {
  const m = s.metadata ?? {};
  const annotations = m.annotations ?? {};
  const clusterIPs = s.spec?.clusterIPs?.length
    ? s.spec.clusterIPs
    : s.spec?.clusterIP
      ? [s.spec.clusterIP]
      : [];
  return {
    key: `${m.namespace ?? ''}/${m.name ?? ''}`,
    type: s.spec?.type ?? 'ClusterIP',
    labels: { ...(m.labels ?? {}) },
    ...(annotations[SERVICE_COMMUNITIES_ANNOTATION] !== undefined
      ? { communities: annotations[SERVICE_COMMUNITIES_ANNOTATION] }
      : {}),
    ...(annotations[SERVICE_LOCAL_PREF_ANNOTATION] !== undefined
      ? { localPreference: annotations[SERVICE_LOCAL_PREF_ANNOTATION] }
      : {}),
    clusterIPs: clusterIPs.filter((ip) => ip !== '' && ip !== 'None'),
    externalIPs: s.spec?.externalIPs ?? [],
    loadBalancerIPs: (s.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip ? [i.ip] : [])),
    externalTrafficPolicy: s.spec?.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
    internalTrafficPolicy: s.spec?.internalTrafficPolicy === 'Local' ? 'Local' : 'Cluster',
  };
}

export function sliceView(e: V1EndpointSlice): SliceView {
  const m = e.metadata ?? {};
  const service = m.labels?.[SERVICE_NAME_LABEL];
  const ready = new Set<string>();
  for (const ep of e.endpoints ?? [])
    if (ep.nodeName && ep.conditions?.ready !== false) ready.add(ep.nodeName);
  return {
    key: `${m.namespace ?? ''}/${m.name ?? ''}`,
    service: service ? `${m.namespace ?? ''}/${service}` : '',
    readyNodes: [...ready].sort(),
  };
}

/** Whether two views say the same thing (a status-only change we do not read is silent). */
export function sameServiceView(a: ServiceView, b: ServiceView): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function sameSliceView(a: SliceView, b: SliceView): boolean {
  return (
    a.key === b.key &&
    a.service === b.service &&
    a.readyNodes.length === b.readyNodes.length &&
    a.readyNodes.every((n, i) => n === b.readyNodes[i])
  );
}

export type ServiceAddressKind = 'loadBalancer' | 'external' | 'cluster' | 'range';

/** Why an address is advertised by this node, or why not. */
export type ServiceReason =
  /** Advertised: the traffic policy is Cluster, so every node does. */
  | 'policy-cluster'
  /** Advertised: the policy is Local and this node has a ready endpoint. */
  | 'local-endpoint'
  /** Advertised: a configured cluster IP range, by every node. */
  | 'range'
  /** Not advertised: the policy is Local and this node has no ready endpoint (now). */
  | 'no-local-endpoint'
  /** Not advertised: the Service's labels do not match `services.selector`. */
  | 'not-selected'
  /** Not advertised: an annotation of the Service does not parse. */
  | 'bad-annotation'
  /** Not advertised: the address in the Service is not an IP address. */
  | 'bad-address';

export interface ServiceAddress {
  /** `namespace/name`, '' for a range. */
  readonly service: string;
  readonly kind: ServiceAddressKind;
  /** The /32, /128 or range. */
  readonly prefix: PrefixKey;
  readonly advertised: boolean;
  readonly why: ServiceReason;
  /** The why in words, e.g. "externalTrafficPolicy Local: no ready endpoint on node-1 (ready on node-2)". */
  readonly detail: string;
}

/** One advertised prefix, merged over the Services that share it. */
export interface ServiceRoute {
  readonly prefix: PrefixKey;
  readonly services: readonly string[];
  /** RFC 1997 communities (uint32), sorted. */
  readonly communities: readonly number[];
  readonly localPref?: number;
}

export interface ServicePlan {
  /** Every address considered, sorted by service, kind, then prefix. */
  readonly entries: readonly ServiceAddress[];
  /** What this node advertises, sorted by prefix key. */
  readonly routes: readonly ServiceRoute[];
  /** Every Service address of the cluster (host prefixes) and the configured ranges. */
  readonly known: KnownServiceAddresses;
  /** Problems worth a log line: bad annotations and addresses, naming the Service and the field. */
  readonly problems: readonly string[];
}

/** The Service addresses of the cluster, for the import policy: a set lookup and a few ranges. */
export interface KnownServiceAddresses {
  readonly hosts: ReadonlySet<PrefixKey>;
  readonly ranges: readonly PrefixKey[];
}

export function isServiceAddress(known: KnownServiceAddresses | undefined, prefix: PrefixKey): boolean {
  if (known === undefined) return false;
  if (known.hosts.has(prefix)) return true;
  for (const r of known.ranges) if (prefixContains(r, prefix)) return true;
  return false;
}

/** An address as its /32 or /128 key; undefined for text that is no address. */
export function hostPrefix(address: string): PrefixKey | undefined {
  if (!address.includes(':')) {
    const v4 = parseIpv4(address);
    return v4 === undefined ? undefined : ipv4Key(v4, 32);
  }
  const v6 = parseIpv6(address);
  if (v6 === undefined) return undefined;
  // An IPv4-mapped address (::ffff:a.b.c.d) is the IPv4 address it stands for.
  const mapped = v6.subarray(0, 12).equals(MAPPED_PREFIX);
  return mapped ? ipv4Key(v6.readUInt32BE(12), 32) : ipv6Key(v6, 128);
}

const MAPPED_PREFIX = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);

/** A Kubernetes label selector over a label set (`{}` matches everything). */
export function selectorMatches(labels: Readonly<Record<string, string>>, s: LabelSelector): boolean {
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of s.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const value = labels[e.key];
    const inValues = has && (e.values ?? []).includes(value!);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** The Service's communities and LOCAL_PREF with the config's defaults, or what is wrong with an annotation. */
function attributesOf(
  config: ServicesConfig,
  svc?: Pick<ServiceView, 'communities' | 'localPreference'>,
): { communities: number[]; localPref?: number } | { problem: string } {
  const communities = new Set(config.communities);
  if (svc?.communities !== undefined) {
    for (const text of svc.communities.split(/[\s,]+/).filter((t) => t !== '')) {
      const parsed = communitySchema.safeParse(text);
      if (!parsed.success)
        return {
          problem: `annotation ${SERVICE_COMMUNITIES_ANNOTATION}: "${text}": ${parsed.error.issues[0]?.message}`,
        };
      communities.add(parsed.data);
    }
  }
  let localPref = config.localPreference;
  if (svc?.localPreference !== undefined) {
    const text = svc.localPreference.trim();
    const n = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
    if (!(n <= 4294967295))
      return {
        problem: `annotation ${SERVICE_LOCAL_PREF_ANNOTATION}: "${svc.localPreference}": expected 0..4294967295`,
      };
    localPref = n;
  }
  return {
    communities: [...communities].sort((a, b) => a - b),
    ...(localPref !== undefined ? { localPref } : {}),
  };
}

const KIND_ORDER: Record<ServiceAddressKind, number> = { range: 0, loadBalancer: 1, external: 2, cluster: 3 };

function comparePrefix(a: PrefixKey, b: PrefixKey): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The nodes with a ready endpoint of each Service (`namespace/name`). */
export function readyNodesByService(slices: Iterable<SliceView>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const s of slices) {
    if (s.service === '') continue;
    let nodes = out.get(s.service);
    if (nodes === undefined) out.set(s.service, (nodes = new Set()));
    for (const n of s.readyNodes) nodes.add(n);
  }
  return out;
}

export function planServices(
  services: Iterable<ServiceView>,
  slices: Iterable<SliceView>,
  nodeName: string,
  config: ServicesConfig,
): ServicePlan {
  const entries: ServiceAddress[] = [];
  const problems: string[] = [];
  const hosts = new Set<PrefixKey>();
  const ready = readyNodesByService(slices);
  const routes = new Map<PrefixKey, { services: string[]; communities: Set<number>; localPref?: number }>();
  const advertise = (
    service: string,
    prefix: PrefixKey,
    attrs: { communities: number[]; localPref?: number },
  ) => {
    let r = routes.get(prefix);
    if (r === undefined) routes.set(prefix, (r = { services: [], communities: new Set() }));
    if (service !== '') r.services.push(service);
    for (const c of attrs.communities) r.communities.add(c);
    // Two Services sharing an address: the higher preference (the one that asked for more) wins.
    if (attrs.localPref !== undefined) r.localPref = Math.max(r.localPref ?? 0, attrs.localPref);
  };
  const defaults = {
    communities: [...config.communities].sort((a, b) => a - b),
    localPref: config.localPreference,
  };
  for (const range of config.clusterIPRanges) {
    entries.push({
      service: '',
      kind: 'range',
      prefix: range,
      advertised: true,
      why: 'range',
      detail: 'cluster IP range, advertised by every node',
    });
    advertise('', range, defaults);
  }
  for (const svc of services) {
    if (svc.type === 'ExternalName') continue;
    const kinds: [Exclude<ServiceAddressKind, 'range'>, readonly string[], TrafficPolicy][] = [];
    kinds.push([
      'loadBalancer',
      svc.type === 'LoadBalancer' ? svc.loadBalancerIPs : [],
      svc.externalTrafficPolicy,
    ]);
    kinds.push(['external', svc.externalIPs, svc.externalTrafficPolicy]);
    kinds.push(['cluster', svc.clusterIPs, svc.internalTrafficPolicy]);
    const wanted = {
      loadBalancer: config.loadBalancerIPs,
      external: config.externalIPs,
      cluster: config.clusterIPs,
    };
    const selected = config.selector === undefined || selectorMatches(svc.labels, config.selector);
    const attrs = selected ? attributesOf(config, svc) : undefined;
    if (attrs !== undefined && 'problem' in attrs)
      problems.push(`service ${svc.key}: ${attrs.problem}; not advertised`);
    const readyHere = ready.get(svc.key);
    for (const [kind, addresses, policy] of kinds) {
      for (const address of addresses) {
        const prefix = hostPrefix(address);
        if (prefix === undefined) {
          if (wanted[kind]) problems.push(`service ${svc.key}: "${address}" is not an IP address`);
          continue;
        }
        hosts.add(prefix);
        if (!wanted[kind]) continue;
        const entry = (advertised: boolean, why: ServiceReason, detail: string): void => {
          entries.push({ service: svc.key, kind, prefix, advertised, why, detail });
        };
        if (!selected) {
          entry(false, 'not-selected', 'labels do not match kubernetes.services.selector');
          continue;
        }
        if (attrs !== undefined && 'problem' in attrs) {
          entry(false, 'bad-annotation', attrs.problem);
          continue;
        }
        const field = kind === 'cluster' ? 'internalTrafficPolicy' : 'externalTrafficPolicy';
        if (policy === 'Cluster') {
          entry(true, 'policy-cluster', `${field} Cluster: every node`);
        } else if (readyHere?.has(nodeName) === true) {
          entry(true, 'local-endpoint', `${field} Local: a ready endpoint on ${nodeName}`);
        } else {
          const elsewhere = [...(readyHere ?? [])].sort();
          entry(
            false,
            'no-local-endpoint',
            `${field} Local: no ready endpoint on ${nodeName}` +
              (elsewhere.length > 0 ? ` (ready on ${elsewhere.join(', ')})` : ' (none ready anywhere)'),
          );
          continue;
        }
        advertise(svc.key, prefix, attrs!);
      }
    }
  }
  entries.sort(
    (a, b) =>
      (a.service < b.service ? -1 : a.service > b.service ? 1 : 0) ||
      KIND_ORDER[a.kind] - KIND_ORDER[b.kind] ||
      comparePrefix(a.prefix, b.prefix),
  );
  const routeList: ServiceRoute[] = [...routes]
    .sort(([a], [b]) => comparePrefix(a, b))
    .map(([prefix, r]) => ({
      prefix,
      services: [...new Set(r.services)].sort(),
      communities: [...r.communities].sort((a, b) => a - b),
      ...(r.localPref !== undefined ? { localPref: r.localPref } : {}),
    }));
  return { entries, routes: routeList, known: { hosts, ranges: config.clusterIPRanges }, problems };
}
