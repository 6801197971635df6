import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../daemon/config.js';
import { sessionsNotReady, startHealthServer, type HealthServer } from '../../../daemon/health.js';

let server: HealthServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('health endpoints', () => {
  it('serves livez always, readyz 503 with the reason until ready, and metrics', async () => {
    let why: string | undefined = 'waiting for our Node with a podCIDR';
    server = await startHealthServer(
      { address: '127.0.0.1', port: 0 },
      { notReady: () => why, metrics: () => Promise.resolve({ contentType: 'text/plain', text: 'm 1\n' }) },
    );
    const url = (p: string) => `http://127.0.0.1:${server!.address.port}${p}`;
    expect((await fetch(url('/livez'))).status).toBe(200);
    const notReady = await fetch(url('/readyz'));
    expect(notReady.status).toBe(503);
    expect(await notReady.text()).toContain('waiting for our Node');
    why = undefined;
    expect((await fetch(url('/readyz'))).status).toBe(200);
    expect(await (await fetch(url('/metrics'))).text()).toBe('m 1\n');
    expect((await fetch(url('/other'))).status).toBe(404);
    expect((await fetch(url('/livez'), { method: 'POST' })).status).toBe(405);
  });
});

describe('readiness from sessions', () => {
  it('is ready with no peers or one Established session, and says how many peers are down otherwise', () => {
    expect(sessionsNotReady([])).toBeUndefined();
    expect(sessionsNotReady([{ state: 'Active' }, { state: 'Established' }])).toBeUndefined();
    expect(sessionsNotReady([{ state: 'Active' }, { state: 'OpenSent' }])).toBe(
      'no BGP session Established (0 of 2 peers)',
    );
  });
});

describe('config in Kubernetes mode', () => {
  it('needs no node section, and serves health on 127.0.0.1:9179 by default', () => {
    const c = parseConfig('asn: 64512\nkubernetes: { enabled: true }\n', 'c.yaml');
    expect(c.node).toEqual({ address: '', address6: undefined, podCIDRs: [] });
    expect(c.routerId).toBe('');
    expect(c.health).toEqual({ address: '127.0.0.1', port: 9179 });
  });

  it('lets health be moved or switched off; static mode has none unless asked', () => {
    const moved = parseConfig('asn: 1\nkubernetes: {}\nhealth: { port: 9999 }\n', 'c.yaml');
    expect(moved.health).toEqual({ address: '127.0.0.1', port: 9999 });
    expect(parseConfig('asn: 1\nkubernetes: {}\nhealth: false\n', 'c.yaml').health).toBe(false);
    expect(parseConfig('asn: 1\nnode: { address: 10.0.0.1 }\n', 'c.yaml').health).toBe(false);
  });

  it('still requires node.address without Kubernetes', () => {
    expect(() => parseConfig('asn: 1\n', 'c.yaml')).toThrow(/node: is required/);
    expect(() => parseConfig('asn: 1\nkubernetes: { enabled: false }\nnode: {}\n', 'c.yaml')).toThrow(
      /node.address: is required/,
    );
  });
});
