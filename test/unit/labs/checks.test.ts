/** Pure pieces of the runner's checks: the ping matrix text and ip -ts monitor timestamps. */
import { describe, expect, it } from 'vitest';
import { formatMatrix } from '../../../labs/runner/checks.js';
import { monitorStamp } from '../../../labs/runner/converge.js';

describe('formatMatrix', () => {
  it('prints one row per source, one column per destination, each family per cell', () => {
    const text = formatMatrix([
      { from: 'n1', to: 'n2', address: '10.244.2.10', ok: true },
      { from: 'n1', to: 'n2', address: 'fd00:244:2::10', ok: false },
      { from: 'n2', to: 'n1', address: '10.244.1.10', ok: true },
    ]);
    expect(text.split('\n')).toEqual([
      'from\\to n1      n2      ',
      'n1      -       ok/FAIL ',
      'n2      ok      -       ',
      '',
    ]);
  });
});

describe('monitorStamp', () => {
  it('reads ip -ts timestamps (local time) to the millisecond', () => {
    expect(monitorStamp('[2026-11-23T00:55:10.576454] 10.9.9.0/24 dev lo scope link')).toBe(
      new Date(2026, 10, 23, 0, 55, 10, 576).getTime(),
    );
  });
  it('ignores lines without one', () => expect(monitorStamp('Deleted 10.9.9.0/24 dev lo')).toBeUndefined());
});
