/**
 * OPEN message (RFC 4271 §4.2), after the header:
 *
 *      0                   1                   2                   3
 *      0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *      +-+-+-+-+-+-+-+-+
 *      |    Version    |
 *      +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *      |     My Autonomous System      |
 *      +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *      |           Hold Time           |
 *      +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *      |                         BGP Identifier                        |
 *      +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *      | Opt Parm Len  |
 *      +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *      |             Optional Parameters (variable)                    |
 *      +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Each Optional Parameter is (Parm. Type (1), Parm. Length (1), Parm. Value). RFC 9072: when Opt Parm Len is
 * 255 and the first octet after it is 255 (the Extended Length type), a 2-octet Extended Opt. Parm. Length
 * follows, and every parameter then has a 2-octet length.
 *
 * Decoding only checks structure; `validateOpen` applies the RFC 4271 §6.2 semantic checks separately, because
 * they need what we expect of the peer.
 */
import { parseIpv4 } from '../../ip/address.js';
import type { Capability, OpenMessage } from './types.js';
import type { BgpError } from './errors.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';
import { beginMessage, endMessage } from './header.js';
import { decodeCapabilityList, writeCapability } from './capabilities.js';
import {
  AS_TRANS,
  BGP_VERSION,
  CAP_FOUR_OCTET_AS,
  HEADER_LENGTH,
  MESSAGE_OPEN,
  OPT_PARAM_CAPABILITIES,
  OPT_PARAM_EXTENDED_LENGTH,
} from './iana.js';

function malformed(length: number, reason: string): BgpError {
  return { kind: 'bad-message-length', code: 'BGP_ERR_MALFORMED_OPEN', reason, length };
}

interface ParamState {
  capabilities: Capability[];
  grouping: number[];
  other: { type: number; value: Uint8Array }[];
  count: number;
}

/** Read the Optional Parameters (classic or RFC 9072 extended form) into `out`; false when malformed. */
function readParameters(r: Reader, extended: boolean, out: ParamState): boolean {
  while (r.remaining > 0) {
    out.count++;
    const type = r.u8();
    const len = extended ? r.u16() : r.u8();
    const value = r.sub(len);
    if (r.overrun) return false;
    if (type === OPT_PARAM_CAPABILITIES) {
      const caps = decodeCapabilityList(value);
      if (caps === undefined) return false;
      out.capabilities.push(...caps);
      out.grouping.push(caps.length);
    } else {
      out.other.push({ type, value: Uint8Array.from(value.bytes(len)) });
    }
  }
  return true;
}

/** Decode the body of an OPEN (`body` is the message without its 19-octet header). */
export function decodeOpen(
  body: Buffer,
): { ok: true; message: OpenMessage } | { ok: false; error: BgpError } {
  const total = body.length + HEADER_LENGTH;
  const r = Reader.of(body);
  const version = r.u8();
  const myAs = r.u16();
  const holdTime = r.u16();
  const bgpId = r.ipv4();
  let paramLen = r.u8();
  if (r.overrun) return { ok: false, error: malformed(total, 'OPEN shorter than its fixed fields') };
  let extended = false;
  // RFC 9072 §2: "If the value of the 'Non-Ext OP Type' field is 255 ... the 'Extended Opt. Parm. Length'".
  if (paramLen === 255 && r.remaining >= 3 && body[r.pos] === OPT_PARAM_EXTENDED_LENGTH) {
    r.u8();
    paramLen = r.u16();
    extended = true;
  }
  if (paramLen !== r.remaining) {
    return {
      ok: false,
      error: malformed(total, `optional parameters length ${paramLen} but ${r.remaining} octets follow`),
    };
  }
  const state: ParamState = { capabilities: [], grouping: [], other: [], count: 0 };
  if (!readParameters(r, extended, state)) {
    return {
      ok: false,
      error: malformed(total, 'an optional parameter or capability overruns its container'),
    };
  }
  const message: {
    -readonly [K in keyof OpenMessage]: OpenMessage[K];
  } = { type: MESSAGE_OPEN, version, myAs, holdTime, bgpId, capabilities: state.capabilities };
  if (state.grouping.some((n) => n !== 1)) message.capabilityGrouping = state.grouping;
  if (state.other.length > 0) message.otherParameters = state.other;
  // Remember the extended form only when the classic one (1-octet lengths) would have fitted.
  if (extended && paramLen - state.count <= 255) message.extendedOptionalParameters = true;
  return { ok: true, message };
}

/** Write the parameters in groups (one Capabilities parameter per group), then the other parameters. */
function writeParameters(w: Writer, open: OpenMessage, extended: boolean): void {
  const caps = open.capabilities;
  const grouping = open.capabilityGrouping ?? caps.map(() => 1);
  let next = 0;
  for (const count of grouping) {
    w.u8(OPT_PARAM_CAPABILITIES);
    const mark = extended ? w.mark16() : w.mark8();
    for (let i = 0; i < count && next < caps.length; i++) writeCapability(w, caps[next++]!);
    if (extended) w.patch16(mark);
    else w.patch8(mark);
  }
  for (const p of open.otherParameters ?? []) {
    w.u8(p.type);
    if (extended) w.u16(p.value.length);
    else w.u8(p.value.length);
    w.bytes(p.value);
  }
}

