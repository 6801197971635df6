/**
 * Transition reasons and log events are typed unions the compiler checks (`npx tsc -p tsconfig.test.json`
 * fails when a line below stops holding); the runtime part checks that what a real session reports is what
 * the types promise.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  PeerStateEvent,
  PeerStatus,
  SpeakerEvents,
  SpeakerLogFields,
  SpeakerLogRecord,
  TransitionReason,
} from '../../../bgp/api.js';
import { initialState, step, type FsmAction } from '../../../bgp/fsm.js';
import type { SessionHandlers } from '../../../bgp/session.js';

describe('transition reasons', () => {
  it('are one union across the FSM, the peer status and the state events', () => {
    expectTypeOf<PeerStatus['lastReason']>().toEqualTypeOf<TransitionReason | undefined>();
    expectTypeOf<PeerStateEvent['reason']>().toEqualTypeOf<TransitionReason>();
    expectTypeOf<Extract<FsmAction, { type: 'state' }>['reason']>().toEqualTypeOf<TransitionReason>();
    expectTypeOf<Parameters<NonNullable<SessionHandlers['down']>>[0]>().toEqualTypeOf<TransitionReason>();
    // @ts-expect-error a misspelt reason does not compile
    const typo: TransitionReason = 'hold-timer-expird';
    expect(typo).toBeDefined();
  });

  it('an FSM run reports only members of the union, with the reason of each RFC event', () => {
    const s0 = initialState(
      {
        localAsn: 65001,
        routerId: '10.0.0.1',
        holdTime: 90,
        connectRetryTime: 5,
        passive: false,
        capabilities: [],
      },
      0,
    );
    const r1 = step(s0, { type: 'ManualStart' }, 0);
    const r2 = step(r1.state, { type: 'Tcp_CR_Acked' }, 1);
    const r3 = step(r2.state, { type: 'HoldTimer_Expires' }, 2);
    const reasons = [...r1.actions, ...r2.actions, ...r3.actions].flatMap((a) =>
      a.type === 'state' ? [a.reason] : [],
    );
    expect(reasons).toEqual<TransitionReason[]>(['start', 'connected', 'hold-timer-expired']);
    expect(r3.state.lastReason).toBe('hold-timer-expired');
  });
});

describe('speaker log events', () => {
  it('carry the fields of their event, discriminated by name', () => {
    expectTypeOf<Parameters<SpeakerEvents['log']>[0]>().toEqualTypeOf<SpeakerLogRecord>();
    expectTypeOf<
      Extract<SpeakerLogRecord, { event: 'peer-state' }>['reason']
    >().toEqualTypeOf<TransitionReason>();
    expectTypeOf<SpeakerLogFields['collision']['kept']>().toEqualTypeOf<'new' | 'existing'>();
    const log: NonNullable<SessionHandlers['log']> = () => undefined;
    log('info', 'tcp-failed', { peer: '192.0.2.1', reason: 'ECONNRESET' });
    // @ts-expect-error an event that does not exist
    log('info', 'tcp-faild', { peer: '192.0.2.1', reason: 'ECONNRESET' });
    // @ts-expect-error a field the event does not have
    log('warn', 'collision', { peer: '192.0.2.1', remoteId: '10.0.0.2', kept: 'both' });
  });
});
