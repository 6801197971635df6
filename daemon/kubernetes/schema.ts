/**
 * The `kubernetes:` section of the config file, as a zod fragment the daemon's schema (daemon/config.ts)
 * embeds as `kubernetes: kubernetesSchema.optional()`. Every key is documented in docs/kubernetes.md.
 *
 * The same peer schema validates the `nodebgp.io/peers` node annotation (`annotationPeersSchema`), so a peer
 * written in an annotation and one written in the file accept exactly the same fields.
 */
import { z } from 'zod';
import { importRuleSchema, importRulesSchema, prefixLength, type ImportRule } from '../import-rules.js';
import { canonicalAddress, parseAddress, parseIpv4 } from '../../ip/address.js';
import { parsePrefix } from '../../ip/prefix.js';
import {
  bfdSchema,
  maxPrefixesSchema,
  passwordFileSchema,
  peerSecurityShape,
  ttlSecuritySchema,
} from '../security-schema.js';

/**
 * The label that makes a node a route reflector (its value: the RFC 4456 CLUSTER_ID). The
 * `node-restriction.kubernetes.io/` prefix is one the NodeRestriction admission plugin forbids a kubelet to
 * set on its own Node, so a node cannot make itself a reflector (and switch the cluster's mesh off).
 */
export const ROUTE_REFLECTOR_LABEL = 'node-restriction.kubernetes.io/nodebgp-route-reflector';
/** Read before 0.2, and ignored since (any kubelet may set it on its own Node): reported when seen. */
export const LEGACY_ROUTE_REFLECTOR_KEY = 'nodebgp.io/route-reflector';
export const PEERS_ANNOTATION = 'nodebgp.io/peers';
/** On a Service: RFC 1997 communities added to its addresses' routes, `65000:100,65000:200`. */
export const SERVICE_COMMUNITIES_ANNOTATION = 'nodebgp.io/communities';
/** On a Service: LOCAL_PREF of its addresses' routes (sent to iBGP peers only, RFC 4271 §5.1.5). */
export const SERVICE_LOCAL_PREF_ANNOTATION = 'nodebgp.io/local-preference';

/**
 * An IP address, given in its one spelling (`canonicalAddress`): IPv6 in RFC 5952 form, an IPv4-mapped
 * address (`::ffff:10.0.0.5`) as the IPv4 address it stands for, so two spellings of one peer are one peer
 * and the duplicate check sees them. A zone id (`fe80::1%eth0`) is refused with its own message: sessions
 * over link-local addresses are not supported (use a global or unique-local address).
 */
export const ipAddress = z.string('expected an IP address').transform((text, ctx) => {
  const parsed = parseAddress(text);
  if (parsed?.zone !== undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `has a zone id (%${parsed.zone}): link-local sessions are not supported; use a global address`,
    });
    return z.NEVER;
  }
  const canonical = parsed === undefined ? undefined : canonicalAddress(text);
  if (canonical === undefined) {
    ctx.addIssue({ code: 'custom', message: 'not an IPv4 or IPv6 address' });
    return z.NEVER;
  }
  return canonical;
});
const int = (what: string) => z.number(`expected ${what}`).int(`expected ${what}`);
const ranged = (lo: number, hi: number, what = 'an integer') =>
  int(what).min(lo, `must be ${lo}..${hi}`).max(hi, `must be ${lo}..${hi}`);
const asn = ranged(1, 4294967295, 'an AS number');
const holdTime = int('seconds').refine((v) => v === 0 || (v >= 3 && v <= 65535), 'must be 0 or 3..65535');

/** One BGP peer as an annotation or a config entry gives it (the subset of PeerConfig a node may set). */
export const annotationPeerSchema = z.strictObject({
  address: ipAddress,
  asn,
  port: ranged(1, 65535, 'a TCP port').optional(),
  holdTime: holdTime.optional(),
  localAddress: ipAddress.optional(),
  ttl: ranged(1, 255).optional(),
  passive: z.boolean('expected true or false').optional(),
  description: z.string('expected text').max(200, 'must be at most 200 characters').optional(),
  /** What this peer may give us (replaces `importPrefixes` for it); `[]`: nothing. */
  import: importRulesSchema.optional(),
  ttlSecurity: ttlSecuritySchema.optional(),
  bfd: bfdSchema.optional(),
  /** A password in an annotation would be readable by anyone who can read Nodes: only a file path here. */
  passwordFile: passwordFileSchema.optional(),
});
export const annotationPeersSchema = z.array(annotationPeerSchema, 'expected a JSON list of peers');
export type AnnotationPeer = z.output<typeof annotationPeerSchema>;

