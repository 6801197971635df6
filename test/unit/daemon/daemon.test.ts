import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type DaemonConfig } from '../../../daemon/config.js';
import { advertisements, Daemon, importAllowed, type DaemonOptions } from '../../../daemon/daemon.js';
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

function setup(text = CONFIG, options: DaemonOptions = {}) {
  let speaker: FakeSpeaker | undefined;
  let fib: FakeFib | undefined;
  const engines: Engines = {
    createSpeaker: (c) => (speaker = new FakeSpeaker(c)),
    createFib: (o) => (fib = new FakeFib(o)),
  };
  const lines: string[] = [];
  const sink = new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) });
  const daemon = new Daemon(parseConfig(text, 'c.yaml'), engines, createLogger('debug', sink), options);
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
    expect(fib?.options).toMatchObject({ table: 254, metric: 20, protocol: 202 });
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

  it('import policy: nothing without rules; the peer’s own rules, else importPrefixes; never our podCIDRs', () => {
    const c = parseConfig(CONFIG, 'x');
    // No rules at all: nothing is accepted, not even half the Internet's worth of prefixes.
    for (const p of ['10.0.1.0/24', '0.0.0.0/1', '128.0.0.0/1', '0.0.0.0/0'])
      expect(importAllowed(c, '10.77.0.1', key(p))).toBe(false);
    const allow = parseConfig(
      CONFIG.replace('{ address: 10.77.0.3, asn: 65003 }', '{ address: 10.77.0.3, asn: 65003, import: [] }') +
        'importPrefixes: [10.244.0.0/16, { prefix: "fd00:244::/48", le: 64 }]\n',
      'x',
    );
    expect(importAllowed(allow, '10.77.0.1', key('10.244.3.0/24'))).toBe(true);
    expect(importAllowed(allow, '10.77.0.1', key('fd00:244:0:9::/64'))).toBe(true);
    expect(importAllowed(allow, '10.77.0.1', key('fd00:244:0:9::/80'))).toBe(false);
    expect(importAllowed(allow, '10.77.0.1', key('10.244.2.0/24'))).toBe(false);
    expect(importAllowed(allow, '10.77.0.1', key('10.244.2.128/25'))).toBe(false);
    expect(importAllowed(allow, '10.77.0.1', key('10.0.1.0/24'))).toBe(false);
    expect(importAllowed(allow, '10.77.0.1', key('0.0.0.0/1'))).toBe(false);
    // `import: []` on a peer: nothing from it, whatever importPrefixes says.
    expect(importAllowed(allow, '10.77.0.3', key('10.244.3.0/24'))).toBe(false);
    const own = parseConfig(
      CONFIG.replace(
        '{ address: 10.77.0.1, asn: 65001 }',
        '{ address: 10.77.0.1, asn: 65001, import: [{ prefix: 0.0.0.0/0, le: 32 }, { prefix: 0.0.0.0/0, exact: true }] }',
      ),
      'x',
    );
    expect(importAllowed(own, '10.77.0.1', key('0.0.0.0/1'))).toBe(true);
    expect(importAllowed(own, '10.77.0.1', key('0.0.0.0/0'))).toBe(true);
    expect(importAllowed(own, '10.77.0.3', key('0.0.0.0/1'))).toBe(false);
    expect(own.peers[0]).not.toHaveProperty('import');
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

  it("leaves the grace time to the FIB's stale release deadline (no timer of its own)", async () => {
    const { daemon, fib, lines } = setup();
    await daemon.start();
    expect(fib?.options.staleGraceMs).toBe(600_000);
    fib?.options.onEvent?.({ type: 'stale-released', count: 3, why: 'grace time over' });
    expect(fib?.calls).toContain('releaseStale');
    expect(lines.join('')).toContain('"why":"grace time over"');
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

  it('observes convergence: startup until every End-of-RIB is in the kernel, and per peer session', async () => {
    let now = 1000;
    const seen: [string, number][] = [];
    const { daemon, speaker } = setup(CONFIG, {
      now: () => now,
      observeConvergence: (phase, seconds) => seen.push([phase, seconds]),
    });
    await daemon.start();
    const up = (address: string) =>
      speaker.emit('peer-state', { address, from: 'OpenConfirm', to: 'Established', reason: 'keepalive' });
    now = 1500;
    up('10.77.0.1');
    up('10.77.0.3');
    now = 3500;
    speaker.emit('end-of-rib', '10.77.0.1');
    await new Promise((r) => setImmediate(r));
    now = 5000;
    speaker.emit('end-of-rib', '10.77.0.3');
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([
      ['peer', 2],
      ['peer', 3.5],
      ['startup', 4],
    ]);
    // A session that goes down and comes back is observed again; startup only once.
    speaker.emit('peer-state', { address: '10.77.0.1', from: 'Established', to: 'Idle', reason: 'x' });
    now = 10_000;
    up('10.77.0.1');
    now = 10_250;
    speaker.emit('end-of-rib', '10.77.0.1');
    await new Promise((r) => setImmediate(r));
    expect(seen.slice(3)).toEqual([['peer', 0.25]]);
  });

  it('reload: checked whole before anything is applied; a bad peer refuses all of it', async () => {
    const { daemon, speaker } = setup();
    await daemon.start();
    speaker.calls = [];
    const before = daemon.current;
    const good = parseConfig(
      CONFIG.replace('{ address: 10.77.0.3, asn: 65003 }', '{ address: 10.77.0.4, asn: 65004 }'),
      'c.yaml',
    );
    // A peer the speaker refuses (built by hand: the file's schema would have refused it already).
    const bad: DaemonConfig = {
      ...good,
      peers: [...good.peers, { address: '10.77.0.5', asn: 65005, holdTime: 2 }],
    };
    expect(() => daemon.reload(bad)).toThrow(ConfigError);
    expect(() => daemon.reload(bad)).toThrow(
      /peers\[2\]: holdTime 2 is not allowed: must be 0 or 3\.\.65535/,
    );
    expect(speaker.calls).toEqual([]);
    expect(daemon.current).toBe(before);
    daemon.reload(good);
    expect(speaker.calls).toEqual(['remove 10.77.0.3', 'add 10.77.0.4']);
  });

  it('a peer the speaker refuses at start is logged and skipped; the others and the daemon run', async () => {
    const c = parseConfig(CONFIG, 'c.yaml');
    const withBad: DaemonConfig = {
      ...c,
      peers: [c.peers[0]!, { address: '10.77.0.9', asn: 0 }, c.peers[1]!],
    };
    let speaker: FakeSpeaker | undefined;
    const lines: string[] = [];
    const daemon = new Daemon(
      withBad,
      { createSpeaker: (s) => (speaker = new FakeSpeaker(s)), createFib: (o) => new FakeFib(o) },
      createLogger('debug', new Writable({ write: (l, _e, cb) => (lines.push(String(l)), cb()) })),
    );
    await daemon.start();
    expect(speaker!.calls).toEqual(['start', 'add 10.77.0.1', 'add 10.77.0.3', 'advertise 2']);
    expect(lines.some((l) => l.includes('"peer-refused"') && l.includes('10.77.0.9'))).toBe(true);
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
