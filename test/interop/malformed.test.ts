/**
 * Malformed input against a real nodebgp process: a scripted peer (malformed/scripted-peer.mjs, run inside the
 * peer namespace, hand-built bytes) sends broken headers, OPENs and UPDATEs; nodebgp must answer with the RFC 4271
 * NOTIFICATION, or, for the attribute errors RFC 7606 handles by treat-as-withdraw, keep the session and drop
 * the route. A real FRR session on the same nodebgp must stay Established throughout, and nodebgp keeps running.
 *
 *   FRR (65001) 10.74.0.1 + scripted peer (65003) 10.74.0.3 ── nodebgp (65002) 10.74.0.2
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PeerStatus } from '../../bgp/api.js';
import { Lab, nodebgpAvailable, startFrr, startNodebgp, until } from './harness/index.js';
import type { Frr, Netns, Nodebgp } from './harness/index.js';

const SCRIPT = join(import.meta.dirname, 'malformed', 'scripted-peer.mjs');
const NB = '10.74.0.2';
const FRR_ADDR = '10.74.0.1';
const SCRIPTED = '10.74.0.3';
const SCRIPTED_AS = 65003;
const CONTROL = '10.98.0.0/24';

// ---- hand-built messages -------------------------------------------------------------------------------------

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
function ip4(a: string): Buffer {
  return Buffer.from(a.split('.').map(Number));
}

function message(type: number, body: Buffer, opts: { marker?: Buffer; length?: number } = {}): Buffer {
  const marker = opts.marker ?? Buffer.alloc(16, 0xff);
  return Buffer.concat([marker, u16(opts.length ?? 19 + body.length), Buffer.from([type]), body]);
}

const KEEPALIVE = message(4, Buffer.alloc(0));

function open(o: { version?: number; asn?: number; hold?: number; id?: string } = {}): Buffer {
  const asn = o.asn ?? SCRIPTED_AS;
  const caps = Buffer.concat([
    Buffer.from([1, 4, 0, 1, 0, 1]), // multiprotocol IPv4 unicast
    Buffer.from([65, 4]),
    u32(asn), // 4-octet AS
  ]);
  const params = Buffer.concat([Buffer.from([2, caps.length]), caps]);
  const body = Buffer.concat([
    Buffer.from([o.version ?? 4]),
    u16(asn > 0xffff ? 23456 : asn),
    u16(o.hold ?? 90),
    ip4(o.id ?? SCRIPTED),
    Buffer.from([params.length]),
    params,
  ]);
  return message(1, body);
}

function attr(flags: number, type: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([flags, type, value.length]), value]);
}
const origin = (v: number, flags = 0x40): Buffer => attr(flags, 1, Buffer.from([v]));
const asPath = (asns: readonly number[]): Buffer =>
  attr(0x40, 2, Buffer.concat([Buffer.from([2, asns.length]), ...asns.map(u32)]));
const nextHop = (a: string): Buffer => attr(0x40, 3, ip4(a));

function nlri(prefix: string): Buffer {
  const [addr, len] = prefix.split('/');
  const bits = Number(len);
  return Buffer.concat([Buffer.from([bits]), ip4(addr ?? '').subarray(0, Math.ceil(bits / 8))]);
}

function update(attrs: readonly Buffer[], prefixes: readonly string[], totalAttrLen?: number): Buffer {
  const a = Buffer.concat(attrs);
  return message(2, Buffer.concat([u16(0), u16(totalAttrLen ?? a.length), a, ...prefixes.map(nlri)]));
}

/** A well-formed UPDATE from the scripted peer. */
const good = (prefix: string): Buffer =>
  update([origin(0), asPath([SCRIPTED_AS]), nextHop(SCRIPTED)], [prefix]);

// ---- the scripted peer ---------------------------------------------------------------------------------------

interface PeerEvent {
  readonly event: 'connected' | 'msg' | 'sent' | 'closed' | 'error';
  readonly type?: number;
  readonly code?: number;
  readonly subcode?: number;
  readonly data?: string;
  readonly message?: string;
}

class Scripted {
  readonly events: PeerEvent[] = [];
  readonly proc: ChildProcess;
  constructor(ns: Netns, pre: readonly Buffer[], post: readonly Buffer[]) {
    const hex = (l: readonly Buffer[]): string => l.map((b) => b.toString('hex')).join(',');
    this.proc = ns.spawn(process.execPath, [SCRIPT, NB, SCRIPTED, hex(pre), hex(post)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let rest = '';
    this.proc.stdout?.setEncoding('utf8');
    this.proc.stdout?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) this.events.push(JSON.parse(l) as PeerEvent);
    });
  }
  has(event: PeerEvent['event']): boolean {
    return this.events.some((e) => e.event === event);
  }
  notification(): PeerEvent | undefined {
    return this.events.find((e) => e.event === 'msg' && e.type === 3);
  }
  async end(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.stdin?.end();
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}

// ---- the lab -------------------------------------------------------------------------------------------------

const available = nodebgpAvailable();
const lab = new Lab();
let nsPeer: Netns;
let frr: Frr;
let nb: Nodebgp;
let frrBaseline: PeerStatus;

