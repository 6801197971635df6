/**
 * The BFD core (RFC 5880 §6) on a virtual clock: two BfdManagers joined by a simulated link with 1 ms latency,
 * every deadline honoured exactly, nothing real. Seconds of protocol time run in microseconds.
 */
import { describe, expect, it } from 'vitest';
import { BfdManager, type BfdPeerConfig, type StateChange } from '../../../bfd/manager.js';
import { BfdState, decodeControl, encodeControl, type ControlPacket } from '../../../bfd/packet.js';
import { BfdSession } from '../../../bfd/session.js';

/** A deterministic random in [0, 1). */
function lcg(seed = 1): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

interface Node {
  readonly address: string;
  readonly m: BfdManager;
  readonly changes: StateChange[];
  readonly sent: { at: number; packet: ControlPacket }[];
}

/** Two managers, A and B, and a link between them that can be cut per direction. */
class Link {
  now = 0;
  readonly a: Node;
  readonly b: Node;
  cutToA = false;
  cutToB = false;
  ttl = 255;
  private queue: { at: number; to: Node; from: string; bytes: Uint8Array }[] = [];

  constructor(timers: Partial<BfdPeerConfig> = {}, timersB: Partial<BfdPeerConfig> = timers) {
    this.a = { address: '10.0.0.1', m: new BfdManager(lcg(1)), changes: [], sent: [] };
    this.b = { address: '10.0.0.2', m: new BfdManager(lcg(2)), changes: [], sent: [] };
    const t = { desiredMinTx: 100_000, requiredMinRx: 100_000, detectMult: 3 };
    this.deliver(this.a, this.a.m.set({ peer: this.b.address, ...t, ...timers }, 0));
    this.deliver(this.b, this.b.m.set({ peer: this.a.address, ...t, ...timersB }, 0));
  }

  deliver(from: Node, out: ReturnType<BfdManager['expire']>): void {
    from.changes.push(...out.changes);
    for (const d of out.send) {
      const to = from === this.a ? this.b : this.a;
      from.sent.push({ at: this.now, packet: (decodeControl(d.bytes) as { packet: ControlPacket }).packet });
      if ((to === this.a && this.cutToA) || (to === this.b && this.cutToB)) continue;
      this.queue.push({ at: this.now + 1, to, from: from.address, bytes: d.bytes });
    }
  }

  /** Run the clock to `until` (ms), step by step through every deadline and delivery. */
  run(until: number): void {
    for (;;) {
      const next = Math.min(
        this.a.m.nextDeadline() ?? Infinity,
        this.b.m.nextDeadline() ?? Infinity,
        ...this.queue.map((q) => q.at),
      );
      if (next > until) break;
      this.now = next;
      const due = this.queue.filter((q) => q.at <= next);
      this.queue = this.queue.filter((q) => q.at > next);
      for (const q of due)
        this.deliver(
          q.to,
          q.to.m.receive(q.bytes, { address: q.from, multihop: false, ttl: this.ttl }, this.now),
        );
      for (const n of [this.a, this.b])
        if ((n.m.nextDeadline() ?? Infinity) <= this.now) this.deliver(n, n.m.expire(this.now));
    }
    this.now = until;
  }

  view(n: Node) {
    return n.m.views(this.now)[0]!;
  }
}

