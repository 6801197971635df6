/**
 * The Kubernetes side of the daemon: what daemon/main.ts and daemon/config.ts import. See cluster.ts for the
 * wiring, docs/kubernetes.md for the behaviour and every config key.
 */
export { ClusterController, planCluster } from './cluster.js';
export type {
  ClusterControllerEvents,
  ClusterControllerOptions,
  ClusterPeerChange,
  ClusterPlan,
  ServiceChange,
} from './cluster.js';
export { ServiceSource } from './service-source.js';
export { isServiceAddress, planServices } from './services.js';
export type { ServiceAddress, ServicePlan, ServiceReason, ServiceRoute } from './services.js';
export { NodeSource, loadKubeConfig } from './node-source.js';
export type { Backoff, NodeSourceEvents, NodeSourceOptions } from './node-source.js';
export type { NodeView } from './node-view.js';
export { desiredAdvertisements, desiredPeers, diffPeers, reflectorClusterId } from './peers.js';
export type { PeerDiff, PeerPlan, PeerPlanOptions } from './peers.js';
export { createClusterPolicy, exportDecision, importAllowed } from './policy.js';
export type { ClusterPolicy, PolicyContext } from './policy.js';
export {
  kubernetesSchema,
  LEGACY_ROUTE_REFLECTOR_KEY,
  PEERS_ANNOTATION,
  ROUTE_REFLECTOR_LABEL,
} from './schema.js';
export type { KubernetesConfig } from './schema.js';
export { NodeStatusReporter } from './status.js';