async function neighbor(address: string): Promise<PeerStatus | undefined> {
  return (await nb.neighbors()).find((n) => n.address === address);
}

/** Run the scripted peer until nodebgp sends a NOTIFICATION; retried while nodebgp refuses the connection. */
async function expectNotification(pre: readonly Buffer[], post: readonly Buffer[]): Promise<PeerEvent> {
  return until(
    async () => {
      const s = new Scripted(nsPeer, pre, post);
      try {
        await until(() => s.has('closed') || s.notification() !== undefined, {
          timeout: 10_000,
          interval: 20,
          what: 'scripted session ends',
        });
        await until(() => s.has('closed'), { timeout: 2000, interval: 20, what: 'close' }).catch(() => 0);
        return s.notification();
      } finally {
        await s.end();
      }
    },
    { timeout: 40_000, interval: 500, what: 'a NOTIFICATION from nodebgp' },
  );
}

/** Send `bad`, then a good UPDATE for CONTROL: the session must survive and only CONTROL be installed. */
async function expectTreatAsWithdraw(bad: Buffer, badPrefix: string): Promise<void> {
  const before = (await neighbor(SCRIPTED))?.attributeErrors ?? 0;
  const s = new Scripted(nsPeer, [open(), KEEPALIVE], [bad, good(CONTROL)]);
  try {
    await until(() => s.has('sent'), { timeout: 20_000, what: 'scripted session up and UPDATEs sent' });
    await until(async () => (await nb.routes()).some((r) => r.prefix === CONTROL && r.peer === SCRIPTED), {
      what: `${CONTROL} (sent after the bad UPDATE) installed`,
    });
    const n = await until(
      async () => {
        const x = await neighbor(SCRIPTED);
        return x && x.attributeErrors > before ? x : undefined;
      },
      { timeout: 5000, what: 'attributeErrors incremented' },
    );
    expect(n.state).toBe('Established');
    expect(s.notification()).toBeUndefined();
    expect(s.has('closed')).toBe(false);
    expect((await nb.routes()).some((r) => r.prefix === badPrefix)).toBe(false);
  } finally {
    await s.end();
  }
}

