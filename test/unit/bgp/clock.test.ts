/** The shells' TimerList on a virtual clock: named deadlines, one real timer for the earliest. */
import { describe, expect, it } from 'vitest';
import { SharedClock, TimerList } from '../../../bgp/clock.js';
import { VirtualClock } from './virtual-clock.js';

describe('TimerList', () => {
  it('arms one real timer for the earliest deadline, re-arming as deadlines are set and cleared', () => {
    const clock = new VirtualClock(0);
    const list = new TimerList(clock);
    const fired: string[] = [];
    list.set('b', 300, () => fired.push('b'));
    list.set('a', 100, () => fired.push('a'));
    const socket = {};
    list.after(socket, 200, () => fired.push('socket'));
    expect(clock.armed()).toEqual([100]);
    list.clear('a');
    expect(clock.armed()).toEqual([200]);
    list.set('b', 50, () => fired.push('b'));
    expect(clock.armed()).toEqual([50]);
    clock.advance(250);
    expect(fired).toEqual(['b', 'socket']);
    expect(clock.armed()).toEqual([]);
    expect(list.next()).toBeUndefined();
  });

  it('runs every entry due at once, earliest first; an entry set by a callback gets its own turn', () => {
    const clock = new VirtualClock(0);
    const list = new TimerList(clock);
    const fired: string[] = [];
    list.set('late', 20, () => fired.push('late'));
    list.set('early', 10, (now) => {
      fired.push(`early@${now}`);
      list.set('again', now + 5, () => fired.push('again'));
      list.clear('late');
    });
    clock.advance(5);
    expect(fired).toEqual([]);
    clock.advance(100);
    expect(fired).toEqual(['early@10', 'again']);
    expect(list.has('late')).toBe(false);
  });
});

describe('SharedClock', () => {
  it('many timer lists share one real timer, armed for the earliest of all their deadlines', () => {
    const base = new VirtualClock(0);
    const shared = new SharedClock(base);
    const lists = Array.from({ length: 1000 }, () => new TimerList(shared));
    const fired: number[] = [];
    lists.forEach((l, i) => l.set('keepalive', 1000 + i, () => fired.push(i)));
    expect(base.armed()).toEqual([1000]);
    expect(shared.size).toBe(1000);
    // Re-arming one list for later (a KEEPALIVE was sent) does not touch the real timer.
    lists[0]!.set('keepalive', 5000, () => fired.push(-1));
    expect(base.armed()).toEqual([1001]);
    lists[1]!.clear('keepalive');
    expect(base.armed()).toEqual([1002]);
    base.advance(1500);
    expect(fired).toHaveLength(499); // 1002 … 1500, in one wake-up, in order
    expect(fired.slice(0, 3)).toEqual([2, 3, 4]);
    expect(base.armed()).toEqual([1501]);
    base.advance(10_000);
    expect(fired).toHaveLength(999);
    expect(fired.at(-1)).toBe(-1);
    expect(base.armed()).toEqual([]);
    expect(shared.size).toBe(0);
  });

  it('disarmed wake-ups are dropped, and a callback may arm a new one earlier than the rest', () => {
    const base = new VirtualClock(0);
    const shared = new SharedClock(base);
    const fired: string[] = [];
    const cancels = Array.from({ length: 200 }, (_, i) => shared.wakeAt(100 + i, () => fired.push(`x${i}`)));
    for (const c of cancels) c();
    expect(shared.size).toBe(0);
    expect(base.armed()).toEqual([]);
    shared.wakeAt(50, () => {
      fired.push('a');
      shared.wakeAt(60, () => fired.push('b'));
    });
    shared.wakeAt(70, () => fired.push('c'));
    base.advance(100);
    expect(fired).toEqual(['a', 'b', 'c']);
  });
});
