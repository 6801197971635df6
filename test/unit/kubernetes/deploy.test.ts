/**
 * The manifests in deploy/: every object validates against Kubernetes' own API schemas (kubernetes-models:
 * the OpenAPI definitions of Kubernetes compiled to validators; no API server is needed), and the DaemonSet,
 * RBAC and ConfigMap give an operator what a node agent should: rollouts that fit graceful restart, a
 * grace period longer than the daemon's own stop deadline, RuntimeDefault seccomp, only the capabilities the
 * daemon uses, probes on the daemon's health port, memory from the benchmarks' figures, narrow RBAC.
 * (The schemas ignore unknown fields, as a lenient API server would; every field relied on is asserted.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import {
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
} from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseConfig } from '../../../daemon/config.js';
import { STOP_DEADLINE_MS } from '../../../daemon/main.js';

const root = new URL('../../../deploy/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, root), 'utf8');

const MODELS = [
  DaemonSet,
  ConfigMap,
  ServiceAccount,
  ClusterRole,
  ClusterRoleBinding,
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
];
type Kind = InstanceType<(typeof MODELS)[number]>;

/** Every document of a manifest file as its kubernetes-models object, validated. */
function objects(name: string): Kind[] {
  return parseAllDocuments(read(name)).map((doc, i) => {
    expect(doc.errors, `${name}: ${doc.errors.join('; ')}`).toEqual([]);
    const data = doc.toJS() as { apiVersion?: string; kind?: string };
    const Model = MODELS.find((m) => m.apiVersion === data.apiVersion && m.kind === data.kind);
    if (!Model) throw new Error(`${name} #${i}: no schema for ${data.apiVersion} ${data.kind}`);
    const object = new Model(data as never);
    object.validate();
    return object;
  });
}

