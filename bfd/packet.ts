/**
 * The BFD Control packet (RFC 5880 §4.1), without authentication (§4.2-4.4 are not implemented: a packet with
 * the A bit is refused, as §6.8.6 requires of a session whose bfd.AuthType is zero).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                       My Discriminator                        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                      Your Discriminator                       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                    Desired Min TX Interval                    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                   Required Min RX Interval                    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                 Required Min Echo RX Interval                 |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Intervals are microseconds. `decodeControl` applies the §6.8.6 checks that need nothing but the packet; the
 * ones that need a session (discriminators, state) are the session's (session.ts).
 */

export const BFD_VERSION = 1;
/** Length of a Control packet without an authentication section. */
export const CONTROL_LENGTH = 24;

/** §4.1 State (Sta). */
export const BfdState = { AdminDown: 0, Down: 1, Init: 2, Up: 3 } as const;
export type BfdState = (typeof BfdState)[keyof typeof BfdState];

export const STATE_NAMES = ['AdminDown', 'Down', 'Init', 'Up'] as const;
export type BfdStateName = (typeof STATE_NAMES)[number];

/** §4.1 Diagnostic (Diag). */
export const Diag = {
  None: 0,
  ControlDetectionTimeExpired: 1,
  EchoFunctionFailed: 2,
  NeighborSignaledDown: 3,
  ForwardingPlaneReset: 4,
  PathDown: 5,
  ConcatenatedPathDown: 6,
  AdministrativelyDown: 7,
  ReverseConcatenatedPathDown: 8,
} as const;

const DIAG_TEXT = [
  'no diagnostic',
  'control detection time expired',
  'echo function failed',
  'neighbor signaled session down',
  'forwarding plane reset',
  'path down',
  'concatenated path down',
  'administratively down',
  'reverse concatenated path down',
];

export function diagText(d: number): string {
  return DIAG_TEXT[d] ?? `diagnostic ${d}`;
}

export interface ControlPacket {
  readonly diag: number;
  readonly state: BfdState;
  /** P: a Poll Sequence asks for an answer with F. */
  readonly poll: boolean;
  /** F: the answer to a Poll. */
  readonly final: boolean;
  /** C: the sender's BFD does not share fate with its control plane. */
  readonly cpi: boolean;
  /** A: an authentication section follows. */
  readonly auth: boolean;
  /** D: the sender wishes to use Demand mode. */
  readonly demand: boolean;
  /** M: multipoint (reserved, must be zero). */
  readonly multipoint: boolean;
  readonly detectMult: number;
  readonly myDiscriminator: number;
  readonly yourDiscriminator: number;
  /** Microseconds. */
  readonly desiredMinTx: number;
  readonly requiredMinRx: number;
  readonly requiredMinEchoRx: number;
}

/** Why a received packet was discarded (stable codes, counted per reason). */
export type DiscardReason =
  | 'short'
  | 'bad-version'
  | 'bad-length'
  | 'zero-detect-mult'
  | 'multipoint'
  | 'zero-my-discriminator'
  | 'zero-your-discriminator'
  | 'authentication'
  | 'ttl'
  | 'unknown-session';

export type Decoded =
  | { readonly ok: true; readonly packet: ControlPacket }
  | { readonly ok: false; readonly reason: DiscardReason };

/**
 * §6.8.6, the checks on the packet alone: version 1; Length at least 24 (26 with A) and no more than the
 * datagram; Detect Mult, My Discriminator nonzero; M clear; Your Discriminator zero only in Down or AdminDown;
 * A clear (no authentication is configured). Never throws.
 */
export function decodeControl(b: Uint8Array): Decoded {
  if (b.length < CONTROL_LENGTH) return { ok: false, reason: 'short' };
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const b0 = b[0]!;
  const b1 = b[1]!;
  // "If the version number is not correct (1), the packet MUST be discarded."
  if (b0 >> 5 !== BFD_VERSION) return { ok: false, reason: 'bad-version' };
  const auth = (b1 & 0x04) !== 0;
  const length = b[3]!;
  // "If the Length field is less than the minimum correct value (24 if the A bit is clear, or 26 if the A bit
  // is set), the packet MUST be discarded." / "... greater than the payload of the encapsulating protocol".
  if (length < (auth ? 26 : CONTROL_LENGTH) || length > b.length) return { ok: false, reason: 'bad-length' };
  const packet: ControlPacket = {
    diag: b0 & 0x1f,
    state: (b1 >> 6) as BfdState,
    poll: (b1 & 0x20) !== 0,
    final: (b1 & 0x10) !== 0,
    cpi: (b1 & 0x08) !== 0,
    auth,
    demand: (b1 & 0x02) !== 0,
    multipoint: (b1 & 0x01) !== 0,
    detectMult: b[2]!,
    myDiscriminator: v.getUint32(4),
    yourDiscriminator: v.getUint32(8),
    desiredMinTx: v.getUint32(12),
    requiredMinRx: v.getUint32(16),
    requiredMinEchoRx: v.getUint32(20),
  };
  // "If the Detect Mult field is zero, the packet MUST be discarded."
  if (packet.detectMult === 0) return { ok: false, reason: 'zero-detect-mult' };
  // "If the Multipoint (M) bit is nonzero, the packet MUST be discarded."
  if (packet.multipoint) return { ok: false, reason: 'multipoint' };
  // "If the My Discriminator field is zero, the packet MUST be discarded."
  if (packet.myDiscriminator === 0) return { ok: false, reason: 'zero-my-discriminator' };
  // "If the Your Discriminator field is zero and the State field is not Down or AdminDown, the packet MUST be
  // discarded."
  if (packet.yourDiscriminator === 0 && packet.state !== BfdState.Down && packet.state !== BfdState.AdminDown)
    return { ok: false, reason: 'zero-your-discriminator' };
  // "If the A bit is set and no authentication is in use (bfd.AuthType is zero), the packet MUST be discarded."
  if (auth) return { ok: false, reason: 'authentication' };
  return { ok: true, packet };
}

/** The 24 bytes of `p` (no authentication section), into `out` when given. */
export function encodeControl(
  p: ControlPacket,
  out: Uint8Array = new Uint8Array(CONTROL_LENGTH),
): Uint8Array {
  const v = new DataView(out.buffer, out.byteOffset, CONTROL_LENGTH);
  out[0] = (BFD_VERSION << 5) | (p.diag & 0x1f);
  out[1] =
    ((p.state & 3) << 6) |
    (p.poll ? 0x20 : 0) |
    (p.final ? 0x10 : 0) |
    (p.cpi ? 0x08 : 0) |
    (p.auth ? 0x04 : 0) |
    (p.demand ? 0x02 : 0) |
    (p.multipoint ? 0x01 : 0);
  out[2] = p.detectMult & 0xff;
  out[3] = CONTROL_LENGTH;
  v.setUint32(4, p.myDiscriminator >>> 0);
  v.setUint32(8, p.yourDiscriminator >>> 0);
  v.setUint32(12, p.desiredMinTx >>> 0);
  v.setUint32(16, p.requiredMinRx >>> 0);
  v.setUint32(20, p.requiredMinEchoRx >>> 0);
  return out;
}
