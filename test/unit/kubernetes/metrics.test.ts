import { describe, expect, it } from 'vitest';
import type { PeerStatus } from '../../../bgp/api.js';
import { createMetrics } from '../../../daemon/metrics.js';

function peer(address: string, over: Partial<PeerStatus> = {}): PeerStatus {
  return {
    address,
    asn: 64512,
    state: 'Established',
    since: 0,
    received: 3,
    accepted: 2,
    advertised: 1,
    messagesIn: 10,
    messagesOut: 12,
    updatesIn: 4,
    updatesOut: 5,
    establishedCount: 1,
    attributeErrors: 0,
    ...over,
  };
}

function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('metrics', () => {
  it('exports peer and FIB numbers from the status', async () => {
    const m = createMetrics({ processMetrics: false });
    m.updateFromStatus([peer('10.0.0.2'), peer('10.0.0.3', { state: 'Active' })], {
      wanted: 5,
      installed: 4,
      failed: 1,
    });
    const text = await m.render();
    expect(sample(text, 'nodebgp_bgp_session_state', 'peer="10.0.0.2"')).toBe(6);
    expect(sample(text, 'nodebgp_bgp_session_state', 'peer="10.0.0.3"')).toBe(3);
    expect(sample(text, 'nodebgp_bgp_messages_received_total', 'peer="10.0.0.2"')).toBe(10);
    expect(sample(text, 'nodebgp_bgp_updates_sent_total', 'peer="10.0.0.2"')).toBe(5);
    expect(sample(text, 'nodebgp_bgp_prefixes_accepted', 'peer="10.0.0.2"')).toBe(2);
    expect(sample(text, 'nodebgp_fib_routes', 'state="failed"')).toBe(1);
  });

  it('counters follow the totals across scrapes and restart when a total drops', async () => {
    const m = createMetrics({ processMetrics: false });
    m.updateFromStatus([peer('10.0.0.2', { messagesIn: 10 })]);
    m.updateFromStatus([peer('10.0.0.2', { messagesIn: 25 })]);
    expect(sample(await m.render(), 'nodebgp_bgp_messages_received_total', 'peer="10.0.0.2"')).toBe(25);
    m.updateFromStatus([peer('10.0.0.2', { messagesIn: 3 })]);
    expect(sample(await m.render(), 'nodebgp_bgp_messages_received_total', 'peer="10.0.0.2"')).toBe(3);
  });

  it('deletes the series of a peer that is gone', async () => {
    const m = createMetrics({ processMetrics: false });
    m.updateFromStatus([peer('10.0.0.2'), peer('10.0.0.3')]);
    m.updateFromStatus([peer('10.0.0.2')]);
    const text = await m.render();
    expect(text).toContain('peer="10.0.0.2"');
    expect(text).not.toContain('peer="10.0.0.3"');
  });

  it('records histograms and keeps registries apart', async () => {
    const one = createMetrics({ processMetrics: false });
    const two = createMetrics();
    one.convergence.observe({ phase: 'startup' }, 1.5);
    one.reconcileDuration.observe(0.002);
    const text = await one.render();
    expect(text).toContain('nodebgp_convergence_seconds_count{phase="startup"} 1');
    expect(text).toContain('nodebgp_fib_reconcile_duration_seconds_count 1');
    expect(await two.render()).toContain('nodebgp_process_cpu_seconds_total');
    expect(await two.render()).not.toContain('phase="startup"');
  });
});
