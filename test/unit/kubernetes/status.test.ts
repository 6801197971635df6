/** The NetworkUnavailable condition, patched with the real client against the fake API server. */
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeStatusReporter } from '../../../daemon/kubernetes/status.js';
import { FakeApiServer, kubeConfigOptions, makeNode } from '../../support/fake-apiserver.js';

let server: FakeApiServer;

function reporter(extra: { maxAttempts?: number; errors?: string[] } = {}): NodeStatusReporter {
  const kc = new KubeConfig();
  kc.loadFromOptions(kubeConfigOptions(server));
  return new NodeStatusReporter({
    kubeConfig: kc,
    nodeName: 'node-a',
    backoff: { initialMs: 10, maxMs: 40 },
    maxAttempts: extra.maxAttempts,
    now: () => new Date('2026-11-23T01:00:00Z'),
    onError: (reason) => extra.errors?.push(reason),
  });
}

beforeEach(async () => {
  server = new FakeApiServer();
  await server.listen();
});

afterEach(async () => {
  await server.close();
});

describe('NodeStatusReporter', () => {
  it('sets NetworkUnavailable=False with a strategic merge patch on nodes/status', async () => {
    const node = makeNode('node-a', { podCIDRs: ['10.244.1.0/24'], internalIPs: ['192.0.2.1'] });
    node.status!.conditions!.push({ type: 'NetworkUnavailable', status: 'True', reason: 'NoRouteCreated' });
    server.addNode(node);
    expect(await reporter().markNetworkAvailable()).toBe('patched');
    expect(server.patches).toHaveLength(1);
    const patch = server.patches[0]!;
    expect(patch.contentType).toBe('application/strategic-merge-patch+json');
    expect(patch.body).toEqual({
      status: {
        conditions: [
          {
            type: 'NetworkUnavailable',
            status: 'False',
            reason: 'NodebgpIsUp',
            message: 'nodebgp is running and has installed the pod network routes',
            lastTransitionTime: '2026-11-23T01:00:00.000Z',
            lastHeartbeatTime: '2026-11-23T01:00:00.000Z',
          },
        ],
      },
    });
    const conditions = server.nodes.get('node-a')!.status!.conditions!;
    expect(conditions.map((c) => `${c.type}=${c.status}`)).toEqual([
      'Ready=True',
      'NetworkUnavailable=False',
    ]);
  });

  it('is idempotent: a second call writes nothing', async () => {
    server.addNode(makeNode('node-a', { internalIPs: ['192.0.2.1'] }));
    expect(await reporter().markNetworkAvailable()).toBe('patched');
    expect(await reporter().markNetworkAvailable()).toBe('unchanged');
    expect(server.patches).toHaveLength(1);
  });

  it('keeps lastTransitionTime when the status was already False', async () => {
    const node = makeNode('node-a', { internalIPs: ['192.0.2.1'] });
    node.status!.conditions!.push({
      type: 'NetworkUnavailable',
      status: 'False',
      reason: 'RouteCreated',
      lastTransitionTime: new Date('2026-01-01T00:00:00Z'),
    });
    server.addNode(node);
    await reporter().markNetworkAvailable();
    const body = server.patches[0]!.body as { status: { conditions: { lastTransitionTime: string }[] } };
    expect(body.status.conditions[0]!.lastTransitionTime).toBe('2026-01-01T00:00:00.000Z');
  });

  it('retries with backoff through server errors', async () => {
    server.addNode(makeNode('node-a', { internalIPs: ['192.0.2.1'] }));
    server.failNext('get', 503);
    server.failNext('patch', 500);
    const errors: string[] = [];
    expect(await reporter({ errors }).markNetworkAvailable()).toBe('patched');
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/set NetworkUnavailable on node node-a: HTTP 503/);
    expect(server.nodes.get('node-a')!.status!.conditions!.some((c) => c.type === 'NetworkUnavailable')).toBe(
      true,
    );
  });

  it('gives up after maxAttempts when the node does not exist', async () => {
    expect(await reporter({ maxAttempts: 2 }).markNetworkAvailable()).toBe('gave-up');
    expect(server.patches).toHaveLength(0);
  });
});