describe.skipIf(!available)('nodebgp against malformed messages (needs npm run build)', () => {
  beforeAll(async () => {
    nsPeer = lab.namespace('peer');
    const nsNb = lab.namespace('nb');
    lab.link(nsPeer, nsNb, { a: [`${FRR_ADDR}/24`, `${SCRIPTED}/24`], b: [`${NB}/24`] });
    frr = await startFrr(nsPeer, lab.tempDir('frr'), {
      withZebra: false,
      bgpd: [
        'router bgp 65001',
        ` bgp router-id ${FRR_ADDR}`,
        ' no bgp ebgp-requires-policy',
        ' no bgp network import-check',
        ` neighbor ${NB} remote-as 65002`,
        ` neighbor ${NB} update-source ${FRR_ADDR}`,
        ` neighbor ${NB} timers 2 6`,
        ` neighbor ${NB} timers connect 1`,
        ' address-family ipv4 unicast',
        '  network 10.1.0.0/24',
        ' exit-address-family',
        '',
      ].join('\n'),
    });
    nb = await startNodebgp(nsNb, lab.tempDir('nb'), {
      asn: 65002,
      routerId: NB,
      listen: { address: NB, port: 179 },
      node: { address: NB, podCIDRs: ['10.244.2.0/24'] },
      peers: [
        { address: FRR_ADDR, asn: 65001, holdTime: 6, passive: false },
        // One session per test, most of them reset on purpose: no damping of those flaps.
        { address: SCRIPTED, asn: SCRIPTED_AS, holdTime: 90, passive: true, dampPeerOscillations: false },
      ],
      kernel: { enabled: false },
    });
    frrBaseline = await until(
      async () => {
        const n = await neighbor(FRR_ADDR);
        return n?.state === 'Established' ? n : undefined;
      },
      { timeout: 30_000, what: 'nodebgp Established with FRR' },
    );
  });

  afterAll(async () => {
    await lab.teardown();
  });

  afterEach(async () => {
    expect(nb.daemon.running, 'nodebgp still running').toBe(true);
    const n = await neighbor(FRR_ADDR);
    expect(n?.state).toBe('Established');
    expect(n?.establishedCount).toBe(frrBaseline.establishedCount);
    expect(n?.since).toBe(frrBaseline.since);
    expect(await frr.neighborState(NB)).toBe('Established');
  });

  it('bad marker → NOTIFICATION 1/1 (Connection Not Synchronized)', async () => {
    const bad = message(4, Buffer.alloc(0), { marker: Buffer.alloc(16, 0) });
    const n = await expectNotification([open(), KEEPALIVE], [bad]);
    expect([n.code, n.subcode]).toEqual([1, 1]);
  });

  it('bad length 18 → NOTIFICATION 1/2 (Bad Message Length) with the length as data', async () => {
    const bad = message(4, Buffer.alloc(0), { length: 18 });
    const n = await expectNotification([open(), KEEPALIVE], [bad]);
    expect([n.code, n.subcode]).toEqual([1, 2]);
    expect(n.data).toBe('0012');
  });

  it('bad length 4097 → NOTIFICATION 1/2 (Bad Message Length)', async () => {
    const bad = message(2, Buffer.alloc(0), { length: 4097 });
    const n = await expectNotification([open(), KEEPALIVE], [bad]);
    expect([n.code, n.subcode]).toEqual([1, 2]);
    expect(n.data).toBe('1001');
  });

  it('bad type 9 → NOTIFICATION 1/3 (Bad Message Type) with the type as data', async () => {
    const n = await expectNotification([open(), KEEPALIVE], [message(9, Buffer.alloc(0))]);
    expect([n.code, n.subcode]).toEqual([1, 3]);
    expect(n.data).toBe('09');
  });

  it('OPEN version 3 → NOTIFICATION 2/1 (Unsupported Version Number), data = supported version 4', async () => {
    const n = await expectNotification([open({ version: 3 })], []);
    expect([n.code, n.subcode]).toEqual([2, 1]);
    expect(n.data).toBe('0004');
  });

  it('OPEN with the wrong AS → NOTIFICATION 2/2 (Bad Peer AS)', async () => {
    const n = await expectNotification([open({ asn: 65009 })], []);
    expect([n.code, n.subcode]).toEqual([2, 2]);
  });

  it('OPEN with hold time 1 → NOTIFICATION 2/6 (Unacceptable Hold Time)', async () => {
    const n = await expectNotification([open({ hold: 1 })], []);
    expect([n.code, n.subcode]).toEqual([2, 6]);
  });

  it('OPEN with BGP identifier 0.0.0.0 → NOTIFICATION 2/3 (Bad BGP Identifier)', async () => {
    const n = await expectNotification([open({ id: '0.0.0.0' })], []);
    expect([n.code, n.subcode]).toEqual([2, 3]);
  });

  it('UPDATE whose Total Path Attribute Length overruns the message → NOTIFICATION 3/1', async () => {
    const attrs = [origin(0), asPath([SCRIPTED_AS]), nextHop(SCRIPTED)];
    const len = Buffer.concat(attrs).length;
    const bad = update(attrs, [], len + 40);
    const n = await expectNotification([open(), KEEPALIVE], [bad]);
    expect([n.code, n.subcode]).toEqual([3, 1]);
  });

  it('ORIGIN flagged optional → RFC 7606 §3.c treat-as-withdraw (no NOTIFICATION, route dropped)', async () => {
    const bad = update([origin(0, 0xc0), asPath([SCRIPTED_AS]), nextHop(SCRIPTED)], ['10.90.1.0/24']);
    await expectTreatAsWithdraw(bad, '10.90.1.0/24');
  });

  it('ORIGIN value 3 → RFC 7606 §7.1 treat-as-withdraw', async () => {
    const bad = update([origin(3), asPath([SCRIPTED_AS]), nextHop(SCRIPTED)], ['10.90.2.0/24']);
    await expectTreatAsWithdraw(bad, '10.90.2.0/24');
  });

  it('NEXT_HOP 0.0.0.0 → treat-as-withdraw (RFC 4271 §6.3 / RFC 7606 §7.3)', async () => {
    const bad = update([origin(0), asPath([SCRIPTED_AS]), nextHop('0.0.0.0')], ['10.90.3.0/24']);
    await expectTreatAsWithdraw(bad, '10.90.3.0/24');
  });

  it('NEXT_HOP 224.0.0.1 → treat-as-withdraw', async () => {
    const bad = update([origin(0), asPath([SCRIPTED_AS]), nextHop('224.0.0.1')], ['10.90.4.0/24']);
    await expectTreatAsWithdraw(bad, '10.90.4.0/24');
  });

  it('missing ORIGIN → RFC 7606 §3.d treat-as-withdraw', async () => {
    const bad = update([asPath([SCRIPTED_AS]), nextHop(SCRIPTED)], ['10.90.5.0/24']);
    await expectTreatAsWithdraw(bad, '10.90.5.0/24');
  });

  it('AS_PATH containing our own AS → no NOTIFICATION, route ineligible (as-path-loop)', async () => {
    const prefix = '10.90.6.0/24';
    const s = new Scripted(
      nsPeer,
      [open(), KEEPALIVE],
      [update([origin(0), asPath([SCRIPTED_AS, 65002, 65100]), nextHop(SCRIPTED)], [prefix])],
    );
    try {
      await until(() => s.has('sent'), { timeout: 20_000, what: 'scripted session up and UPDATE sent' });
      const r = await until(async () => (await nb.routes()).find((x) => x.prefix === prefix), {
        what: `${prefix} in the RIB as ineligible`,
      });
      expect(r.best).toBe(false);
      expect(r.reason).toContain('as-path-loop');
      expect(s.notification()).toBeUndefined();
      expect((await neighbor(SCRIPTED))?.state).toBe('Established');
    } finally {
      await s.end();
    }
  });
});

afterAll(async () => {
  await lab.teardown();
});
