/** The shells' TimerList on a virtual clock: named deadlines, one real timer for the earliest. */
import { describe, expect, it } from 'vitest';
import { TimerList } from '../../../bgp/clock.js';
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