/** An external peer from the config: every node peers with it, or only nodes whose labels match. */
export const externalPeerSchema = annotationPeerSchema.extend({
  /** Label equality match (all must hold), like a Pod's nodeSelector; absent = every node. */
  nodeSelector: z.record(z.string(), z.string('expected a label value')).optional(),
  gracefulRestartTime: ranged(0, 4095, 'seconds').optional(),
  ...peerSecurityShape,
});
export type ExternalPeer = z.output<typeof externalPeerSchema>;

/** Kept for the policy's callers: the rules are import-rules.ts's. */
export type ImportPrefixRule = ImportRule;
export const importPrefixSchema = importRuleSchema;

export const communitySchema = z
  .string('expected a community such as 65000:100')
  .regex(/^\d{1,5}:\d{1,5}$/, 'expected ASN:VALUE such as 65000:100')
  .refine((s) => s.split(':').every((p) => Number(p) <= 65535), 'each half must be 0..65535')
  .transform((s) => {
    const [hi, lo] = s.split(':').map(Number);
    return hi! * 65536 + lo!;
  });

const prefix = z.string('expected a prefix such as 10.96.0.0/12').transform((text, ctx) => {
  const key = parsePrefix(text);
  if (key instanceof Error) {
    ctx.addIssue({ code: 'custom', message: key.message.replace(/^"[^"]*": /, '') });
    return z.NEVER;
  }
  return key;
});

/** A Kubernetes LabelSelector (matchLabels and matchExpressions, all must hold); `{}` matches everything. */
export const labelSelectorSchema = z.strictObject({
  matchLabels: z.record(z.string(), z.string('expected a label value')).optional(),
  matchExpressions: z
    .array(
      z
        .strictObject({
          key: z.string('expected a label key').min(1, 'must not be empty'),
          operator: z.enum(
            ['In', 'NotIn', 'Exists', 'DoesNotExist'],
            'must be In, NotIn, Exists or DoesNotExist',
          ),
          values: z.array(z.string('expected a label value'), 'expected a list of values').optional(),
        })
        .superRefine((e, ctx) => {
          const needs = e.operator === 'In' || e.operator === 'NotIn';
          if (needs && (e.values === undefined || e.values.length === 0))
            ctx.addIssue({
              code: 'custom',
              path: ['values'],
              message: `must not be empty with ${e.operator}`,
            });
          if (!needs && e.values !== undefined && e.values.length > 0)
            ctx.addIssue({ code: 'custom', path: ['values'], message: `must be empty with ${e.operator}` });
        }),
      'expected a list of expressions',
    )
    .optional(),
});
export type LabelSelector = z.output<typeof labelSelectorSchema>;

/**
 * `kubernetes.services`: which Service addresses this node advertises (daemon/kubernetes/services.ts). Absent:
 * none (the Services are not even watched).
 */
export const servicesSchema = z.strictObject({
  /** `status.loadBalancer.ingress[].ip` of type LoadBalancer Services, honouring externalTrafficPolicy. */
  loadBalancerIPs: z.boolean('expected true or false').default(true),
  /** `spec.externalIPs`, honouring externalTrafficPolicy. */
  externalIPs: z.boolean('expected true or false').default(true),
  /** Each Service's own `spec.clusterIPs` as /32 and /128, honouring internalTrafficPolicy. */
  clusterIPs: z.boolean('expected true or false').default(false),
  /** The cluster's Service ranges (`--service-cluster-ip-range`), each advertised as one aggregate by every node. */
  clusterIPRanges: z
    .array(prefix, 'expected a list of prefixes')
    .default([])
    .superRefine((ranges, ctx) => {
      ranges.forEach((r, i) => {
        if (prefixLength(r) === 0)
          ctx.addIssue({ code: 'custom', path: [i], message: 'must not be a default route' });
      });
    }),
  /** Only Services whose labels match; absent: every Service. */
  selector: labelSelectorSchema.optional(),
  /**
   * Which external peers (addresses, as in `kubernetes.peers` or a node's peers annotation) get the Service
   * routes; absent: every peer that is not another node. The node mesh never gets them.
   */
  exportPeers: z.array(ipAddress, 'expected a list of peer addresses').optional(),
  /** Communities added to every Service route (a Service's annotation adds its own). */
  communities: z.array(communitySchema, 'expected a list of communities').default([]),
  /** LOCAL_PREF of every Service route (sent to iBGP peers); a Service's annotation overrides it. */
  localPreference: ranged(0, 4294967295, 'a local preference').optional(),
});
export type ServicesConfig = z.output<typeof servicesSchema>;

export const kubernetesSchema = z.strictObject({
  enabled: z.boolean('expected true or false').default(true),
  /** Our Node's name; default the NODE_NAME environment variable (the DaemonSet sets it from the downward API). */
  nodeName: z.string('expected a node name').min(1, 'must not be empty').optional(),
  /** A kubeconfig file; default in-cluster service account, else KUBECONFIG / ~/.kube/config. */
  kubeconfig: z.string('expected a path').optional(),
  /** Automatic iBGP full mesh between all nodes (turned off by itself when a route reflector exists). */
  mesh: z.boolean('expected true or false').default(true),
  /** The max-prefix limit of node-to-node sessions (default peers.ts MESH_MAX_PREFIXES). */
  meshMaxPrefixes: maxPrefixesSchema.optional(),
  /**
   * Route reflectors: nodes labelled ROUTE_REFLECTOR_LABEL=<clusterId> (only that value counts when
   * `clusterId` is set), and the nodes named in `nodes` (with `clusterId`).
   */
  routeReflector: z
    .strictObject({
      clusterId: z
        .string('expected a cluster id')
        .refine(
          (s) => parseIpv4(s) !== undefined,
          'must be a dotted quad (RFC 4456 CLUSTER_ID), e.g. 10.0.0.1',
        )
        .optional(),
      nodes: z
        .array(z.string('expected a node name').min(1, 'must not be empty'), 'expected a list of node names')
        .optional(),
    })
    .superRefine((r, ctx) => {
      if (r.nodes !== undefined && r.clusterId === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['clusterId'],
          message: 'is required with routeReflector.nodes',
        });
    })
    .optional(),
  /** The node annotation read for per-node external peers. */
  peerAnnotation: z.string('expected an annotation key').default(PEERS_ANNOTATION),
  /** Take our pod subnets from Node.spec.podCIDRs (false: from node.podCIDRs in the file). */
  podCIDRFromNode: z.boolean('expected true or false').default(true),
  /** Accepted received prefixes; default: exactly the other nodes' podCIDRs. */
  importPrefixes: importRulesSchema.optional(),
  /** Peers outside the cluster (top-of-rack routers), for every node or the nodes a nodeSelector picks. */
  peers: z
    .array(externalPeerSchema, 'expected a list of peers')
    .default([])
    .superRefine((peers, ctx) => {
      const seen = new Map<string, number>();
      peers.forEach((p, i) => {
        const first = seen.get(p.address);
        if (first === undefined) seen.set(p.address, i);
        else
          ctx.addIssue({
            code: 'custom',
            path: [i, 'address'],
            message: `duplicate of kubernetes.peers[${first}].address`,
          });
      });
    }),
  /** Added to our podCIDRs when exported to eBGP peers. */
  exportCommunities: z.array(communitySchema, 'expected a list of communities').default([]),
  /** Extra copies of our AS prepended when exporting to eBGP peers (0..10). */
  exportPrepend: ranged(0, 10).default(0),
  /** Relist / rewatch backoff in milliseconds. */
  resyncBackoff: z
    .strictObject({ initialMs: ranged(10, 60_000).default(500), maxMs: ranged(100, 600_000).default(30_000) })
    .default({ initialMs: 500, maxMs: 30_000 }),
  /** Set the Node's NetworkUnavailable condition to False once routes are in place. */
  setNetworkCondition: z.boolean('expected true or false').default(true),
  /** BFD for every cluster peer (node-to-node and external) that does not set its own. */
  bfd: bfdSchema.optional(),
  /** TCP-MD5 password for the node-to-node sessions, from a file (a Secret mounted into the pod). */
  meshPasswordFile: passwordFileSchema.optional(),
  /** Advertise Service addresses (LoadBalancer, external, cluster IPs); absent: none. */
  services: servicesSchema.optional(),
});

export type KubernetesConfig = z.output<typeof kubernetesSchema>;

export { prefixLength };
