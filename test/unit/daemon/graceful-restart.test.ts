/**
 * The daemon's graceful restart: kernel routes kept on stop, the global setting applied to every peer, the
 * restart (R/F bits, deferral until End-of-RIB or its timer, on a fake clock) and `withdraw`.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../../daemon/config.js';
import { Daemon } from '../../../daemon/daemon.js';
import type { Engines } from '../../../daemon/deps.js';
import { createLogger } from '../../../daemon/log.js';
import { fibTable, grCell, neighborsTable, routesTable } from '../../../daemon/cli/format.js';
import { createMetrics } from '../../../daemon/metrics.js';
import { FakeFib, FakeSpeaker } from '../../support/fake-engines.js';

const BASE = `asn: 65002
node: { address: 10.77.0.2, podCIDRs: [10.244.2.0/24] }
peers:
  - { address: 10.77.0.1, asn: 65001 }
  - { address: 10.77.0.3, asn: 65003, gracefulRestartTime: 30 }
`;

function setup(text: string) {
  let speaker: FakeSpeaker | undefined;
  let fib: FakeFib | undefined;
  const added: { address: string; gracefulRestartTime?: number }[] = [];
  const engines: Engines = {
    createSpeaker: (c) => {
      const s = new FakeSpeaker(c);
      const add = s.addPeer.bind(s);
      s.addPeer = (p) => (added.push(p), add(p));
      return (speaker = s);
    },
    createFib: (o) => (fib = new FakeFib(o)),
  };
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const daemon = new Daemon(parseConfig(text, 'c.yaml'), engines, createLogger('error', sink));
  return { daemon, speaker: speaker!, fib: fib!, added };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('graceful restart in the daemon', () => {
  it('config: off in static mode unless set; 120 s in Kubernetes mode; deferral ≤ restart time', () => {
    expect(parseConfig(BASE, 'c').gracefulRestart).toEqual({ restartTime: 0, selectionDeferralTime: 1 });
    expect(parseConfig(`${BASE}gracefulRestart: { restartTime: 30 }\n`, 'c').gracefulRestart).toEqual({
      restartTime: 30,
      selectionDeferralTime: 30,
    });
    expect(parseConfig(`${BASE}gracefulRestart: { restartTime: 300 }\n`, 'c').gracefulRestart).toEqual({
      restartTime: 300,
      selectionDeferralTime: 60,
    });
    const k8s = parseConfig('asn: 65002\nkubernetes: { enabled: true, nodeName: n1 }\n', 'c');
    expect(k8s.gracefulRestart.restartTime).toBe(120);
    expect(() => parseConfig(`${BASE}gracefulRestart: { restartTime: 5000 }\n`, 'c')).toThrow(/restartTime/);
  });

  it('the global restart time goes to every peer without its own', async () => {
    const { daemon, added } = setup(`${BASE}gracefulRestart: { restartTime: 120 }\n`);
    await daemon.start();
    expect(added.map((p) => [p.address, p.gracefulRestartTime])).toEqual([
      ['10.77.0.1', 120],
      ['10.77.0.3', 30],
    ]);
  });

  it('reload: a new global restart time reaches the peers without their own, only them', async () => {
    const { daemon, speaker } = setup(`${BASE}gracefulRestart: { restartTime: 120 }\n`);
    await daemon.start();
    daemon.reload(parseConfig(`${BASE}gracefulRestart: { restartTime: 60 }\n`, 'c.yaml'));
    expect(speaker.peerCalls().filter((c) => c.startsWith('update'))).toEqual(['update 10.77.0.1']);
    daemon.reload(parseConfig(`${BASE}gracefulRestart: { restartTime: 60 }\n`, 'c.yaml'));
    expect(speaker.peerCalls().filter((c) => c.startsWith('update'))).toEqual(['update 10.77.0.1']);
  });

  it('stop with graceful restart: the FIB closes first with the routes left, then a graceful stop', async () => {
    const { daemon, speaker, fib } = setup(`${BASE}gracefulRestart: { restartTime: 120 }\n`);
    await daemon.start();
    await daemon.stop();
    expect(fib.calls.at(-1)).toBe('close removeRoutes=false');
    expect(speaker.calls.at(-1)).toBe('stop restart graceful');
  });

  it('a peer of its own with graceful restart is enough to keep the kernel routes', async () => {
    const { daemon, fib } = setup(BASE);
    await daemon.start();
    await daemon.stop();
    expect(fib.calls.at(-1)).toBe('close removeRoutes=false');
  });

  it('without graceful restart: Cease, then our routes go (as before)', async () => {
    const { daemon, speaker, fib } = setup(BASE.replace(', gracefulRestartTime: 30', ''));
    await daemon.start();
    await daemon.stop();
    expect(speaker.calls.at(-1)).toBe('stop shutdown');
    expect(fib.calls.at(-1)).toBe('close removeRoutes=true');
  });

  it('withdraw: Hard Reset to every peer, then our routes and nexthop objects go', async () => {
    const { daemon, speaker, fib } = setup(`${BASE}gracefulRestart: { restartTime: 120 }\n`);
    await daemon.start();
    await daemon.withdraw();
    expect(speaker.calls.at(-1)).toBe('stop decommissioned hard-reset');
    expect(fib.calls.at(-1)).toBe('close removeRoutes=true');
  });

  it('restart: the kernel kept routes → R/F bits; deferral ends at End-of-RIB from every peer', async () => {
    const { daemon, speaker, fib } = setup(`${BASE}gracefulRestart: { restartTime: 120 }\n`);
    fib.statsShown = { stale: 3 };
    await daemon.start();
    expect(speaker.calls.slice(0, 2)).toEqual(['begin-restart forwarding=true', 'start']);
    speaker.emit('end-of-rib', '10.77.0.1');
    expect(speaker.calls.some((c) => c.startsWith('end-deferral'))).toBe(false);
    expect(fib.calls).not.toContain('releaseStale');
    speaker.emit('end-of-rib', '10.77.0.3');
    expect(speaker.calls.filter((c) => c.startsWith('end-deferral'))).toEqual([
      'end-deferral end-of-rib from every peer',
    ]);
    expect(fib.calls).toContain('releaseStale');
  });

  it('restart: a peer that never sends End-of-RIB is waited for up to the selection deferral time', async () => {
    vi.useFakeTimers();
    const { daemon, speaker, fib } = setup(
      `${BASE}gracefulRestart: { restartTime: 120, selectionDeferralTime: 45 }\n`,
    );
    fib.statsShown = { installed: 1 };
    await daemon.start();
    speaker.emit('end-of-rib', '10.77.0.1');
    vi.advanceTimersByTime(44_999);
    expect(fib.calls).not.toContain('releaseStale');
    vi.advanceTimersByTime(1);
    expect(speaker.calls.filter((c) => c.startsWith('end-deferral'))).toEqual([
      'end-deferral selection deferral over',
    ]);
    expect(fib.calls).toContain('releaseStale');
  });

  it('a cold start (nothing of ours in the kernel) is no restart', async () => {
    const { daemon, speaker } = setup(`${BASE}gracefulRestart: { restartTime: 120 }\n`);
    await daemon.start();
    expect(speaker.calls.some((c) => c.startsWith('begin-restart'))).toBe(false);
  });
});

describe('graceful restart, visible', () => {
  const base = {
    address: '10.77.0.1',
    asn: 65001,
    state: 'Idle' as const,
    since: Date.now(),
    received: 0,
    accepted: 0,
    advertised: 0,
    messagesIn: 0,
    messagesOut: 0,
    updatesIn: 0,
    updatesOut: 0,
    attributeErrors: 0,
    establishedCount: 1,
  };

  it('nodebgp neighbors: a GR column with the state, stale paths and time left', () => {
    const restarting = {
      ...base,
      gracefulRestart: {
        restartTime: 120,
        stale: 12,
        state: 'restarting' as const,
        timeLeft: 98,
        restarts: 1,
      },
    };
    const back = {
      ...base,
      address: '10.77.0.3',
      state: 'Established' as const,
      gracefulRestart: {
        restartTime: 120,
        peer: { restartTime: 90, restarting: false, notification: true, families: ['ipv4 F'] },
        stale: 0,
        restarts: 0,
      },
    };
    expect(grCell(restarting)).toBe('restarting: 12 stale, 98s left');
    expect(grCell(back)).toBe('120s N');
    expect(grCell(base)).toBe('-');
    const text = neighborsTable([restarting, back]);
    expect(text.split('\n')[0]).toMatch(/Up\/Down\s+GR\s+Rcvd/);
    expect(text).toContain('restarting: 12 stale, 98s left');
  });

  it('nodebgp routes marks stale paths with S', () => {
    const r = {
      prefix: '10.0.1.0/24',
      nexthops: ['10.77.0.1'],
      peer: '10.77.0.1',
      asPath: '65001',
      origin: 'igp' as const,
      communities: [],
      largeCommunities: [],
      best: true,
      multipath: false,
      reason: 'stale, best: only path',
      local: false,
      stale: true as const,
      age: 3,
    };
    expect(routesTable([r])).toMatch(/S\*> 10\.0\.1\.0\/24/);
    expect(routesTable([{ ...r, stale: undefined }])).toMatch(/ \*> 10\.0\.1\.0\/24/);
  });

  it('nodebgp fib marks the routes kept from the previous run', () => {
    const kept = {
      prefix: '10.0.1.0/24',
      nexthops: [],
      status: 'installed' as const,
      stale: true,
      kernel: { nexthops: ['10.77.0.1'] },
      since: 0,
    };
    const text = fibTable({ enabled: true, entries: [kept] });
    expect(text).toContain('installed, stale (previous run)');
    expect(text).toContain('1 kept from the previous run');
  });

  it('metrics: stale paths per peer and graceful restarts helped', async () => {
    const m = createMetrics({ processMetrics: false });
    m.updateFromStatus(
      [{ ...base, gracefulRestart: { restartTime: 120, stale: 7, restarts: 2 } }],
      undefined,
    );
    const text = await m.render();
    expect(text).toContain('nodebgp_bgp_stale_paths{peer="10.77.0.1"} 7');
    expect(text).toContain('nodebgp_bgp_graceful_restarts_total{peer="10.77.0.1"} 2');
  });
});
