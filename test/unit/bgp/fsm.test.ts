/**
 * Scenario tests for the pure RFC 4271 §8 FSM: events replayed on a virtual clock, no sockets, no sleeping.
 */
import { describe, expect, it } from 'vitest';
import {
  initialState,
  nextDeadline,
  step,
  timerEvents,
  LARGE_HOLD_TIME,
  type FsmAction,
  type FsmConfig,
  type FsmEvent,
  type FsmState,
} from '../../../bgp/fsm.js';
import { backoff } from '../../../bgp/timers.js';
import { describeError } from '../../../bgp/peer-errors.js';
import type { Capability, NotificationMessage, OpenMessage, UpdateMessage } from '../../../bgp/wire/types.js';

const CAPS: Capability[] = [
  { code: 1, afi: 1, safi: 1 },
  { code: 1, afi: 2, safi: 1 },
  { code: 2 },
  { code: 65, asn: 65001 },
];

function config(over: Partial<FsmConfig> = {}): FsmConfig {
  return {
    localAsn: 65001,
    routerId: '10.0.0.1',
    holdTime: 90,
    connectRetryTime: 5,
    passive: false,
    capabilities: CAPS,
    ...over,
  };
}

function peerOpen(over: Partial<OpenMessage> = {}): OpenMessage {
  return {
    type: 1,
    version: 4,
    myAs: 65002,
    holdTime: 30,
    bgpId: '10.0.0.2',
    capabilities: [{ code: 1, afi: 1, safi: 1 }, { code: 65, asn: 65002 }, { code: 2 }],
    ...over,
  };
}

const EMPTY_UPDATE: UpdateMessage = { type: 2, withdrawn: [], reach: [], attributes: null, issues: [] };

/** A replay harness: a virtual clock and the actions of every step. */
class Run {
  s: FsmState;
  now = 1_000_000;
  log: FsmAction[] = [];
  constructor(cfg: FsmConfig = config()) {
    this.s = initialState(cfg, this.now);
  }
  ev(e: FsmEvent): FsmAction[] {
    const r = step(this.s, e, this.now);
    this.s = r.state;
    this.log.push(...r.actions);
    return r.actions;
  }
  /** Advance the virtual clock to `t`, firing due timers in order like the shell does. */
  advance(ms: number): FsmAction[] {
    const until = this.now + ms;
    const out: FsmAction[] = [];
    for (;;) {
      const d = nextDeadline(this.s);
      if (d === undefined || d > until) break;
      this.now = d;
      for (const e of timerEvents(this.s, this.now)) out.push(...this.ev(e));
    }
    this.now = until;
    return out;
  }
}

function sent(actions: FsmAction[]): (OpenMessage | NotificationMessage | { type: 4 })[] {
  return actions.flatMap((a) => (a.type === 'send' ? [a.message] : []));
}
function notification(actions: FsmAction[]): [number, number] | undefined {
  const n = sent(actions).find((m): m is NotificationMessage => m.type === 3);
  return n === undefined ? undefined : [n.code, n.subcode];
}

/** Active side up to Established. */
function establish(cfg: FsmConfig = config(), open: OpenMessage = peerOpen()): Run {
  const r = new Run(cfg);
  r.ev({ type: 'ManualStart' });
  r.ev({ type: 'Tcp_CR_Acked' });
  r.ev({ type: 'BGPOpen', open });
  r.ev({ type: 'KeepAliveMsg' });
  expect(r.s.state).toBe('Established');
  return r;
}