describe('BFD sessions on a virtual clock', () => {
  it('come Up by the three-way handshake, then negotiate the fast timers with a Poll Sequence', () => {
    const link = new Link();
    link.run(50);
    expect(link.a.changes.map((c) => `${c.from}>${c.to}`)).toEqual(['Down>Init', 'Init>Up']);
    expect(link.b.changes.map((c) => c.to)).toEqual(['Init', 'Up']);
    link.run(5000);
    const a = link.view(link.a);
    expect(a).toMatchObject({ state: 'Up', remoteState: 'Up', txInterval: 100_000, detectionTime: 300_000 });
    // the first Up packets carried P; the peer answered F; then P stopped
    const polls = link.a.sent.filter((s) => s.packet.poll);
    expect(polls.length).toBeGreaterThan(0);
    expect(link.b.sent.some((s) => s.packet.final)).toBe(true);
    expect(link.a.sent.slice(-5).every((s) => !s.packet.poll && !s.packet.final)).toBe(true);
    expect(link.a.sent.every((s) => !(s.packet.poll && s.packet.final))).toBe(true);
  });

  it('send every 75-100% of the interval (§6.8.7 jitter), and 1 s apart while not Up', () => {
    const link = new Link();
    link.cutToA = true; // A never hears B: stays Down, sends at the slow rate
    link.run(20_000);
    const gaps = (sent: { at: number }[]) => sent.slice(1).map((s, i) => s.at - sent[i]!.at);
    const slow = gaps(link.a.sent.slice(1));
    expect(Math.min(...slow)).toBeGreaterThanOrEqual(750);
    expect(Math.max(...slow)).toBeLessThanOrEqual(1000);

    const up = new Link();
    up.run(5000);
    const fast = gaps(up.a.sent.filter((s) => s.at > 3000 && !s.packet.final));
    expect(Math.min(...fast)).toBeGreaterThanOrEqual(75);
    expect(Math.max(...fast)).toBeLessThanOrEqual(100);

    const one = new Link({ detectMult: 1 });
    one.run(5000);
    const m1 = gaps(one.a.sent.filter((s) => s.at > 3000 && !s.packet.final));
    expect(Math.min(...m1)).toBeGreaterThanOrEqual(75);
    expect(Math.max(...m1)).toBeLessThanOrEqual(90);
  });

  it('a silent peer is declared down after exactly one Detection Time (diag 1)', () => {
    const link = new Link();
    link.run(3000);
    link.cutToA = true;
    const cutAt = link.now;
    const lastHeard = Math.max(...link.b.sent.filter((s) => s.at <= cutAt).map((s) => s.at)) + 1;
    link.run(cutAt + 1000);
    const down = link.a.changes.find((c) => c.to === 'Down')!;
    expect(down).toMatchObject({ from: 'Up', diag: 1 });
    expect(down.at - lastHeard).toBe(300);
    expect(down.at - cutAt).toBeLessThanOrEqual(300);
    // B hears A's Down (diag 3 on B's side: neighbor signaled session down)
    expect(link.b.changes.find((c) => c.to === 'Down')).toMatchObject({ diag: 3 });
    const a = link.view(link.a);
    expect(a.downCount).toBe(1);
    expect(a.localDiag).toBe(1);
  });

  it('comes back Up when the link heals', () => {
    const link = new Link();
    link.run(3000);
    link.cutToA = link.cutToB = true;
    link.run(6000);
    expect(link.view(link.a).state).toBe('Down');
    link.cutToA = link.cutToB = false;
    link.run(12_000);
    expect(link.view(link.a)).toMatchObject({ state: 'Up', upCount: 2, downCount: 1 });
  });

  it('a removed session sends AdminDown: the peer goes Down with diag 3, remote state AdminDown', () => {
    const link = new Link();
    link.run(3000);
    const out = link.a.m.remove('10.0.0.2', false, link.now);
    expect(out.send.map((d) => (decodeControl(d.bytes) as { packet: ControlPacket }).packet)).toMatchObject([
      { state: BfdState.AdminDown, diag: 7 },
    ]);
    expect(out.changes).toEqual([]); // removal is not a failure to report
    link.deliver(link.a, out);
    link.run(4000);
    expect(link.b.changes.at(-1)).toMatchObject({ to: 'Down', diag: 3, remoteState: 'AdminDown' });
    link.run(10_000);
    expect(link.a.m.views(link.now)).toEqual([]);
  });

  it('single hop: a packet whose TTL is not 255 is discarded (RFC 5881 §5)', () => {
    const link = new Link();
    link.ttl = 254;
    link.run(5000);
    expect(link.view(link.a)).toMatchObject({ state: 'Down', rx: 0 });
    expect(link.view(link.a).discarded).toBeGreaterThan(0);
    expect(link.a.m.discards.get('ttl')).toBeGreaterThan(0);
  });

  it('multihop: the TTL must be at least the configured minimum', () => {
    const m = new BfdManager(lcg(3));
    m.set(
      {
        peer: '10.9.0.1',
        multihop: true,
        minTtl: 250,
        desiredMinTx: 100_000,
        requiredMinRx: 100_000,
        detectMult: 3,
      },
      0,
    );
    const p = encodeControl({
      diag: 0,
      state: BfdState.Down,
      poll: false,
      final: false,
      cpi: false,
      auth: false,
      demand: false,
      multipoint: false,
      detectMult: 3,
      myDiscriminator: 99,
      yourDiscriminator: 0,
      desiredMinTx: 1_000_000,
      requiredMinRx: 100_000,
      requiredMinEchoRx: 0,
    });
    m.receive(p, { address: '10.9.0.1', multihop: true, ttl: 249 }, 1);
    expect(m.views(1)[0]).toMatchObject({ state: 'Down', rx: 0, discarded: 1 });
    expect(m.receive(p, { address: '10.9.0.1', multihop: true, ttl: 251 }, 2).changes).toMatchObject([
      { to: 'Init' },
    ]);
    // the same peer on the single-hop port is another session (none here): discarded
    m.receive(p, { address: '10.9.0.1', multihop: false, ttl: 255 }, 3);
    expect(m.discards.get('unknown-session')).toBe(1);
  });

  it('demultiplexes by Your Discriminator, refusing one that names no session or another peer', () => {
    const link = new Link();
    link.run(3000);
    const a = link.view(link.a);
    const forged = encodeControl({
      diag: 0,
      state: BfdState.Down,
      poll: false,
      final: false,
      cpi: false,
      auth: false,
      demand: false,
      multipoint: false,
      detectMult: 3,
      myDiscriminator: 1234,
      yourDiscriminator: a.localDiscriminator,
      desiredMinTx: 1_000_000,
      requiredMinRx: 100_000,
      requiredMinEchoRx: 0,
    });
    // right discriminator, wrong source: not B's session
    expect(
      link.a.m.receive(forged, { address: '10.0.0.66', multihop: false, ttl: 255 }, link.now).changes,
    ).toEqual([]);
    const wrong = Buffer.from(forged);
    wrong.writeUInt32BE((a.localDiscriminator ^ 1) >>> 0, 8);
    link.a.m.receive(wrong, { address: '10.0.0.2', multihop: false, ttl: 255 }, link.now);
    expect(link.a.m.discards.get('unknown-session')).toBe(2);
    expect(link.view(link.a).state).toBe('Up');
  });

  it('slower timers while Up take effect only after the Poll Sequence ends (§6.8.3)', () => {
    const s = new BfdSession({ desiredMinTx: 100_000, requiredMinRx: 100_000, detectMult: 3 }, 7, 0, lcg(4));
    const peer = (over: Partial<ControlPacket>): ControlPacket => ({
      diag: 0,
      state: BfdState.Init,
      poll: false,
      final: false,
      cpi: false,
      auth: false,
      demand: false,
      multipoint: false,
      detectMult: 3,
      myDiscriminator: 8,
      yourDiscriminator: 7,
      desiredMinTx: 100_000,
      requiredMinRx: 100_000,
      requiredMinEchoRx: 0,
      ...over,
    });
    s.receive(peer({}), 1);
    expect(s.state).toBe(BfdState.Up);
    s.receive(peer({ state: BfdState.Up, final: true }), 2);
    expect(s.pollActive).toBe(false);
    expect(s.txInterval()).toBe(100);
    const out = s.setTimers({ desiredMinTx: 500_000, requiredMinRx: 100_000, detectMult: 3 }, 3);
    expect(out).toMatchObject([{ type: 'send', packet: { poll: true, desiredMinTx: 500_000 } }]);
    expect(s.txInterval()).toBe(100); // still the old rate
    s.receive(peer({ state: BfdState.Up, final: true }), 4);
    expect(s.txInterval()).toBe(500);
    // a Poll from the peer is answered at once with F (and never P and F together)
    const answer = s.receive(peer({ state: BfdState.Up, poll: true }), 5);
    expect(answer).toMatchObject([{ type: 'send', packet: { final: true, poll: false } }]);
  });

  it('stops periodic sending when the peer asks for Required Min RX 0 or Demand mode', () => {
    const s = new BfdSession({ desiredMinTx: 100_000, requiredMinRx: 100_000, detectMult: 3 }, 7, 0, lcg(5));
    const base: ControlPacket = {
      diag: 0,
      state: BfdState.Init,
      poll: false,
      final: false,
      cpi: false,
      auth: false,
      demand: false,
      multipoint: false,
      detectMult: 3,
      myDiscriminator: 8,
      yourDiscriminator: 7,
      desiredMinTx: 100_000,
      requiredMinRx: 0,
      requiredMinEchoRx: 0,
    };
    s.receive(base, 1);
    expect(s.expire(s.nextTx).filter((a) => a.type === 'send')).toEqual([]);
    s.receive({ ...base, state: BfdState.Up, requiredMinRx: 100_000, demand: true }, 2000);
    expect(s.expire(s.nextTx).filter((a) => a.type === 'send')).toEqual([]);
    s.receive({ ...base, state: BfdState.Up, requiredMinRx: 100_000, demand: false }, 2100);
    expect(s.expire(s.nextTx).filter((a) => a.type === 'send')).toHaveLength(1);
  });
});
