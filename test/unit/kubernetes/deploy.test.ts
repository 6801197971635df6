/**
 * The manifests in deploy/: every document parses, and the parts nodebgp relies on have the right shape
 * (kubectl and the cluster's OpenAPI schemas are not available offline, so a zod schema of those parts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse } from 'yaml';
import { z } from 'zod';
import { kubernetesSchema } from '../../../daemon/kubernetes/schema.js';

const root = new URL('../../../deploy/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, root), 'utf8');

function documents(name: string): unknown[] {
  const docs = parseAllDocuments(read(name));
  for (const d of docs) expect(d.errors, `${name}: ${d.errors.join('; ')}`).toEqual([]);
  return docs.map((d) => d.toJS() as unknown);
}

const meta = z.object({ name: z.string().min(1), namespace: z.string().optional() });
const probe = z.object({
  httpGet: z.object({
    host: z.literal('127.0.0.1'),
    port: z.literal(9179),
    path: z.string().startsWith('/'),
  }),
});
const container = z.object({
  name: z.string(),
  image: z.string().min(1),
  env: z.array(z.object({ name: z.string() }).passthrough()),
  securityContext: z.object({
    capabilities: z.object({ drop: z.array(z.string()), add: z.array(z.string()) }),
  }),
  livenessProbe: probe,
  readinessProbe: probe,
  volumeMounts: z.array(z.object({ name: z.string(), mountPath: z.string() })),
});
const daemonSet = z.object({
  apiVersion: z.literal('apps/v1'),
  kind: z.literal('DaemonSet'),
  metadata: meta,
  spec: z.object({
    selector: z.object({ matchLabels: z.record(z.string(), z.string()) }),
    template: z.object({
      metadata: z.object({ labels: z.record(z.string(), z.string()) }),
      spec: z.object({
        serviceAccountName: z.string(),
        hostNetwork: z.literal(true),
        tolerations: z.array(z.object({ operator: z.string() }).passthrough()),
        containers: z.array(container).length(1),
        volumes: z.array(z.object({ name: z.string() }).passthrough()),
      }),
    }),
  }),
});
const rule = z.object({
  apiGroups: z.array(z.string()),
  resources: z.array(z.string()),
  verbs: z.array(z.string()),
});
const rbacDoc = z.discriminatedUnion('kind', [
  z.object({ apiVersion: z.literal('v1'), kind: z.literal('ServiceAccount'), metadata: meta }),
  z.object({
    apiVersion: z.literal('rbac.authorization.k8s.io/v1'),
    kind: z.literal('ClusterRole'),
    metadata: meta,
    rules: z.array(rule),
  }),
  z.object({
    apiVersion: z.literal('rbac.authorization.k8s.io/v1'),
    kind: z.literal('ClusterRoleBinding'),
    metadata: meta,
    roleRef: z.object({ apiGroup: z.string(), kind: z.literal('ClusterRole'), name: z.string() }),
    subjects: z.array(
      z.object({ kind: z.literal('ServiceAccount'), name: z.string(), namespace: z.string() }),
    ),
  }),
]);
const configMap = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('ConfigMap'),
  metadata: meta,
  data: z.object({ 'config.yaml': z.string() }),
});

describe('deploy/', () => {
  const [ds] = documents('daemonset.yaml').map((d) => daemonSet.parse(d));
  const rbac = documents('rbac.yaml').map((d) => rbacDoc.parse(d));
  const [cm] = documents('configmap.yaml').map((d) => configMap.parse(d));

  it('the DaemonSet runs on every node with NET_ADMIN, NODE_NAME and the host control socket', () => {
    const pod = ds!.spec.template.spec;
    expect(ds!.spec.selector.matchLabels).toEqual(ds!.spec.template.metadata.labels);
    expect(pod.tolerations).toContainEqual({ operator: 'Exists' });
    const c = pod.containers[0]!;
    expect(c.securityContext.capabilities.drop).toEqual(['ALL']);
    expect([...c.securityContext.capabilities.add].sort()).toEqual(['NET_ADMIN', 'NET_BIND_SERVICE']);
    expect(c.env).toContainEqual({
      name: 'NODE_NAME',
      valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } },
    });
    expect(c.livenessProbe.httpGet.path).toBe('/livez');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    const run = c.volumeMounts.find((m) => m.mountPath === '/run/nodebgp');
    expect(pod.volumes).toContainEqual({
      name: run!.name,
      hostPath: { path: '/run/nodebgp', type: 'DirectoryOrCreate' },
    });
    const config = c.volumeMounts.find((m) => m.mountPath === '/etc/nodebgp');
    expect(pod.volumes).toContainEqual({ name: config!.name, configMap: { name: cm!.metadata.name } });
  });

  it('RBAC grants exactly nodes get/list/watch and nodes/status patch, bound to the DaemonSet account', () => {
    const sa = rbac.find((d) => d.kind === 'ServiceAccount')!;
    const role = rbac.find((d) => d.kind === 'ClusterRole');
    const binding = rbac.find((d) => d.kind === 'ClusterRoleBinding');
    expect(sa.metadata).toEqual({
      name: ds!.spec.template.spec.serviceAccountName,
      namespace: ds!.metadata.namespace,
    });
    expect(role?.kind === 'ClusterRole' && role.rules).toEqual([
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
    ]);
    expect(binding?.kind === 'ClusterRoleBinding' && binding.roleRef.name).toBe(role!.metadata.name);
    expect(binding?.kind === 'ClusterRoleBinding' && binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace },
    ]);
  });

  it('the ConfigMap holds a config whose kubernetes section validates', () => {
    const config = parse(cm!.data['config.yaml']) as { kubernetes: unknown; controlSocket: string };
    const k = kubernetesSchema.parse(config.kubernetes);
    expect(k).toMatchObject({ enabled: true, mesh: true, podCIDRFromNode: true });
    expect(config.controlSocket.startsWith('/run/nodebgp/')).toBe(true);
  });

  it('the Dockerfile builds with dev dependencies and ships production ones only', () => {
    const text = read('Dockerfile');
    expect(text).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(froms.every((f) => f === '${NODE_IMAGE}')).toBe(true);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const stages = text.split(/^FROM /m);
    expect(stages.at(-1)).not.toMatch(/npm (ci|install)/);
    expect(text).toMatch(/RUN npm install --omit=dev/);
    expect(text).toMatch(/CMD \["run", "--config", "\/etc\/nodebgp\/config.yaml"\]/);
  });
});
