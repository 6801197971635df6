/**
 * Session security and BFD in the daemon: the config keys (errors name the field, never show a password),
 * `config show` / GET /config hiding passwords, and the PeeringSpeaker — a password read from a file, BFD
 * sessions per peer, and BFD Up → Down taking the BGP session down (RFC 5882) while the peer's AdminDown
 * does not.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { BfdPeerConfig, StateChange } from '../../../bfd/manager.js';
import type { EngineSnapshot } from '../../../bfd/engine.js';
import { ConfigError, configView, parseConfig } from '../../../daemon/config.js';
import { PeeringSpeaker, type BfdLike } from '../../../daemon/peering.js';

const SECRET = 'correct-horse-battery';

function config(peer: string): string {
  return `asn: 65002\nnode: { address: 10.77.0.2, podCIDRs: [10.244.2.0/24] }\npeers:\n  - ${peer}\n`;
}

function configError(peer: string): string {
  try {
    parseConfig(config(peer), 'test.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config: password, ttlSecurity, bfd', () => {
  it('accepts them, with BFD defaults of 300 ms x 3', () => {
    const c = parseConfig(
      config(
        `{ address: 10.77.0.1, asn: 65001, password: "${SECRET}", ttlSecurity: 1, bfd: { minRx: 100 } }`,
      ),
      'test.yaml',
    );
    expect(c.peers[0]).toMatchObject({
      password: SECRET,
      ttlSecurity: 1,
      bfd: { minRx: 100, minTx: 300, multiplier: 3 },
    });
  });

  it('names the field and value of a bad BFD or TTL setting', () => {
    expect(configError('{ address: 10.77.0.1, asn: 65001, bfd: { minRx: 5 } }')).toBe(
      'config test.yaml: peers[0].bfd.minRx: 5 is not allowed: must be 10..60000',
    );
    expect(configError('{ address: 10.77.0.1, asn: 65001, bfd: { multiplier: 0 } }')).toMatch(
      /peers\[0\]\.bfd\.multiplier: 0 is not allowed/,
    );
    expect(configError('{ address: 10.77.0.1, asn: 65001, bfd: { minrx: 100 } }')).toMatch(
      /peers\[0\]\.bfd\.minrx: unknown key/,
    );
    expect(configError('{ address: 10.77.0.1, asn: 65001, ttlSecurity: 255 }')).toMatch(
      /peers\[0\]\.ttlSecurity: 255 is not allowed: must be 1\.\.254/,
    );
    expect(configError('{ address: 10.77.0.1, asn: 65001, ttl: 2, ttlSecurity: 1 }')).toMatch(
      /peers\[0\]\.ttlSecurity: is not allowed with ttl/,
    );
  });

  it('never puts a password in an error message', () => {
    const long = 'x'.repeat(81);
    const msg = configError(`{ address: 10.77.0.1, asn: 65001, password: "${long}" }`);
    expect(msg).toMatch(/peers\[0\]\.password: \(value hidden\) is not allowed: must be at most 80 bytes/);
    expect(msg).not.toContain('xxxx');
    expect(configError(`{ address: 10.77.0.1, asn: 65001, password: 12345678 }`)).not.toContain('12345678');
  });

  it('GET /config and config show hide it, saying one is set', () => {
    const c = parseConfig(config(`{ address: 10.77.0.1, asn: 65001, password: "${SECRET}" }`), 'test.yaml');
    const text = JSON.stringify(configView(c));
    expect(text).not.toContain(SECRET);
    expect((configView(c).peers as { password: string }[])[0]!.password).toBe('(set, hidden)');
  });
});

class FakeBfd extends EventEmitter implements BfdLike {
  readonly sessions = new Map<string, BfdPeerConfig>();
  set(c: BfdPeerConfig): void {
    this.sessions.set(c.peer, c);
  }
  remove(peer: string): void {
    this.sessions.delete(peer);
  }
  snapshot(): EngineSnapshot {
    return {
      sessions: [],
      discards: {},
      timerLateMaxMs: 0,
      timerLate50ms: 0,
      timerLate: {},
      timerLateRunqueueMs: 0,
    };
  }
  async close(): Promise<void> {}
  change(c: Partial<StateChange> & { peer: string }): void {
    this.emit('change', {
      multihop: false,
      from: 'Up',
      to: 'Down',
      diag: 1,
      remoteState: 'Down',
      at: 0,
      ...c,
    });
  }
}

const running: PeeringSpeaker[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop('test over')));
});

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const start = Date.now();
  while (!pred()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('PeeringSpeaker', () => {
  it('runs a BFD session per peer with bfd, and BFD down takes the BGP session down at once', async () => {
    const bfd = new FakeBfd();
    const logs: string[] = [];
    const a = new PeeringSpeaker(
      { asn: 65001, routerId: '10.0.0.1', listen: { address: '127.0.0.1', port: 0 } },
      {
        createBfd: () => bfd,
      },
    );
    const b = new PeeringSpeaker({
      asn: 65002,
      routerId: '10.0.0.2',
      listen: { address: '127.0.0.2', port: 0 },
    });
    running.push(a, b);
    a.on('log', (e) => logs.push(JSON.stringify(e)));
    await a.start();
    await b.start();
    const base = { holdTime: 90, connectRetryTime: 1 };
    a.addPeer({
      address: '127.0.0.2',
      asn: 65002,
      port: b.inner.address()!.port,
      localAddress: '127.0.0.1',
      ...base,
      bfd: { minRx: 100, minTx: 100, multiplier: 3 },
    } as never);
    b.addPeer({ address: '127.0.0.1', asn: 65001, port: a.inner.address()!.port, passive: true, ...base });
    expect(bfd.sessions.get('127.0.0.2')).toMatchObject({
      local: '127.0.0.1',
      desiredMinTx: 100_000,
      requiredMinRx: 100_000,
      detectMult: 3,
      multihop: false,
    });
    const state = () => a.peers()[0]!.state;
    await until(() => state() === 'Established', 8000, 'Established');
    expect(a.peers()[0]!.bfd).toMatchObject({ state: 'starting' });

    // the peer's AdminDown is no failure (RFC 5882 §3.2)
    bfd.change({ peer: '127.0.0.2', remoteState: 'AdminDown', diag: 3 });
    expect(state()).toBe('Established');
    // detection time expired: the session goes now, not after the 90 s hold timer
    bfd.change({ peer: '127.0.0.2' });
    expect(state()).toBe('Idle');
    expect(a.peers()[0]).toMatchObject({ lastReason: 'bfd-down' });
    expect(
      logs.some((l) => l.includes('"event":"bfd-state"') && l.includes('control detection time expired')),
    ).toBe(true);
    // removing the peer removes its BFD session
    a.removePeer('127.0.0.2');
    expect(bfd.sessions.size).toBe(0);
  });

  it('reads a password from its file without ever logging it, and says so when it cannot', async () => {
    const files: Record<string, string> = { '/run/secrets/tor': `${SECRET}\n` };
    const seen: string[] = [];
    const s = new PeeringSpeaker(
      { asn: 65001, routerId: '10.0.0.1', listen: false },
      {
        transport: {
          connect: () => {
            throw new Error('not used');
          },
          listen: () => Promise.reject(new Error('not used')),
          setPeerOptions: (_a, o) => {
            if (o?.password !== undefined) seen.push(o.password);
            return undefined;
          },
        },
        readFile: (f) => {
          const text = files[f];
          if (text === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
          return text;
        },
      },
    );
    const logs: string[] = [];
    s.on('log', (e) => logs.push(JSON.stringify(e)));
    s.addPeer({ address: '10.77.0.1', asn: 65009, passive: true, passwordFile: '/run/secrets/tor' } as never);
    expect(seen).toEqual([SECRET]);
    s.addPeer({
      address: '10.77.0.3',
      asn: 65009,
      passive: true,
      passwordFile: '/run/secrets/missing',
    } as never);
    expect(s.peers().find((p) => p.address === '10.77.0.3')!.hint).toBe(
      'password file /run/secrets/missing unreadable: ENOENT',
    );
    expect(logs.join('\n')).not.toContain(SECRET);
    await s.stop('test');
  });

  it('passes a new route-reflector cluster id through to the speaker it wraps', async () => {
    // Kubernetes mode sets it when a reflector label appears; a wrapper that dropped it reflected routes with
    // the router id as CLUSTER_ID.
    const s = new PeeringSpeaker({ asn: 65001, routerId: '10.0.0.1', listen: false });
    expect(s.inner.clusterId).toBe('10.0.0.1');
    s.setClusterId('10.0.0.201');
    expect(s.inner.clusterId).toBe('10.0.0.201');
    s.setClusterId(undefined);
    expect(s.inner.clusterId).toBe('10.0.0.1');
    await s.stop('test');
  });
});

describe('Kubernetes mode: BFD default and the mesh password file', () => {
  it('gives every cluster peer kubernetes.bfd unless it sets its own, and mesh sessions the password file', async () => {
    const { planCluster } = await import('../../../daemon/kubernetes/cluster.js');
    const { kubernetesSchema } = await import('../../../daemon/kubernetes/schema.js');
    const node = (name: string, ip: string) => ({
      name,
      podCIDRs: [],
      internalIPs: [ip],
      labels: {},
      annotations: {},
    });
    const config = kubernetesSchema.parse({
      bfd: { minRx: 100, minTx: 100 },
      meshPasswordFile: '/etc/nodebgp/secrets/mesh',
      peers: [
        { address: '192.0.2.1', asn: 65001, password: SECRET },
        { address: '192.0.2.2', asn: 65001, bfd: { minRx: 500, minTx: 500, multiplier: 5 } },
      ],
    });
    const self = node('a', '10.0.0.1');
    const plan = planCluster(self, [self, node('b', '10.0.0.2')], config, 65000);
    const by = new Map(plan.peers.map((p) => [p.address, p as unknown as Record<string, unknown>]));
    expect(by.get('10.0.0.2')).toMatchObject({
      bfd: { minRx: 100, minTx: 100, multiplier: 3 },
      passwordFile: '/etc/nodebgp/secrets/mesh',
    });
    expect(by.get('192.0.2.1')).toMatchObject({ password: SECRET, bfd: { minRx: 100 } });
    expect(by.get('192.0.2.1')!.passwordFile).toBeUndefined();
    expect(by.get('192.0.2.2')).toMatchObject({ bfd: { minRx: 500, multiplier: 5 } });
  });
});
