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