describe('open handshake', () => {
  it('active: Idle → Connect → OpenSent → OpenConfirm → Established', () => {
    const r = new Run();
    expect(r.ev({ type: 'ManualStart' })).toContainEqual({ type: 'connect' });
    expect(r.s.state).toBe('Connect');
    const a = r.ev({ type: 'Tcp_CR_Acked' });
    expect(r.s.state).toBe('OpenSent');
    const open = sent(a)[0] as OpenMessage;
    expect(open).toMatchObject({ type: 1, version: 4, myAs: 65001, holdTime: 90, bgpId: '10.0.0.1' });
    // §8: a large hold timer while waiting for the OPEN
    expect(r.s.timers.hold).toBe(r.now + LARGE_HOLD_TIME * 1000);
    expect(r.s.timers.connectRetry).toBeUndefined();
    const b = r.ev({ type: 'BGPOpen', open: peerOpen() });
    expect(r.s.state).toBe('OpenConfirm');
    expect(sent(b)).toEqual([{ type: 4 }]);
    const c = r.ev({ type: 'KeepAliveMsg' });
    expect(r.s.state).toBe('Established');
    const est = c.find((x) => x.type === 'established');
    expect(est).toBeDefined();
    if (est?.type !== 'established') return;
    expect(est.negotiated).toMatchObject({
      holdTime: 30,
      keepaliveTime: 10,
      fourOctetAs: true,
      routeRefresh: true,
      enhancedRouteRefresh: false,
      peerAsn: 65002,
      peerBgpId: '10.0.0.2',
      ibgp: false,
      families: [{ afi: 1, safi: 1 }],
    });
    expect(r.s.lastReason).toBe('keepalive-received');
  });

  it('passive: waits in Active without connecting, then accepts', () => {
    const r = new Run(config({ passive: true }));
    const a = r.ev({ type: 'ManualStart' });
    expect(r.s.state).toBe('Active');
    expect(a).not.toContainEqual({ type: 'connect' });
    expect(nextDeadline(r.s)).toBeUndefined();
    r.ev({ type: 'TcpConnectionConfirmed' });
    expect(r.s.state).toBe('OpenSent');
    r.ev({ type: 'BGPOpen', open: peerOpen() });
    r.ev({ type: 'KeepAliveMsg' });
    expect(r.s.state).toBe('Established');
  });

  it('no MP capability means IPv4 unicast only; iBGP is detected', () => {
    const r = establish(
      config({
        localAsn: 65002,
        capabilities: [
          { code: 1, afi: 2, safi: 1 },
          { code: 1, afi: 1, safi: 1 },
        ],
      }),
      peerOpen({ capabilities: [] }),
    );
    expect(r.s.negotiated?.families).toEqual([{ afi: 1, safi: 1 }]);
    expect(r.s.negotiated?.ibgp).toBe(true);
    expect(r.s.negotiated?.fourOctetAs).toBe(false);
  });

  it('every transition records a reason as a state action', () => {
    const r = establish();
    const states = r.log
      .filter((a) => a.type === 'state')
      .map((a) => (a.type === 'state' ? `${a.to}:${a.reason}` : ''));
    expect(states).toEqual([
      'Connect:start',
      'OpenSent:connected',
      'OpenConfirm:open-received',
      'Established:keepalive-received',
    ]);
  });
});

describe('hold timer', () => {
  for (const where of ['OpenSent', 'OpenConfirm', 'Established'] as const) {
    it(`expiry in ${where} sends 4/0 and records hold-timer-expired`, () => {
      const r = new Run();
      r.ev({ type: 'ManualStart' });
      r.ev({ type: 'Tcp_CR_Acked' });
      if (where !== 'OpenSent') r.ev({ type: 'BGPOpen', open: peerOpen({ holdTime: 9 }) });
      if (where === 'Established') r.ev({ type: 'KeepAliveMsg' });
      expect(r.s.state).toBe(where);
      const wait = where === 'OpenSent' ? LARGE_HOLD_TIME * 1000 : 9000;
      expect(r.advance(wait - 1).some((a) => a.type === 'close')).toBe(false);
      const a = r.advance(1);
      expect(notification(a)).toEqual([4, 0]);
      expect(a).toContainEqual({ type: 'close' });
      expect(r.s.state).toBe('Idle');
      expect(r.s.lastReason).toBe('hold-timer-expired');
      expect(r.s.lastError).toMatchObject({ kind: 'sent', code: 4, subcode: 0 });
      if (where === 'Established') expect(a).toContainEqual({ type: 'down', reason: 'hold-timer-expired' });
    });
  }

  it('messages from the peer restart the hold timer', () => {
    const r = establish(config(), peerOpen({ holdTime: 9 }));
    r.advance(8000);
    r.ev({ type: 'UpdateMsg', update: EMPTY_UPDATE });
    r.advance(8000);
    r.ev({ type: 'KeepAliveMsg' });
    r.advance(8000);
    expect(r.s.state).toBe('Established');
    r.advance(1000);
    expect(r.s.state).toBe('Idle');
  });

  it('keepalives every third of the negotiated hold time', () => {
    const r = establish(config(), peerOpen({ holdTime: 9 }));
    let keepalives = 0;
    for (let i = 0; i < 10; i++) {
      r.ev({ type: 'KeepAliveMsg' }); // the peer keeps us alive
      keepalives += sent(r.advance(1000)).filter((m) => m.type === 4).length;
    }
    expect(keepalives).toBe(3); // at 3 s, 6 s, 9 s of the 10 s after OpenConfirm's immediate one
  });

  it('a configured keepalive below a third is used', () => {
    const r = establish(config({ keepaliveTime: 1 }), peerOpen({ holdTime: 30 }));
    expect(r.s.negotiated?.keepaliveTime).toBe(1);
  });

  it('hold time 0: no hold timer, no keepalives, never expires', () => {
    const r = establish(config({ holdTime: 0 }), peerOpen({ holdTime: 30 }));
    expect(r.s.negotiated).toMatchObject({ holdTime: 0, keepaliveTime: 0 });
    expect(nextDeadline(r.s)).toBeUndefined();
    expect(r.advance(3_600_000)).toEqual([]);
    expect(r.s.state).toBe('Established');
  });

  for (const hold of [1, 2]) {
    it(`unacceptable hold time ${hold} gets 2/6`, () => {
      const r = new Run();
      r.ev({ type: 'ManualStart' });
      r.ev({ type: 'Tcp_CR_Acked' });
      const a = r.ev({ type: 'BGPOpen', open: peerOpen({ holdTime: hold }) });
      expect(notification(a)).toEqual([2, 6]);
      expect(r.s.state).toBe('Idle');
      expect(r.s.lastReason).toBe('open-error');
    });
  }

  it('the smaller hold time wins', () => {
    expect(establish(config({ holdTime: 3 }), peerOpen({ holdTime: 90 })).s.negotiated?.holdTime).toBe(3);
  });
});

