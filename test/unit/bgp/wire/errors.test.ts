/**
 * Every BgpError variant maps to the NOTIFICATION RFC 4271 §6 (and RFC 4486, 5492, 6608, 7313, 9003, 9234)
 * prescribes; the text table names each; framing and OPEN validation raise the right variants.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  decodeShutdownCommunication,
  describeNotification,
  describeNotificationMessage,
  encodeShutdownCommunication,
  messageLength,
  toNotification,
  validateOpen,
  type BgpError,
  type BgpErrorKind,
  type OpenMessage,
} from '../../../../bgp/wire/index.js';
import { CTX4, MARKER, hex } from './helpers.js';

const D = Uint8Array.of(0xaa, 0xbb);
const base = { code: 'X', reason: 'test' };

/** [error, code, subcode, data hex]: one row per variant (and per subcode where the variant has several). */
const MAPPING: [BgpError, number, number, string][] = [
  [{ ...base, kind: 'connection-not-synchronized' }, 1, 1, ''],
  [{ ...base, kind: 'bad-message-length', length: 5000 }, 1, 2, '1388'],
  [{ ...base, kind: 'bad-message-type', messageType: 9 }, 1, 3, '09'],
  [{ ...base, kind: 'unsupported-version-number', supportedVersion: 4 }, 2, 1, '0004'],
  [{ ...base, kind: 'bad-peer-as' }, 2, 2, ''],
  [{ ...base, kind: 'bad-bgp-identifier' }, 2, 3, ''],
  [{ ...base, kind: 'unsupported-optional-parameter', data: D }, 2, 4, 'aabb'],
  [{ ...base, kind: 'authentication-failure' }, 2, 5, ''],
  [{ ...base, kind: 'unacceptable-hold-time' }, 2, 6, ''],
  [{ ...base, kind: 'unsupported-capability', data: D }, 2, 7, 'aabb'],
  [{ ...base, kind: 'role-mismatch' }, 2, 8, ''],
  [{ ...base, kind: 'malformed-attribute-list' }, 3, 1, ''],
  [{ ...base, kind: 'unrecognized-well-known-attribute', data: D }, 3, 2, 'aabb'],
  [{ ...base, kind: 'missing-well-known-attribute', attributeType: 3 }, 3, 3, '03'],
  [{ ...base, kind: 'attribute-flags-error', data: D }, 3, 4, 'aabb'],
  [{ ...base, kind: 'attribute-length-error', data: D }, 3, 5, 'aabb'],
  [{ ...base, kind: 'invalid-origin-attribute', data: D }, 3, 6, 'aabb'],
  [{ ...base, kind: 'as-routing-loop' }, 3, 7, ''],
  [{ ...base, kind: 'invalid-next-hop-attribute', data: D }, 3, 8, 'aabb'],
  [{ ...base, kind: 'optional-attribute-error', data: D }, 3, 9, 'aabb'],
  [{ ...base, kind: 'invalid-network-field' }, 3, 10, ''],
  [{ ...base, kind: 'malformed-as-path' }, 3, 11, ''],
  [{ ...base, kind: 'hold-timer-expired' }, 4, 0, ''],
  [{ ...base, kind: 'fsm-error', subcode: 0, messageType: 0 }, 5, 0, ''],
  [{ ...base, kind: 'fsm-error', subcode: 1, messageType: 2 }, 5, 1, '02'],
  [{ ...base, kind: 'fsm-error', subcode: 2, messageType: 2 }, 5, 2, '02'],
  [{ ...base, kind: 'fsm-error', subcode: 3, messageType: 1 }, 5, 3, '01'],
  [
    { ...base, kind: 'cease', subcode: 1, maxPrefixes: { afi: 1, safi: 1, limit: 1000 } },
    6,
    1,
    '0001' + '01' + '000003e8',
  ],
  [{ ...base, kind: 'cease', subcode: 2, shutdownCommunication: 'bye' }, 6, 2, '03' + '627965'],
  [{ ...base, kind: 'cease', subcode: 2 }, 6, 2, ''],
  [{ ...base, kind: 'cease', subcode: 3 }, 6, 3, ''],
  [{ ...base, kind: 'cease', subcode: 4, shutdownCommunication: 'é' }, 6, 4, '02' + 'c3a9'],
  [{ ...base, kind: 'cease', subcode: 5 }, 6, 5, ''],
  [{ ...base, kind: 'cease', subcode: 6 }, 6, 6, ''],
  [{ ...base, kind: 'cease', subcode: 7 }, 6, 7, ''],
  [{ ...base, kind: 'cease', subcode: 8 }, 6, 8, ''],
  [{ ...base, kind: 'cease', subcode: 9 }, 6, 9, ''],
  [{ ...base, kind: 'cease', subcode: 10 }, 6, 10, ''],
  [{ ...base, kind: 'route-refresh-invalid-length', data: D }, 7, 1, 'aabb'],
];

