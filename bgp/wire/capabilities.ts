/**
 * Capabilities Optional Parameter (RFC 5492 §4): a list of TLVs.
 *
 *      +------------------------------+
 *      | Capability Code (1 octet)    |
 *      +------------------------------+
 *      | Capability Length (1 octet)  |
 *      +------------------------------+
 *      | Capability Value (variable)  |
 *      ~                              ~
 *      +------------------------------+
 *
 * The capabilities we interpret get a typed value; every other one (ADD-PATH 69, LLGR 71, FQDN 73, …) is kept
 * as received and re-encoded identically. A known capability whose value we would not re-encode to the same
 * octets (reserved bits set, odd length) is also kept raw: the typed form is only used when it is exact.
 */
import type { Capability } from './types.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';
import {
  CAP_ADD_PATH,
  CAP_ENHANCED_ROUTE_REFRESH,
  CAP_EXTENDED_MESSAGE,
  CAP_EXTENDED_NEXT_HOP,
  CAP_FOUR_OCTET_AS,
  CAP_FQDN,
  CAP_GRACEFUL_RESTART,
  CAP_LONG_LIVED_GRACEFUL_RESTART,
  CAP_MULTIPROTOCOL,
  CAP_ROLE,
  CAP_ROUTE_REFRESH,
  CAP_ROUTE_REFRESH_CISCO,
  MAX_RESTART_TIME,
} from './iana.js';

/** RFC 4724 §3 Restart Flags (top 4 bits of the 16-bit field) and per-family Forwarding bit. */
const GR_RESTARTING = 0x8000;
const GR_NOTIFICATION = 0x4000; // RFC 8538
const GR_TIME_MASK = MAX_RESTART_TIME;
const GR_FORWARDING = 0x80;

function typedCapability(code: number, r: Reader): Capability | undefined {
  switch (code) {
    case CAP_MULTIPROTOCOL: {
      // RFC 4760 §8: AFI (2), Reserved (1), SAFI (1).
      const afi = r.u16();
      r.u8();
      return { code: CAP_MULTIPROTOCOL, afi, safi: r.u8() };
    }
    case CAP_ROUTE_REFRESH:
      return { code: CAP_ROUTE_REFRESH };
    case CAP_EXTENDED_NEXT_HOP: {
      // RFC 8950 §3: (NLRI AFI (2), NLRI SAFI (2), Nexthop AFI (2)) repeated.
      const entries: { afi: number; safi: number; nextHopAfi: number }[] = [];
      while (r.remaining > 0 && !r.overrun)
        entries.push({ afi: r.u16(), safi: r.u16(), nextHopAfi: r.u16() });
      return { code: CAP_EXTENDED_NEXT_HOP, entries };
    }
    case CAP_GRACEFUL_RESTART: {
      // RFC 4724 §3: Restart Flags (4 bits), Restart Time (12 bits), then (AFI, SAFI, Flags) per family.
      const head = r.u16();
      const families: { afi: number; safi: number; forwarding: boolean }[] = [];
      while (r.remaining > 0 && !r.overrun) {
        families.push({ afi: r.u16(), safi: r.u8(), forwarding: (r.u8() & GR_FORWARDING) !== 0 });
      }
      return {
        code: CAP_GRACEFUL_RESTART,
        restarting: (head & GR_RESTARTING) !== 0,
        notification: (head & GR_NOTIFICATION) !== 0,
        restartTime: head & GR_TIME_MASK,
        families,
      };
    }
    case CAP_FOUR_OCTET_AS:
      // RFC 6793 §3: the 4-octet AS number.
      return { code: CAP_FOUR_OCTET_AS, asn: r.u32() };
    case CAP_ENHANCED_ROUTE_REFRESH:
      return { code: CAP_ENHANCED_ROUTE_REFRESH };
    default:
      return undefined;
  }
}

/** One capability from its code and value octets; never fails (what we cannot type stays raw). */
export function decodeCapability(code: number, value: Buffer): Capability {
  const r = new Reader(value, 0, value.length);
  const typed = typedCapability(code, r);
  if (typed !== undefined && !r.overrun && r.remaining === 0) {
    const again = new Writer(value.length + 2);
    writeCapabilityValue(again, typed);
    if (again.view().equals(value)) return typed;
  }
  return { code, unknown: true, value: Uint8Array.from(value) };
}

function writeCapabilityValue(w: Writer, cap: Capability): void {
  if ('unknown' in cap) {
    w.bytes(cap.value);
    return;
  }
  switch (cap.code) {
    case CAP_MULTIPROTOCOL:
      w.u16(cap.afi).u8(0).u8(cap.safi);
      return;
    case CAP_ROUTE_REFRESH:
    case CAP_ENHANCED_ROUTE_REFRESH:
      return;
    case CAP_EXTENDED_NEXT_HOP:
      for (const e of cap.entries) w.u16(e.afi).u16(e.safi).u16(e.nextHopAfi);
      return;
    case CAP_GRACEFUL_RESTART:
      w.u16(
        (cap.restarting ? GR_RESTARTING : 0) |
          (cap.notification ? GR_NOTIFICATION : 0) |
          (cap.restartTime & GR_TIME_MASK),
      );
      for (const f of cap.families)
        w.u16(f.afi)
          .u8(f.safi)
          .u8(f.forwarding ? GR_FORWARDING : 0);
      return;
    case CAP_FOUR_OCTET_AS:
      w.u32(cap.asn);
      return;
  }
}

/** Write one capability TLV (code, back-patched length, value). */
export function writeCapability(w: Writer, cap: Capability): void {
  w.u8(cap.code);
  const mark = w.mark8();
  writeCapabilityValue(w, cap);
  w.patch8(mark);
}

/** Parse the capability TLVs of one Capabilities parameter; undefined when a TLV overruns the parameter. */
export function decodeCapabilityList(r: Reader): Capability[] | undefined {
  const out: Capability[] = [];
  while (r.remaining > 0) {
    const code = r.u8();
    const len = r.u8();
    const value = r.bytes(len);
    if (r.overrun) return undefined;
    out.push(decodeCapability(code, value));
  }
  return out;
}

/** Human name of a capability code (for logs and the CLI's neighbor view). */
export function capabilityName(code: number): string {
  return CAPABILITY_NAMES[code] ?? `capability-${code}`;
}

const CAPABILITY_NAMES: Readonly<Record<number, string>> = {
  [CAP_MULTIPROTOCOL]: 'multiprotocol',
  [CAP_ROUTE_REFRESH]: 'route-refresh',
  [CAP_EXTENDED_NEXT_HOP]: 'extended-next-hop',
  [CAP_EXTENDED_MESSAGE]: 'extended-message',
  [CAP_ROLE]: 'bgp-role',
  [CAP_GRACEFUL_RESTART]: 'graceful-restart',
  [CAP_FOUR_OCTET_AS]: 'four-octet-as',
  [CAP_ADD_PATH]: 'add-path',
  [CAP_ENHANCED_ROUTE_REFRESH]: 'enhanced-route-refresh',
  [CAP_LONG_LIVED_GRACEFUL_RESTART]: 'long-lived-graceful-restart',
  [CAP_FQDN]: 'fqdn',
  [CAP_ROUTE_REFRESH_CISCO]: 'route-refresh-cisco',
};