/** Encode an OPEN. Uses the RFC 9072 extended form when the parameters exceed 255 octets (or when asked). */
export function encodeOpen(open: OpenMessage): Buffer {
  const params = new Writer(64);
  writeParameters(params, open, false);
  const extended = open.extendedOptionalParameters === true || params.pos > 255;
  const w = new Writer(64 + params.pos);
  const start = beginMessage(w, MESSAGE_OPEN);
  w.u8(open.version).u16(open.myAs).u16(open.holdTime).ipv4(open.bgpId);
  if (extended) {
    w.u8(255).u8(OPT_PARAM_EXTENDED_LENGTH);
    const mark = w.mark16();
    writeParameters(w, open, true);
    w.patch16(mark);
  } else {
    w.u8(params.pos).bytes(params.view());
  }
  endMessage(w, start);
  return w.finish();
}

/** The peer's real AS: the 4-octet AS capability when present (RFC 6793 §4.1), else My Autonomous System. */
export function openPeerAs(open: OpenMessage): number {
  for (const c of open.capabilities) if (c.code === CAP_FOUR_OCTET_AS && !('unknown' in c)) return c.asn;
  return open.myAs;
}

export interface OpenExpectations {
  /** The AS configured for this peer. */
  readonly peerAs: number;
  /** Our BGP Identifier; an iBGP peer must not use it (RFC 4271 §6.2, RFC 6286 §2.2). */
  readonly localBgpId?: string;
  /** Our AS; when given, the identifier clash is only an error for iBGP (RFC 6286). Absent: always checked. */
  readonly localAs?: number;
}

/** RFC 4271 §6.2 checks of a decoded OPEN against what we expect; undefined when acceptable. */
export function validateOpen(open: OpenMessage, expected: OpenExpectations): BgpError | undefined {
  // "If the version number in the Version field of the received OPEN message is not supported, then the
  // Error Subcode MUST be set to Unsupported Version Number. The Data field is a 2-octet unsigned integer,
  // which indicates the largest, locally-supported version number less than the version the remote BGP
  // peer bid" — we only speak 4.
  if (open.version !== BGP_VERSION) {
    return {
      kind: 'unsupported-version-number',
      code: 'BGP_ERR_UNSUPPORTED_VERSION',
      reason: `peer offers BGP version ${open.version}, we speak ${BGP_VERSION}`,
      supportedVersion: BGP_VERSION,
    };
  }
  // "If the Autonomous System field of the OPEN message is unacceptable, then the Error Subcode MUST be set
  // to Bad Peer AS." With RFC 6793 the real AS is in the capability; My AS is then AS_TRANS or the same AS.
  const peerAs = openPeerAs(open);
  const hasAs4 =
    peerAs !== open.myAs || open.capabilities.some((c) => c.code === CAP_FOUR_OCTET_AS && !('unknown' in c));
  const myAsOk = !hasAs4 || open.myAs === AS_TRANS || open.myAs === peerAs;
  if (peerAs !== expected.peerAs || !myAsOk) {
    return {
      kind: 'bad-peer-as',
      code: 'BGP_ERR_BAD_PEER_AS',
      reason: `peer says AS ${peerAs} (My AS ${open.myAs}), expected ${expected.peerAs}`,
    };
  }
  const idError = checkBgpIdentifier(open.bgpId, expected);
  if (idError !== undefined) return idError;
  // "If the Hold Time field of the OPEN message is unacceptable, then the Error Subcode MUST be set to
  // Unacceptable Hold Time. An implementation MUST reject Hold Time values of one or two seconds."
  if (open.holdTime === 1 || open.holdTime === 2) {
    return {
      kind: 'unacceptable-hold-time',
      code: 'BGP_ERR_UNACCEPTABLE_HOLD_TIME',
      reason: `hold time ${open.holdTime}s`,
    };
  }
  // "If one of the Optional Parameters in the OPEN message is not recognized, then the Error Subcode MUST be
  // set to Unsupported Optional Parameters."
  const other = open.otherParameters?.[0];
  if (other !== undefined) {
    const w = new Writer(2 + other.value.length);
    w.u8(other.type).u8(other.value.length).bytes(other.value);
    return {
      kind: 'unsupported-optional-parameter',
      code: 'BGP_ERR_UNSUPPORTED_OPTIONAL_PARAMETER',
      reason: `optional parameter type ${other.type}`,
      data: Uint8Array.from(w.view()),
    };
  }
  return undefined;
}

/** "If the BGP Identifier field of the OPEN message is syntactically incorrect, then ... Bad BGP Identifier." */
function checkBgpIdentifier(bgpId: string, expected: OpenExpectations): BgpError | undefined {
  const id = parseIpv4(bgpId) ?? 0;
  const first = id >>> 24;
  let why: string | undefined;
  if (id === 0) why = 'BGP identifier 0.0.0.0';
  else if (first >= 224 && first <= 239) why = `BGP identifier ${bgpId} is multicast`;
  else if (
    expected.localBgpId !== undefined &&
    bgpId === expected.localBgpId &&
    (expected.localAs === undefined || expected.localAs === expected.peerAs)
  ) {
    why = `BGP identifier ${bgpId} is ours`;
  }
  return why === undefined
    ? undefined
    : { kind: 'bad-bgp-identifier', code: 'BGP_ERR_BAD_BGP_IDENTIFIER', reason: why };
}
