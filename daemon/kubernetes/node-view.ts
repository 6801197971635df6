/**
 * What nodebgp needs of a `Node` object, as plain data: its name, pod subnets, InternalIPs, labels and
 * annotations. Pure: `nodeView(V1Node)` for the node source, `sameView` to decide whether to tell anyone.
 */
import type { V1Node } from '@kubernetes/client-node';
import { parsePrefix, type PrefixKey } from '../../ip/prefix.js';
import { isIpAddress } from '../../ip/address.js';

export interface NodeView {
  readonly name: string;
  /** `spec.podCIDRs` (falling back to `spec.podCIDR`), parsed; empty until the controller manager assigns one. */
  readonly podCIDRs: readonly PrefixKey[];
  /** `status.addresses` of type InternalIP, IPv4 and IPv6, in the API's order. */
  readonly internalIPs: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** A view and the problems met building it (a podCIDR that does not parse, an address that is not one). */
export interface NodeViewResult {
  readonly view: NodeView;
  readonly problems: readonly string[];
}

export function nodeView(node: V1Node): NodeViewResult {
  const name = node.metadata?.name ?? '';
  const problems: string[] = [];
  const cidrTexts = node.spec?.podCIDRs?.length
    ? node.spec.podCIDRs
    : node.spec?.podCIDR
      ? [node.spec.podCIDR]
      : [];
  const podCIDRs: PrefixKey[] = [];
  for (const text of cidrTexts) {
    const key = parsePrefix(text);
    if (key instanceof Error) problems.push(`node ${name}: spec.podCIDRs: ${key.message}`);
    else if (!podCIDRs.includes(key)) podCIDRs.push(key);
  }
  const internalIPs: string[] = [];
  for (const a of node.status?.addresses ?? []) {
    if (a.type !== 'InternalIP') continue;
    if (!isIpAddress(a.address))
      problems.push(`node ${name}: status.addresses: "${a.address}" is not an IP address`);
    else if (!internalIPs.includes(a.address)) internalIPs.push(a.address);
  }
  const view: NodeView = {
    name,
    podCIDRs,
    internalIPs,
    labels: { ...(node.metadata?.labels ?? {}) },
    annotations: { ...(node.metadata?.annotations ?? {}) },
  };
  return { view, problems };
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Whether two views say the same thing (so a heartbeat MODIFIED that changed nothing we use is silent). */
export function sameView(a: NodeView, b: NodeView): boolean {
  return (
    a.name === b.name &&
    sameList(a.podCIDRs, b.podCIDRs) &&
    sameList(a.internalIPs, b.internalIPs) &&
    sameRecord(a.labels, b.labels) &&
    sameRecord(a.annotations, b.annotations)
  );
}

/** The first address of a family (4 or 6) in a list, or undefined. */
export function addressOfFamily(addresses: readonly string[], family: 4 | 6): string | undefined {
  return addresses.find((a) => a.includes(':') === (family === 6));
}
