/**
 * The BFD Control packet codec (RFC 5880 §4.1): golden vectors run both ways, every packet-level check of
 * §6.8.6, and a fast-check property (never throws; decode(encode(x)) is x).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BfdState, decodeControl, encodeControl, type ControlPacket } from '../../../bfd/packet.js';

/** Annotated bytes: on each line, the hex groups before the first word of comment. */
function hex(text: string): Buffer {
  const groups: string[] = [];
  for (const line of text.split('\n')) {
    for (const t of line.trim().split(/\s+/)) {
      if (!/^([0-9a-f]{2})+$/i.test(t)) break;
      groups.push(t);
    }
  }
  return Buffer.from(groups.join(''), 'hex');
}

const base: ControlPacket = {
  diag: 0,
  state: BfdState.Down,
  poll: false,
  final: false,
  cpi: false,
  auth: false,
  demand: false,
  multipoint: false,
  detectMult: 3,
  myDiscriminator: 1,
  yourDiscriminator: 0,
  desiredMinTx: 1_000_000,
  requiredMinRx: 300_000,
  requiredMinEchoRx: 0,
};

/** (name, packet, annotated bytes) */
const vectors: [string, ControlPacket, string][] = [
  [
    'Down, first packet: Your Discriminator still 0, slow 1 s rate while not Up',
    base,
    `20        version 1, diag 0
     40        state Down (01), no flags
     03        detect mult 3
     18        length 24
     00000001  my discriminator 1
     00000000  your discriminator 0
     000f4240  desired min tx 1,000,000 us
     000493e0  required min rx 300,000 us
     00000000  required min echo rx 0`,
  ],
  [
    'Up with Poll after the handshake: the fast rate announced (FRR sends this shape)',
    {
      ...base,
      state: BfdState.Up,
      poll: true,
      myDiscriminator: 0x2a,
      yourDiscriminator: 0xdeadbeef,
      desiredMinTx: 100_000,
      requiredMinRx: 100_000,
    },
    `20        version 1, diag 0
     e0        state Up (11), P
     03        detect mult 3
     18        length 24
     0000002a  my discriminator 42
     deadbeef  your discriminator
     000186a0  desired min tx 100,000 us
     000186a0  required min rx 100,000 us
     00000000  required min echo rx 0`,
  ],
  [
    'Down after a detection timeout: Diag 1, Final answering a Poll',
    { ...base, diag: 1, final: true, myDiscriminator: 7, yourDiscriminator: 9 },
    `21        version 1, diag 1 (control detection time expired)
     50        state Down, F
     03 18     detect mult 3, length 24
     00000007 00000009 000f4240 000493e0 00000000`,
  ],
  [
    'AdminDown, Diag 7 (administratively down), from a session being removed',
    { ...base, diag: 7, state: BfdState.AdminDown, myDiscriminator: 5 },
    `27 00 03 18  version 1 diag 7 | state AdminDown | detect mult 3 | length 24
     00000005 00000000 000f4240 000493e0 00000000`,
  ],
];

describe('BFD Control packet: golden vectors', () => {
  for (const [name, packet, bytes] of vectors) {
    it(`${name}: decode, encode, round trip`, () => {
      const b = hex(bytes);
      expect(decodeControl(b)).toEqual({ ok: true, packet });
      expect(Buffer.from(encodeControl(packet)).toString('hex')).toBe(b.toString('hex'));
      expect(decodeControl(encodeControl(packet))).toEqual({ ok: true, packet });
    });
  }
});

describe('§6.8.6 checks on the packet alone', () => {
  const good = () => Buffer.from(encodeControl(base));
  const cases: [string, (b: Buffer) => Buffer, string][] = [
    ['shorter than 24 bytes', (b) => b.subarray(0, 23), 'short'],
    ['version 0', (b) => ((b[0] = b[0]! & 0x1f), b), 'bad-version'],
    ['version 2', (b) => ((b[0] = (2 << 5) | (b[0]! & 0x1f)), b), 'bad-version'],
    ['Length 20', (b) => ((b[3] = 20), b), 'bad-length'],
    ['Length beyond the datagram', (b) => ((b[3] = 40), b), 'bad-length'],
    ['A bit with Length 24 (under 26)', (b) => ((b[1] = b[1]! | 0x04), b), 'bad-length'],
    [
      'A bit without authentication configured',
      (b) => ((b[1] = b[1]! | 0x04), (b[3] = 26), Buffer.concat([b, hex('0102')])),
      'authentication',
    ],
    ['Detect Mult 0', (b) => ((b[2] = 0), b), 'zero-detect-mult'],
    ['M bit', (b) => ((b[1] = b[1]! | 0x01), b), 'multipoint'],
    ['My Discriminator 0', (b) => (b.writeUInt32BE(0, 4), b), 'zero-my-discriminator'],
    ['Your Discriminator 0 in Up', (b) => ((b[1] = (3 << 6) | (b[1]! & 0x3f)), b), 'zero-your-discriminator'],
    ['Your Discriminator 0 in Init', (b) => ((b[1] = (2 << 5) << 1), b), 'zero-your-discriminator'],
  ];
  for (const [name, mutate, reason] of cases)
    it(`discards: ${name}`, () => expect(decodeControl(mutate(good()))).toEqual({ ok: false, reason }));

  it('accepts Your Discriminator 0 in AdminDown, and trailing bytes beyond Length', () => {
    expect(decodeControl(encodeControl({ ...base, state: BfdState.AdminDown })).ok).toBe(true);
    expect(decodeControl(Buffer.concat([good(), hex('00000000')])).ok).toBe(true);
  });
});

describe('properties', () => {
  const packet = fc.record({
    diag: fc.integer({ min: 0, max: 31 }),
    state: fc.constantFrom(BfdState.AdminDown, BfdState.Down, BfdState.Init, BfdState.Up),
    poll: fc.boolean(),
    final: fc.boolean(),
    cpi: fc.boolean(),
    auth: fc.constant(false),
    demand: fc.boolean(),
    multipoint: fc.constant(false),
    detectMult: fc.integer({ min: 1, max: 255 }),
    myDiscriminator: fc.integer({ min: 1, max: 0xffffffff }),
    yourDiscriminator: fc.integer({ min: 1, max: 0xffffffff }),
    desiredMinTx: fc.integer({ min: 0, max: 0xffffffff }),
    requiredMinRx: fc.integer({ min: 0, max: 0xffffffff }),
    requiredMinEchoRx: fc.integer({ min: 0, max: 0xffffffff }),
  });

  it('decode(encode(x)) is x', () =>
    fc.assert(
      fc.property(packet, (p) => {
        expect(decodeControl(encodeControl(p))).toEqual({ ok: true, packet: p });
      }),
    ));

  it('decode never throws on arbitrary bytes', () =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const d = decodeControl(b);
        expect(typeof d.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    ));
});