function only<T extends Kind>(all: Kind[], Model: new (...a: never[]) => T): T {
  const found = all.filter((o): o is T => o instanceof Model);
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** Kubernetes quantities as bytes (the binary and decimal suffixes the manifests use). */
function bytes(q: string | number | undefined): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)?$/.exec(String(q));
  if (!m) throw new Error(`not a memory quantity: ${q}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

/** nodebgp's peak RSS (bytes) with `prefixes` routes in the kernel, from bench/README.md's reference table. */
function benchPeakRss(prefixes: number): number {
  const table = readFileSync(new URL('../../../bench/README.md', import.meta.url), 'utf8');
  const row = table
    .split('\n')
    .map((l) => l.split('|').map((c) => c.trim()))
    .find((c) => c[1] === 'nodebgp (FIB)' && Number(c[2]?.replace(/,/g, '')) === prefixes);
  if (!row) throw new Error(`bench/README.md has no nodebgp (FIB) row for ${prefixes} prefixes`);
  return Number(row[5]) * 1e6;
}

const all = readdirSync(root)
  .filter((f) => f.endsWith('.yaml') && f !== 'example-config.yaml') // that one is nodebgp's own config
  .flatMap((f) => objects(f));
const ds = only(all, DaemonSet);
const pod = ds.spec!.template.spec!;
const container = pod.containers[0]!;
const cm = only(all, ConfigMap);
const config = parseConfig(cm.data!['config.yaml']!, 'deploy/configmap.yaml');

describe('deploy/ against Kubernetes schemas', () => {
  it('every object validates, and a wrong type is caught', () => {
    expect(all.map((o) => o.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'ConfigMap',
      'DaemonSet',
      'ServiceAccount',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
    ]);
    const broken = structuredClone(ds.toJSON()) as unknown as {
      spec: { template: { spec: { containers: { ports?: unknown[] }[] } } };
    };
    broken.spec.template.spec.containers[0]!.ports = [{ containerPort: '179' }];
    expect(() => new DaemonSet(broken as never).validate()).toThrow(/containerPort must be integer/);
  });
});

describe('the DaemonSet, as an operator expects of a node agent', () => {
  it('runs on every node with host networking, NODE_NAME and the host control socket', () => {
    expect(ds.spec!.selector.matchLabels).toEqual(ds.spec!.template.metadata!.labels);
    expect(pod.tolerations).toContainEqual({ operator: 'Exists' });
    expect(pod.hostNetwork).toBe(true);
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.containers).toHaveLength(1);
    expect(container.env).toContainEqual({
      name: 'NODE_NAME',
      valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } },
    });
    const run = container.volumeMounts!.find((m) => m.mountPath === '/run/nodebgp')!;
    expect(pod.volumes).toContainEqual({
      name: run.name,
      hostPath: { path: '/run/nodebgp', type: 'DirectoryOrCreate' },
    });
    expect(config.controlSocket.startsWith('/run/nodebgp/')).toBe(true);
    const etc = container.volumeMounts!.find((m) => m.mountPath === '/etc/nodebgp')!;
    expect(pod.volumes).toContainEqual({ name: etc.name, configMap: { name: cm.metadata!.name } });
  });

  it('rolls one node at a time, without surge, and waits for the new pod to peer', () => {
    expect(ds.spec!.updateStrategy).toEqual({
      type: 'RollingUpdate',
      // Two pods on one node would both bind port 179 on the host.
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    });
    expect(ds.spec!.minReadySeconds).toBeGreaterThanOrEqual(5);
  });

  it("gives a stopping pod more than the daemon's own stop deadline, and not much more", () => {
    const grace = pod.terminationGracePeriodSeconds!;
    expect(grace).toBeGreaterThanOrEqual((2 * STOP_DEADLINE_MS) / 1000);
    expect(grace).toBeLessThanOrEqual(60);
  });

  it('is confined: RuntimeDefault seccomp, read-only root, NET_ADMIN and NET_BIND_SERVICE only', () => {
    expect(pod.securityContext?.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    const sc = container.securityContext!;
    expect(sc.privileged).not.toBe(true);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.capabilities!.drop).toEqual(['ALL']);
    expect([...sc.capabilities!.add!].sort()).toEqual(['NET_ADMIN', 'NET_BIND_SERVICE']);
    expect(pod.hostPID).not.toBe(true);
  });

  it("probes the daemon's health port: /livez for liveness, /readyz (sessions) for readiness", () => {
    expect(config.health).not.toBe(false);
    const health = config.health as { address: string; port: number };
    for (const [probe, path] of [
      [container.livenessProbe, '/livez'],
      [container.readinessProbe, '/readyz'],
    ] as const) {
      expect(probe?.httpGet).toEqual({ host: health.address, port: health.port, path });
      expect(probe!.timeoutSeconds ?? 1).toBeLessThan(probe!.periodSeconds ?? 10);
    }
    // Liveness tolerates a busy minute (a million routes arriving) before it restarts anything.
    const l = container.livenessProbe!;
    expect((l.periodSeconds ?? 10) * (l.failureThreshold ?? 3)).toBeGreaterThanOrEqual(60);
  });

  it('asks for memory from what the benchmarks measure, with V8 heap capped below the limit', () => {
    const { requests, limits } = container.resources!;
    expect(bytes(requests!.memory)).toBeGreaterThanOrEqual(benchPeakRss(100_000));
    const limit = bytes(limits!.memory);
    expect(limit).toBeGreaterThanOrEqual(1.5 * benchPeakRss(1_000_000));
    expect(limits!.cpu).toBeUndefined(); // throttling would delay keepalives
    const nodeOptions = container.env!.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
    const heapMb = Number(/--max-old-space-size=(\d+)/.exec(nodeOptions)?.[1]);
    expect(heapMb * 2 ** 20).toBeGreaterThanOrEqual(benchPeakRss(1_000_000));
    expect(limit - heapMb * 2 ** 20).toBeGreaterThanOrEqual(128 * 2 ** 20); // worker threads, buffers, code
  });

  it("runs the image's default command", () => {
    const cmd = /^CMD (\[.*\])$/m.exec(read('Dockerfile'))?.[1];
    expect(container.args).toEqual(JSON.parse(cmd!));
  });
});

describe('RBAC', () => {
  const sa = only(all, ServiceAccount);
  const user = `system:serviceaccount:${sa.metadata!.namespace}:${sa.metadata!.name}`;

  it('grants exactly nodes get/list/watch, nodes/status patch, services and endpointslices list/watch, bound to the DaemonSet account', () => {
    expect(sa.metadata!.name).toBe(pod.serviceAccountName);
    expect(sa.metadata!.namespace).toBe(ds.metadata!.namespace);
    const role = only(all, ClusterRole);
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
      { apiGroups: [''], resources: ['services'], verbs: ['list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
    ]);
    const binding = only(all, ClusterRoleBinding);
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: role.metadata!.name,
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: sa.metadata!.name, namespace: sa.metadata!.namespace },
    ]);
  });

  it("an admission policy narrows the status patch to the pod's own Node, for nodebgp's account only", () => {
    const policy = only(all, ValidatingAdmissionPolicy);
    const spec = policy.spec!;
    expect(spec.failurePolicy).toBe('Fail');
    expect(spec.matchConstraints!.resourceRules).toEqual([
      { apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['nodes/status'] },
    ]);
    expect(spec.matchConditions!.map((c) => c.expression)).toEqual([
      `request.userInfo.username == '${user}'`,
    ]);
    const rules = spec.validations!.map((v) => v.expression).join('\n');
    expect(rules).toContain(
      "object.metadata.name == request.userInfo.extra['authentication.kubernetes.io/node-name'][0]",
    );
    const binding = only(all, ValidatingAdmissionPolicyBinding);
    expect(binding.spec).toEqual({ policyName: policy.metadata!.name, validationActions: ['Deny'] });
  });
});

describe('the ConfigMap', () => {
  it('holds a config that parses, in Kubernetes mode with the mesh and podCIDRs from the Node', () => {
    expect(config.kubernetes).toMatchObject({ enabled: true, mesh: true, podCIDRFromNode: true });
  });
});

describe('the Dockerfile', () => {
  it('builds on NODE_IMAGE with dev dependencies and ships production ones only', () => {
    const text = read('Dockerfile');
    expect(text).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms.every((f) => f === '${NODE_IMAGE}')).toBe(true);
    const stages = text.split(/^FROM /m);
    expect(stages.at(-1)).not.toMatch(/npm (ci|install)/);
    expect(text).toMatch(/RUN npm install --omit=dev/);
    expect(text).toMatch(/ENTRYPOINT \["nodebgp"\]/);
  });
});
