import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../daemon/config.js';
import { advertisements, Daemon, importAllowed } from '../../../daemon/daemon.js';
import type { Engines } from '../../../daemon/deps.js';
import { createLogger } from '../../../daemon/log.js';
import { FakeFib, FakeSpeaker } from '../../support/fake-engines.js';
import { key } from '../../support/prefix.js';

const CONFIG = `asn: 65002
node: { address: 10.77.0.2, address6: "fd00:77::2", podCIDRs: [10.244.2.0/24, fd00:244:2::/64] }
peers:
  - { address: 10.77.0.1, asn: 65001 }
  - { address: 10.77.0.3, asn: 65003 }
kernel: { enabled: true, staleGraceSeconds: 600 }
`;

function setup(text = CONFIG) {
  let speaker: FakeSpeaker | undefined;
  let fib: FakeFib | undefined;
  const engines: Engines = {
    createSpeaker: (c) => (speaker = new FakeSpeaker(c)),
    createFib: (o) => (fib = new FakeFib(o)),
  };
  const lines: string[] = [];
  const sink = new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) });
  const daemon = new Daemon(parseConfig(text, 'c.yaml'), engines, createLogger('debug', sink));
  return { daemon, speaker: speaker as unknown as FakeSpeaker, fib: fib as FakeFib | undefined, lines };
}

describe('Daemon', () => {
  it('starts the speaker with every peer and advertises the podCIDRs via this node', async () => {
    const { daemon, speaker, fib } = setup();
    await daemon.start();
    expect(speaker.config).toMatchObject({
      asn: 65002,
      routerId: '10.77.0.2',
      listen: { address: '10.77.0.2', port: 179 },
    });
    expect(speaker.calls).toEqual(['start', 'add 10.77.0.1', 'add 10.77.0.3', 'advertise 2']);
    expect(speaker.ads).toEqual([
      { prefix: key('10.244.2.0/24'), nextHop: '10.77.0.2' },
      { prefix: key('fd00:244:2::/64'), nextHop: 'fd00:77::2' },
    ]);
    expect(fib?.options).toMatchObject({ backend: 'netlink', table: 254, metric: 20, protocol: 202 });
  });

  it('never installs our own podCIDR or anything inside it', async () => {
    const { daemon, speaker, fib } = setup();
    await daemon.start();
    speaker.emit('loc-rib', {
      prefixes: [key('10.0.1.0/24'), key('10.244.2.0/24'), key('10.244.2.128/25'), key('2001:db8:1::/48')],
      nexthops: [['10.77.0.1'], ['10.77.0.1'], ['10.77.0.1'], null],
    });
    expect(fib?.sets).toEqual([
      [
        [key('10.0.1.0/24'), key('2001:db8:1::/48')],
        [['10.77.0.1'], null],
      ],
    ]);
  });

  it('import policy: own podCIDRs and default routes refused; importPrefixes is an allow-list', () => {
    const c = parseConfig(CONFIG, 'x');
    expect(importAllowed(c, key('10.0.1.0/24'))).toBe(true);
    expect(importAllowed(c, key('10.244.2.0/25'))).toBe(false);
    expect(importAllowed(c, key('0.0.0.0/0'))).toBe(false);
    expect(importAllowed(c, key('::/0'))).toBe(false);
    const allow = parseConfig(CONFIG + 'importPrefixes: [10.244.0.0/16]\n', 'x');
    expect(importAllowed(allow, key('10.244.3.0/24'))).toBe(true);
    expect(importAllowed(allow, key('10.244.2.0/24'))).toBe(false);
    expect(importAllowed(allow, key('10.0.1.0/24'))).toBe(false);
    expect(advertisements(parseConfig(CONFIG.replace('address6: "fd00:77::2", ', ''), 'x'))[1]).toEqual({
      prefix: key('fd00:244:2::/64'),
    });
  });

  it('releases stale kernel routes once every peer sent End-of-RIB', async () => {
    const { daemon, speaker, fib } = setup();
    await daemon.start();
    speaker.emit('end-of-rib', '10.77.0.1');
    expect(fib?.calls).not.toContain('releaseStale');
    speaker.emit('end-of-rib', '10.77.0.3');
    expect(fib?.calls).toContain('releaseStale');
  });

  it('reload: adds, removes and changes only the peers that differ; podCIDR changes re-advertise', async () => {
    const { daemon, speaker } = setup();
    await daemon.start();
    speaker.calls = [];
    const next = CONFIG.replace('{ address: 10.77.0.3, asn: 65003 }', '{ address: 10.77.0.4, asn: 65004 }')
      .replace('{ address: 10.77.0.1, asn: 65001 }', '{ address: 10.77.0.1, asn: 65001, holdTime: 9 }')
      .replace('10.244.2.0/24, ', '');
    daemon.reload(parseConfig(next, 'c.yaml'));
    expect(speaker.calls).toEqual([
      'remove 10.77.0.3',
      'update 10.77.0.1 holdTime=9',
      'add 10.77.0.4',
      'advertise 1',
    ]);
    speaker.calls = [];
    daemon.reload(parseConfig(next, 'c.yaml'));
    expect(speaker.calls).toEqual([]);
  });

  it('stop: Cease to peers first, then the kernel routes go', async () => {
    const { daemon, speaker, fib } = setup();
    await daemon.start();
    await daemon.stop();
    expect(speaker.calls.at(-1)).toBe('stop shutdown');
    expect(fib?.calls.at(-1)).toBe('close removeRoutes=true');
  });

  it('logs peer-state transitions with the reason as fields', async () => {
    const { daemon, speaker, lines } = setup();
    await daemon.start();
    speaker.emit('peer-state', {
      address: '10.77.0.1',
      from: 'Established',
      to: 'Idle',
      reason: 'hold-timer-expired',
    });
    const rec = JSON.parse(lines.find((l) => l.includes('"peer-state"')) ?? '{}') as Record<string, unknown>;
    expect(rec).toMatchObject({
      level: 'warn',
      event: 'peer-state',
      peer: '10.77.0.1',
      from: 'Established',
      to: 'Idle',
      reason: 'hold-timer-expired',
    });
  });

  it('kernel disabled: no Fib, and the fib view says so', async () => {
    const { daemon, fib } = setup(CONFIG.replace('enabled: true', 'enabled: false'));
    await daemon.start();
    expect(fib).toBeUndefined();
    expect(daemon.fib()).toEqual({ enabled: false, entries: [] });
  });
});