describe('RFC 6608 unexpected messages', () => {
  it('UPDATE in OpenSent → 5/1', () => {
    const r = new Run();
    r.ev({ type: 'ManualStart' });
    r.ev({ type: 'Tcp_CR_Acked' });
    expect(notification(r.ev({ type: 'UpdateMsg', update: EMPTY_UPDATE }))).toEqual([5, 1]);
    expect(r.s.lastReason).toBe('fsm-error');
    // The NOTIFICATION names the state only; the kept error also names the event, for `neighbors`.
    expect(describeError(r.s.lastError)).toBe(
      'sent 5/1 Finite State Machine Error / Receive Unexpected Message in OpenSent State (event UpdateMsg in OpenSent)',
    );
  });
  it('an UPDATE before OPEN was sent (Connect) drops the connection and says which event it was', () => {
    const r = new Run();
    r.ev({ type: 'ManualStart' });
    expect(r.s.state).toBe('Connect');
    const a = r.ev({ type: 'UpdateMsg', update: EMPTY_UPDATE });
    expect(notification(a)).toBeUndefined();
    expect(r.s).toMatchObject({ state: 'Idle', lastReason: 'fsm-error' });
    expect(describeError(r.s.lastError)).toBe('unexpected event UpdateMsg in Connect');
  });
  it('KEEPALIVE in OpenSent → 5/1', () => {
    const r = new Run();
    r.ev({ type: 'ManualStart' });
    r.ev({ type: 'TcpConnectionConfirmed' });
    expect(notification(r.ev({ type: 'KeepAliveMsg' }))).toEqual([5, 1]);
  });
  it('UPDATE in OpenConfirm → 5/2', () => {
    const r = new Run();
    r.ev({ type: 'ManualStart' });
    r.ev({ type: 'Tcp_CR_Acked' });
    r.ev({ type: 'BGPOpen', open: peerOpen() });
    expect(notification(r.ev({ type: 'UpdateMsg', update: EMPTY_UPDATE }))).toEqual([5, 2]);
    expect(r.s.state).toBe('Idle');
  });
  it('second OPEN in OpenConfirm → 5/2', () => {
    const r = new Run();
    r.ev({ type: 'ManualStart' });
    r.ev({ type: 'Tcp_CR_Acked' });
    r.ev({ type: 'BGPOpen', open: peerOpen() });
    expect(notification(r.ev({ type: 'BGPOpen', open: peerOpen() }))).toEqual([5, 2]);
  });
  it('OPEN in Established → 5/3 and the routes go', () => {
    const r = establish();
    const a = r.ev({ type: 'BGPOpen', open: peerOpen() });
    expect(notification(a)).toEqual([5, 3]);
    expect(a).toContainEqual({ type: 'down', reason: 'fsm-error' });
  });
  it('a NOTIFICATION in OpenSent is not answered', () => {
    const r = new Run();
    r.ev({ type: 'ManualStart' });
    r.ev({ type: 'Tcp_CR_Acked' });
    const a = r.ev({
      type: 'NotifMsg',
      notification: { type: 3, code: 6, subcode: 2, data: new Uint8Array() },
    });
    expect(notification(a)).toBeUndefined();
    expect(r.s.lastReason).toBe('notification-received');
    expect(r.s.lastError).toMatchObject({ kind: 'received', code: 6, subcode: 2 });
  });
  it('UPDATE error in Established sends the codec NOTIFICATION', () => {
    const r = establish();
    const n: NotificationMessage = { type: 3, code: 3, subcode: 1, data: new Uint8Array() };
    const a = r.ev({ type: 'UpdateMsgErr', notification: n });
    expect(notification(a)).toEqual([3, 1]);
    expect(r.s.lastReason).toBe('update-error');
  });
  it('UPDATE in Established is delivered', () => {
    const r = establish();
    expect(r.ev({ type: 'UpdateMsg', update: EMPTY_UPDATE })).toEqual([
      { type: 'deliver', message: EMPTY_UPDATE },
    ]);
  });
});