/** The compiler checks this list names every variant: adding one to BgpError without a row fails here. */
const ALL_KINDS: Record<BgpErrorKind, true> = {
  'connection-not-synchronized': true,
  'bad-message-length': true,
  'bad-message-type': true,
  'unsupported-version-number': true,
  'bad-peer-as': true,
  'bad-bgp-identifier': true,
  'unsupported-optional-parameter': true,
  'authentication-failure': true,
  'unacceptable-hold-time': true,
  'unsupported-capability': true,
  'role-mismatch': true,
  'malformed-attribute-list': true,
  'unrecognized-well-known-attribute': true,
  'missing-well-known-attribute': true,
  'attribute-flags-error': true,
  'attribute-length-error': true,
  'invalid-origin-attribute': true,
  'as-routing-loop': true,
  'invalid-next-hop-attribute': true,
  'optional-attribute-error': true,
  'invalid-network-field': true,
  'malformed-as-path': true,
  'hold-timer-expired': true,
  'fsm-error': true,
  cease: true,
  'route-refresh-invalid-length': true,
};

describe('toNotification', () => {
  for (const [err, code, subcode, data] of MAPPING) {
    it(`${err.kind}${'subcode' in err ? ` ${err.subcode}` : ''} → ${code}/${subcode} "${describeNotification(code, subcode)}"`, () => {
      const n = toNotification(err);
      expect([n.type, n.code, n.subcode, Buffer.from(n.data).toString('hex')]).toEqual([
        3,
        code,
        subcode,
        data,
      ]);
    });
  }
  it('has a row for every variant', () => {
    expect(new Set(MAPPING.map(([e]) => e.kind))).toEqual(new Set(Object.keys(ALL_KINDS)));
  });
});

describe('describeNotification', () => {
  it.each([
    [6, 2, 'Cease / Administrative Shutdown'],
    [1, 2, 'Message Header Error / Bad Message Length'],
    [2, 6, 'OPEN Message Error / Unacceptable Hold Time'],
    [3, 11, 'UPDATE Message Error / Malformed AS_PATH'],
    [4, 0, 'Hold Timer Expired'],
    [5, 3, 'Finite State Machine Error / Receive Unexpected Message in Established State'],
    [7, 1, 'ROUTE-REFRESH Message Error / Invalid Message Length'],
    [6, 99, 'Cease / subcode 99'],
    [42, 1, 'Unknown error code 42 / subcode 1'],
  ])('%i/%i → %s', (code, subcode, text) => expect(describeNotification(code, subcode)).toBe(text));

  it('appends the shutdown communication', () => {
    const n = toNotification({
      ...base,
      kind: 'cease',
      subcode: 2,
      shutdownCommunication: 'maintenance until 02:00',
    });
    expect(describeNotificationMessage(n)).toBe('Cease / Administrative Shutdown: "maintenance until 02:00"');
  });

  it('cuts a shutdown communication past 255 octets at a character boundary', () => {
    const enc = encodeShutdownCommunication('é'.repeat(200));
    expect(enc[0]).toBe(254);
    expect(decodeShutdownCommunication(enc)).toBe('é'.repeat(127));
    expect(decodeShutdownCommunication(Uint8Array.of(9, 0x41))).toBeUndefined();
  });
});

describe('messageLength (framing)', () => {
  const keepalive = hex(`${MARKER} 0013 04`);
  it('−1 until 19 octets are there; then the whole length', () => {
    for (let n = 0; n < 19; n++) expect(messageLength(keepalive.subarray(0, n), 0)).toBe(-1);
    expect(messageLength(keepalive, 0)).toBe(19);
    expect(messageLength(Buffer.concat([Buffer.of(1, 2), hex(`${MARKER} 0017 02`)]), 2)).toBe(23);
  });
  it.each([
    ['bad marker', `${'ff'.repeat(15)}fe 0013 04`, 'connection-not-synchronized', 1, 1, ''],
    ['length 18', `${MARKER} 0012 04`, 'bad-message-length', 1, 2, '0012'],
    ['length 4097', `${MARKER} 1001 02`, 'bad-message-length', 1, 2, '1001'],
    ['OPEN of 28', `${MARKER} 001c 01`, 'bad-message-length', 1, 2, '001c'],
    ['UPDATE of 22', `${MARKER} 0016 02`, 'bad-message-length', 1, 2, '0016'],
    ['NOTIFICATION of 20', `${MARKER} 0014 03`, 'bad-message-length', 1, 2, '0014'],
    ['KEEPALIVE of 20', `${MARKER} 0014 04`, 'bad-message-length', 1, 2, '0014'],
    ['ROUTE-REFRESH of 22', `${MARKER} 0016 05`, 'bad-message-length', 1, 2, '0016'],
    ['type 6', `${MARKER} 0013 06`, 'bad-message-type', 1, 3, '06'],
    ['type 0', `${MARKER} 0013 00`, 'bad-message-type', 1, 3, '00'],
  ])('%s', (_name, bytes, kind, code, subcode, data) => {
    const r = messageLength(hex(bytes), 0);
    if (typeof r === 'number') throw new Error(`expected an error, got ${r}`);
    expect(r.kind).toBe(kind);
    const n = toNotification(r);
    expect([n.code, n.subcode, Buffer.from(n.data).toString('hex')]).toEqual([code, subcode, data]);
  });
  it('ROUTE-REFRESH of 24 octets is a ROUTE-REFRESH error with the message as data (RFC 7313 §5)', () => {
    const msg = hex(`${MARKER} 0018 05 0001 00 01 00`);
    const d = decodeMessage(msg, CTX4);
    expect(d.ok).toBe(false);
    if (!d.ok)
      expect(toNotification(d.error)).toMatchObject({ code: 7, subcode: 1, data: Uint8Array.from(msg) });
  });
  it('decodeMessage refuses a buffer whose length differs from the Length field', () => {
    const d = decodeMessage(hex(`${MARKER} 0013 04 00`), CTX4);
    expect(!d.ok && d.error.kind).toBe('bad-message-length');
  });
});

