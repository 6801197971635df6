import { describe, expect, it } from 'vitest';
import {
  CLUSTER_ID_GIVE_UP_MS,
  clusterIdStep,
  GIVE_UP_MS,
  retireStep,
  SETTLE_MS,
  type Retiring,
} from '../../../daemon/retire.js';

/** Feeds observations at the given times; returns the time of removal and why, or undefined. */
function run(seen: (t: number) => { reflectorsUp: boolean; uncovered: string[] }, until: number) {
  let state: Retiring = { since: 0 };
  for (let t = 0; t <= until; t += 100) {
    const step = retireStep(state, seen(t), t);
    if (step.action === 'remove') return { t, why: step.why, uncovered: step.uncovered };
    state = step.state;
  }
  return undefined;
}

describe('retireStep (make-before-break)', () => {
  it('keeps the session while a reflector is down, however long', () => {
    expect(run(() => ({ reflectorsUp: false, uncovered: [] }), 10 * GIVE_UP_MS)).toBeUndefined();
  });

  it('removes it SETTLE_MS after the reflectors are up and carry every prefix', () => {
    const seen = (t: number) => ({ reflectorsUp: t >= 1000, uncovered: t >= 3000 ? [] : ['10.244.3.0/24'] });
    expect(run(seen, 60_000)).toEqual({ t: 3000 + SETTLE_MS, why: 'reflected', uncovered: [] });
  });

  it('starts the settle time again when a prefix loses its other path', () => {
    const seen = (t: number) => ({
      reflectorsUp: true,
      uncovered: t >= 500 && t < 800 ? ['10.244.3.0/24'] : [],
    });
    expect(run(seen, 60_000)?.t).toBe(800 + SETTLE_MS);
  });

  it('gives up GIVE_UP_MS after the reflectors came up when a prefix never gets another path', () => {
    const seen = (t: number) => ({ reflectorsUp: t >= 2000, uncovered: ['10.244.3.0/24'] });
    expect(run(seen, 10 * GIVE_UP_MS)).toEqual({
      t: 2000 + GIVE_UP_MS,
      why: 'gave-up',
      uncovered: ['10.244.3.0/24'],
    });
  });
});

describe('clusterIdStep (a new reflector waits for its clients)', () => {
  const pending = { clusterId: '10.0.0.201', since: 1000 };
  it('takes the id once the clients are up, gives up after CLUSTER_ID_GIVE_UP_MS, drops it at once', () => {
    expect(clusterIdStep(pending, false, 1000 + CLUSTER_ID_GIVE_UP_MS - 1)).toBe('wait');
    expect(clusterIdStep(pending, true, 1001)).toBe('apply');
    expect(clusterIdStep(pending, false, 1000 + CLUSTER_ID_GIVE_UP_MS)).toBe('give-up');
    expect(clusterIdStep({ clusterId: undefined, since: 1000 }, false, 1000)).toBe('apply');
  });
});