describe('stop, retry, damping, collision', () => {
  it('ManualStop in Established sends Cease 6/2, goes down and stays down', () => {
    const r = establish();
    const a = r.ev({ type: 'ManualStop' });
    expect(notification(a)).toEqual([6, 2]);
    expect(a).toContainEqual({ type: 'down', reason: 'admin-down' });
    expect(r.s.state).toBe('Idle');
    expect(r.s.lastReason).toBe('admin-down');
    expect(nextDeadline(r.s)).toBeUndefined();
  });

  it('ManualStop carries a Cease subcode (peer de-configured)', () => {
    const r = establish();
    expect(notification(r.ev({ type: 'ManualStop', subcode: 3, reason: 'peer-deconfigured' }))).toEqual([
      6, 3,
    ]);
    expect(r.s.lastReason).toBe('peer-deconfigured');
  });

  it('ManualStop in Connect sends nothing', () => {
    const r = new Run();
    r.ev({ type: 'ManualStart' });
    const a = r.ev({ type: 'ManualStop' });
    expect(sent(a)).toEqual([]);
    expect(a).toContainEqual({ type: 'close' });
  });

  it('ConnectRetryTimer in Connect retries the connection', () => {
    const r = new Run();
    r.ev({ type: 'ManualStart' });
    const a = r.advance(5000);
    expect(a).toEqual([{ type: 'close' }, { type: 'connect' }]);
    expect(r.s.state).toBe('Connect');
  });

  it('failed connections back off: 5, 10, 20, 40, 60, 60 s — never a tight loop', () => {
    const r = new Run();
    r.ev({ type: 'ManualStart' });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      r.ev({ type: 'TcpConnectionFails', detail: 'ECONNREFUSED' });
      expect(r.s.state).toBe('Idle');
      expect(r.s.lastReason).toBe('connect-failed');
      expect(r.s.lastError).toEqual({ kind: 'tcp', detail: 'ECONNREFUSED' });
      const d = nextDeadline(r.s)!;
      delays.push((d - r.now) / 1000);
      expect(r.advance(d - r.now)).toContainEqual({ type: 'connect' });
    }
    expect(delays).toEqual([5, 10, 20, 40, 60, 60]);
    expect(backoff(1, 1)).toBe(1);
  });

  it('Established resets the backoff', () => {
    const r = new Run();
    r.ev({ type: 'ManualStart' });
    for (let i = 0; i < 3; i++) {
      r.ev({ type: 'TcpConnectionFails', detail: 'x' });
      r.advance(nextDeadline(r.s)! - r.now);
    }
    r.ev({ type: 'Tcp_CR_Acked' });
    r.ev({ type: 'BGPOpen', open: peerOpen() });
    r.ev({ type: 'KeepAliveMsg' });
    r.ev({ type: 'TcpConnectionFails', detail: 'reset' });
    expect(r.s.lastReason).toBe('connection-lost');
    expect(nextDeadline(r.s)! - r.now).toBe(5000);
  });

  it('an error after Established restarts automatically after the idle hold time', () => {
    const r = establish();
    r.ev({ type: 'NotifMsg', notification: { type: 3, code: 6, subcode: 4, data: new Uint8Array() } });
    expect(r.s.state).toBe('Idle');
    const a = r.advance(5000);
    expect(a).toContainEqual({ type: 'connect' });
    expect(r.s.state).toBe('Connect');
    expect(r.s.lastReason).toBe('idle-hold-expired');
  });

  it('OpenCollisionDump in OpenConfirm sends Cease 6/7', () => {
    const r = new Run();
    r.ev({ type: 'ManualStart' });
    r.ev({ type: 'Tcp_CR_Acked' });
    r.ev({ type: 'BGPOpen', open: peerOpen() });
    const a = r.ev({ type: 'OpenCollisionDump' });
    expect(notification(a)).toEqual([6, 7]);
    expect(r.s.lastReason).toBe('collision');
  });

  it('OpenCollisionDump in OpenSent sends Cease 6/7', () => {
    const r = new Run();
    r.ev({ type: 'ManualStart' });
    r.ev({ type: 'Tcp_CR_Acked' });
    expect(notification(r.ev({ type: 'OpenCollisionDump' }))).toEqual([6, 7]);
  });

  it('timer events that an earlier event stopped are ignored', () => {
    const r = establish(config(), peerOpen({ holdTime: 9 }));
    r.now += 9000;
    const events = timerEvents(r.s, r.now); // hold and keepalive both due
    expect(events.map((e) => e.type)).toEqual(['HoldTimer_Expires', 'KeepaliveTimer_Expires']);
    const before = r.log.length;
    for (const e of events) r.ev(e);
    expect(r.s.state).toBe('Idle');
    expect(sent(r.log.slice(before)).filter((m) => m.type === 4)).toEqual([]);
  });
});