describe('validateOpen (RFC 4271 §6.2)', () => {
  const open: OpenMessage = {
    type: 1,
    version: 4,
    myAs: 23456,
    holdTime: 90,
    bgpId: '10.0.0.2',
    capabilities: [{ code: 65, asn: 4200000000 }],
  };
  const expected = { peerAs: 4200000000, localBgpId: '10.0.0.1' };
  it('accepts a good OPEN', () => expect(validateOpen(open, expected)).toBeUndefined());
  it.each<
    [
      string,
      Partial<OpenMessage>,
      { peerAs: number; localBgpId?: string; localAs?: number },
      string | undefined,
    ]
  >([
    ['version 3 → 2/1', { version: 3 }, expected, 'unsupported-version-number'],
    ['wrong AS in the capability → 2/2', {}, { peerAs: 65001 }, 'bad-peer-as'],
    ['4-octet AS without capability → 2/2', { myAs: 23456, capabilities: [] }, expected, 'bad-peer-as'],
    ['My AS neither AS_TRANS nor the AS → 2/2', { myAs: 65001 }, expected, 'bad-peer-as'],
    ['identifier 0.0.0.0 → 2/3', { bgpId: '0.0.0.0' }, expected, 'bad-bgp-identifier'],
    ['identifier multicast → 2/3', { bgpId: '224.0.0.1' }, expected, 'bad-bgp-identifier'],
    [
      'identifier equal to ours on iBGP → 2/3',
      { bgpId: '10.0.0.1' },
      { ...expected, localAs: 4200000000 },
      'bad-bgp-identifier',
    ],
    [
      'identifier equal to ours on eBGP is fine (RFC 6286)',
      { bgpId: '10.0.0.1' },
      { ...expected, localAs: 65000 },
      undefined,
    ],
    ['hold time 1 → 2/6', { holdTime: 1 }, expected, 'unacceptable-hold-time'],
    ['hold time 2 → 2/6', { holdTime: 2 }, expected, 'unacceptable-hold-time'],
    ['hold time 0 is fine', { holdTime: 0 }, expected, undefined],
    ['hold time 3 is fine', { holdTime: 3 }, expected, undefined],
    ['2-octet peer without capability', { myAs: 65001, capabilities: [] }, { peerAs: 65001 }, undefined],
    [
      'unknown optional parameter → 2/4',
      { otherParameters: [{ type: 1, value: Uint8Array.of(7) }] },
      expected,
      'unsupported-optional-parameter',
    ],
  ])('%s', (_name, change, exp, kind) => {
    expect(validateOpen({ ...open, ...change }, exp)?.kind).toBe(kind);
  });
  it('2/1 carries our version as 2 octets, 2/4 the parameter', () => {
    expect(toNotification(validateOpen({ ...open, version: 5 }, expected)!).data).toEqual(
      Uint8Array.of(0, 4),
    );
    const err = validateOpen({ ...open, otherParameters: [{ type: 1, value: Uint8Array.of(7) }] }, expected)!;
    expect(toNotification(err).data).toEqual(Uint8Array.of(1, 1, 7));
  });
  it('an OPEN with an unknown optional parameter decodes, then fails validation', () => {
    const d = decodeMessage(hex(`${MARKER} 0020 01 04 fde9 005a 0a000002 03 01 01 07`), CTX4);
    if (!d.ok || d.message.type !== 1) throw new Error('expected OPEN');
    expect(validateOpen(d.message, { peerAs: 65001 })?.kind).toBe('unsupported-optional-parameter');
  });
  it('a truncated capability is a malformed OPEN', () => {
    const d = decodeMessage(hex(`${MARKER} 0021 01 04 fde9 005a 0a000002 04 02 02 41 04`), CTX4);
    expect(!d.ok && toNotification(d.error).code).toBe(1);
  });
});
