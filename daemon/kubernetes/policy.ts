/**
 * Import and export policy for a cluster node, as pure functions of a `PolicyContext`, plus a small holder
 * whose filters the speaker keeps (SpeakerConfig.importFilter / exportFilter) while the daemon swaps the
 * context as nodes come and go (then calls the speaker's re-evaluation, if it has one).
 *
 * Import (what we accept from any peer):
 *   - never a default route (0.0.0.0/0, ::/0), never one of our own podCIDRs (a route back to ourselves);
 *   - with `importPrefixes`: prefixes inside a rule (`le`: up to that length; `exact`: the rule itself);
 *   - without: exactly the podCIDRs of the other nodes we know (the cluster's pod subnets, nothing else).
 * Export (what we send):
 *   - to everyone: our own podCIDRs;
 *   - when we are a route reflector, also to iBGP peers: what import accepts (the other nodes' subnets);
 *   - to eBGP peers (another AS): our podCIDRs only, with `exportCommunities` added and our AS prepended
 *     `exportPrepend` more times (the speaker has already prepended it once).
 */
import type { SpeakerConfig } from '../../bgp/api.js';
import { formatPrefix, prefixContains, type PrefixKey } from '../../ip/prefix.js';
import type { PathAttributes } from '../../bgp/wire/types.js';
import { prefixLength, type ImportPrefixRule } from './schema.js';

export interface PolicyContext {
  readonly localAsn: number;
  readonly ownPodCIDRs: readonly PrefixKey[];
  /** The other nodes' podCIDRs (the default import allow-list). */
  readonly clusterPodCIDRs: readonly PrefixKey[];
  /** Configured allow-list; replaces `clusterPodCIDRs` for import when set. */
  readonly importPrefixes?: readonly ImportPrefixRule[];
  /** This node reflects routes (RFC 4456) to its iBGP peers. */
  readonly routeReflector: boolean;
  /** The AS of each configured peer, keyed by address as the speaker names it. */
  readonly peerAsn: (peer: string) => number | undefined;
  /** RFC 1997 communities (uint32) added on export to eBGP peers. */
  readonly exportCommunities?: readonly number[];
  readonly exportPrepend?: number;
}

function isDefaultRoute(prefix: PrefixKey): boolean {
  return prefixLength(prefix) === 0;
}

export function ruleMatches(rule: ImportPrefixRule, prefix: PrefixKey): boolean {
  if (rule.exact === true) return rule.prefix === prefix;
  if (!prefixContains(rule.prefix, prefix)) return false;
  return rule.le === undefined || prefixLength(prefix) <= rule.le;
}

/** Whether a received route is accepted (see the file comment). */
export function importAllowed(ctx: PolicyContext, prefix: PrefixKey): boolean {
  if (isDefaultRoute(prefix)) return false;
  if (ctx.ownPodCIDRs.includes(prefix)) return false;
  if (ctx.importPrefixes !== undefined) return ctx.importPrefixes.some((r) => ruleMatches(r, prefix));
  return ctx.clusterPodCIDRs.includes(prefix);
}

/** The export verdict for one prefix to one peer: false, true, or changed attributes. */
export function exportDecision(
  ctx: PolicyContext,
  peer: string,
  prefix: PrefixKey,
  attributes: PathAttributes,
): boolean | PathAttributes {
  const own = ctx.ownPodCIDRs.includes(prefix);
  const peerAsn = ctx.peerAsn(peer);
  const external = peerAsn !== undefined && peerAsn !== ctx.localAsn;
  if (!own) return !external && ctx.routeReflector && importAllowed(ctx, prefix);
  if (!external) return true;
  return decorateExternal(ctx, attributes);
}

/** Adds the configured communities and extra copies of our AS (to the leading AS_SEQUENCE). */
export function decorateExternal(ctx: PolicyContext, a: PathAttributes): PathAttributes {
  const communities = ctx.exportCommunities ?? [];
  const prepend = ctx.exportPrepend ?? 0;
  if (communities.length === 0 && prepend === 0) return a;
  let out: PathAttributes = a;
  if (communities.length > 0) {
    const merged = [...new Set([...(a.communities ?? []), ...communities])].sort((x, y) => x - y);
    out = { ...out, communities: merged };
  }
  if (prepend > 0) {
    const extra: number[] = new Array<number>(prepend).fill(ctx.localAsn);
    const [first, ...rest] = out.asPath;
    out =
      first !== undefined && first.type === 2 && first.asns.length + prepend <= 255
        ? { ...out, asPath: [{ type: 2, asns: [...extra, ...first.asns] }, ...rest] }
        : { ...out, asPath: [{ type: 2, asns: extra }, ...out.asPath] };
  }
  return out;
}

/** Holds the current context; the filters read it on every call, so `update()` takes effect at once. */
export interface ClusterPolicy {
  readonly importFilter: NonNullable<SpeakerConfig['importFilter']>;
  readonly exportFilter: NonNullable<SpeakerConfig['exportFilter']>;
  update(ctx: PolicyContext): void;
  readonly context: PolicyContext;
  /** The import decision in words, for logs and the CLI. */
  explainImport(prefix: PrefixKey): string;
}

export function createClusterPolicy(initial: PolicyContext): ClusterPolicy {
  let ctx = initial;
  return {
    importFilter: (_peer, prefix) => importAllowed(ctx, prefix),
    exportFilter: (peer, prefix, attributes) => exportDecision(ctx, peer, prefix, attributes),
    update(next) {
      ctx = next;
    },
    get context() {
      return ctx;
    },
    explainImport(prefix) {
      const text = formatPrefix(prefix);
      if (isDefaultRoute(prefix)) return `${text}: refused, a default route`;
      if (ctx.ownPodCIDRs.includes(prefix)) return `${text}: refused, our own podCIDR`;
      if (importAllowed(ctx, prefix)) return `${text}: accepted`;
      return ctx.importPrefixes !== undefined
        ? `${text}: refused, outside importPrefixes`
        : `${text}: refused, not a podCIDR of another node`;
    },
  };
}
