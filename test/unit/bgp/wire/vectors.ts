/**
 * Golden vectors: (name, context, value, annotated bytes). Bytes are commented per field; shapes follow the RFC
 * diagrams. Used by golden.test.ts (three ways) and framing.test.ts (as a stream).
 */
import { key } from '../../../support/prefix.js';
import type { CodecContext, Message } from '../../../../bgp/wire/index.js';
import { CTX2, CTX4, CTX4_IBGP, MARKER } from './helpers.js';

export interface Vector {
  readonly name: string;
  readonly ctx: CodecContext;
  readonly value: Message;
  readonly hex: string;
}

const NO_ISSUES: never[] = [];

export const VECTORS: Vector[] = [
  {
    name: 'KEEPALIVE',
    ctx: CTX4,
    value: { type: 4 },
    hex: `${MARKER}
      0013 # length 19
      04   # KEEPALIVE`,
  },
  {
    name: 'OPEN, one Capabilities parameter per capability (FRR style), every capability we type plus raw ones',
    ctx: CTX4,
    value: {
      type: 1,
      version: 4,
      myAs: 65001,
      holdTime: 180,
      bgpId: '10.0.0.1',
      capabilities: [
        { code: 1, afi: 1, safi: 1 },
        { code: 1, afi: 2, safi: 1 },
        { code: 2 },
        { code: 70 },
        { code: 65, asn: 65001 },
        {
          code: 64,
          restarting: false,
          notification: false,
          restartTime: 120,
          families: [{ afi: 1, safi: 1, forwarding: true }],
        },
        { code: 5, entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
        { code: 73, unknown: true, value: Uint8Array.of(5, 0x6e, 0x6f, 0x64, 0x65, 0x31, 0) },
        { code: 69, unknown: true, value: Uint8Array.of(0, 1, 1, 1) },
      ],
    },
    hex: `${MARKER}
      0064      # length 100
      01        # OPEN
      04        # version 4
      fde9      # my AS 65001
      00b4      # hold time 180
      0a000001  # BGP identifier 10.0.0.1
      47        # optional parameters length 71
      02 06  01 04 0001 00 01        # capabilities: multiprotocol IPv4 unicast
      02 06  01 04 0002 00 01        # capabilities: multiprotocol IPv6 unicast
      02 02  02 00                   # capabilities: route refresh
      02 02  46 00                   # capabilities: enhanced route refresh (70)
      02 06  41 04 0000fde9          # capabilities: 4-octet AS 65001
      02 08  40 06 0078 0001 01 80   # capabilities: graceful restart, 120 s, IPv4 unicast with F bit
      02 08  05 06 0001 0001 0002    # capabilities: extended next hop, IPv4 unicast over IPv6
      02 09  49 07 05 6e6f646531 00  # capabilities: FQDN (73) "node1", no domain — kept raw
      02 06  45 04 0001 01 01        # capabilities: ADD-PATH (69) IPv4 unicast receive — kept raw`,
  },
  {
    name: 'OPEN, capabilities grouped in one parameter (BIRD style), AS_TRANS with a 4-octet AS, GR R and N bits',
    ctx: CTX4,
    value: {
      type: 1,
      version: 4,
      myAs: 23456,
      holdTime: 90,
      bgpId: '198.51.100.1',
      capabilities: [
        { code: 1, afi: 1, safi: 1 },
        { code: 2 },
        { code: 65, asn: 4200000000 },
        { code: 64, restarting: true, notification: true, restartTime: 120, families: [] },
      ],
      capabilityGrouping: [4],
    },
    hex: `${MARKER}
      0031      # length 49
      01        # OPEN
      04        # version 4
      5ba0      # my AS 23456 = AS_TRANS
      005a      # hold time 90
      c6336401  # BGP identifier 198.51.100.1
      14        # optional parameters length 20
      02 12     # one Capabilities parameter of 18 octets:
        01 04 0001 00 01  # multiprotocol IPv4 unicast
        02 00             # route refresh
        41 04 fa56ea00    # 4-octet AS 4200000000
        40 02 c078        # graceful restart: R and N set, 120 s, no families`,
  },
  {
    name: 'OPEN with RFC 9072 extended optional parameters length',
    ctx: CTX4,
    value: {
      type: 1,
      version: 4,
      myAs: 65001,
      holdTime: 90,
      bgpId: '10.0.0.9',
      capabilities: [{ code: 1, afi: 1, safi: 1 }],
      extendedOptionalParameters: true,
    },
    hex: `${MARKER}
      0029      # length 41
      01        # OPEN
      04 fde9 005a 0a000009  # version, my AS 65001, hold 90, identifier 10.0.0.9
      ff        # Non-Ext OP Len 255
      ff        # Non-Ext OP Type 255: extended form follows
      0009      # Extended Opt. Parm. Length 9
      02 0006   # Capabilities parameter, 2-octet length 6
        01 04 0001 00 01  # multiprotocol IPv4 unicast`,
  },
  {
    name: 'NOTIFICATION Cease / Administrative Shutdown with an RFC 9003 shutdown communication',
    ctx: CTX4,
    value: { type: 3, code: 6, subcode: 2, data: Uint8Array.from(Buffer.from('\x0bmaintenance', 'latin1')) },
    hex: `${MARKER}
      0021   # length 33
      03     # NOTIFICATION
      06 02  # Cease / Administrative Shutdown
      0b 6d61696e74656e616e6365  # length 11, "maintenance"`,
  },
  {
    name: 'NOTIFICATION Hold Timer Expired',
    ctx: CTX4,
    value: { type: 3, code: 4, subcode: 0, data: new Uint8Array(0) },
    hex: `${MARKER} 0015 03  04 00`,
  },
  {
    name: 'ROUTE-REFRESH IPv6 unicast',
    ctx: CTX4,
    value: { type: 5, afi: 2, safi: 1, subtype: 0 },
    hex: `${MARKER} 0017 05
      0002  # AFI IPv6
      00    # subtype 0: normal request
      01    # SAFI unicast`,
  },
  {
    name: 'ROUTE-REFRESH Beginning of Route Refresh (RFC 7313)',
    ctx: CTX4,
    value: { type: 5, afi: 1, safi: 1, subtype: 1 },
    hex: `${MARKER} 0017 05  0001 01 01`,
  },
  {
    name: 'UPDATE IPv4: ORIGIN, 4-octet AS_PATH, NEXT_HOP, MED, COMMUNITIES, four prefixes incl. default and /32',
    ctx: CTX4,
    value: {
      type: 2,
      withdrawn: [],
      reach: [
        {
          afi: 1,
          safi: 1,
          prefixes: [key('10.0.0.0/24'), key('10.1.0.0/16'), key('0.0.0.0/0'), key('192.0.2.1/32')],
          nextHop: '192.0.2.1',
        },
      ],
      attributes: {
        origin: 0,
        asPath: [{ type: 2, asns: [65001, 65002] }],
        nextHop: '192.0.2.1',
        med: 100,
        communities: [65001 * 65536 + 100, 0xffffff01],
      },
      issues: NO_ISSUES,
    },
    hex: `${MARKER}
      004e  # length 78
      02    # UPDATE
      0000  # withdrawn routes length 0
      002a  # total path attribute length 42
      40 01 01 00                      # ORIGIN IGP
      40 02 0a 02 02 0000fde9 0000fdea # AS_PATH AS_SEQUENCE 65001 65002 (4-octet)
      40 03 04 c0000201                # NEXT_HOP 192.0.2.1
      80 04 04 00000064                # MULTI_EXIT_DISC 100
      c0 08 08 fde90064 ffffff01       # COMMUNITIES 65001:100 no-export
      18 0a0000     # 10.0.0.0/24
      10 0a01       # 10.1.0.0/16
      00            # 0.0.0.0/0
      20 c0000201   # 192.0.2.1/32`,
  },
  {
    name: 'UPDATE IPv4 withdrawals only',
    ctx: CTX4,
    value: {
      type: 2,
      withdrawn: [{ afi: 1, safi: 1, prefixes: [key('10.0.0.0/24'), key('10.1.0.0/16')] }],
      reach: [],
      attributes: null,
      issues: NO_ISSUES,
    },
    hex: `${MARKER}
      001e  # length 30
      02
      0007  # withdrawn routes length 7
      18 0a0000  # 10.0.0.0/24
      10 0a01    # 10.1.0.0/16
      0000  # no attributes`,
  },
  {
    name: 'End-of-RIB IPv4 unicast',
    ctx: CTX4,
    value: {
      type: 2,
      withdrawn: [],
      reach: [],
      attributes: null,
      endOfRib: { afi: 1, safi: 1 },
      issues: NO_ISSUES,
    },
    hex: `${MARKER} 0017 02  0000 0000`,
  },
  {
    name: 'End-of-RIB IPv6 unicast (empty MP_UNREACH_NLRI)',
    ctx: CTX4,
    value: {
      type: 2,
      withdrawn: [],
      reach: [],
      attributes: null,
      endOfRib: { afi: 2, safi: 1 },
      issues: NO_ISSUES,
    },
    hex: `${MARKER} 001d 02  0000
      0006             # attributes: 6 octets
      80 0f 03 0002 01 # MP_UNREACH_NLRI IPv6 unicast, nothing withdrawn`,
  },
  {
    name: 'UPDATE IPv6 (iBGP): MP_REACH_NLRI with a link-local next hop, LOCAL_PREF, extended and large communities',
    ctx: CTX4_IBGP,
    value: {
      type: 2,
      withdrawn: [],
      reach: [
        {
          afi: 2,
          safi: 1,
          prefixes: [key('fd00:1::/64'), key('2001:db8::/32')],
          nextHop: '2001:db8::1',
          linkLocalNextHop: 'fe80::1',
        },
      ],
      attributes: {
        origin: 2,
        asPath: [],
        localPref: 100,
        extendedCommunities: [0x0002fde900000064n],
        largeCommunities: [[65001, 1, 2]],
      },
      issues: NO_ISSUES,
    },
    hex: `${MARKER}
      0075  # length 117
      02 0000
      005e  # total path attribute length 94
      40 01 01 02            # ORIGIN INCOMPLETE
      40 02 00               # AS_PATH empty (iBGP, locally originated)
      40 05 04 00000064      # LOCAL_PREF 100
      80 0e 33               # MP_REACH_NLRI, 51 octets
        0002 01              #   AFI IPv6, SAFI unicast
        20                   #   next hop length 32: global + link-local (RFC 2545)
        20010db8000000000000000000000001  # 2001:db8::1
        fe800000000000000000000000000001  # fe80::1
        00                   #   reserved
        40 fd00000100000000  #   fd00:1::/64
        20 20010db8          #   2001:db8::/32
      c0 10 08 0002fde900000064          # EXTENDED COMMUNITIES route target 65001:100
      c0 20 0c 0000fde9 00000001 00000002 # LARGE_COMMUNITY 65001:1:2`,
  },
  {
    name: 'UPDATE IPv6 withdrawal (MP_UNREACH_NLRI)',
    ctx: CTX4,
    value: {
      type: 2,
      withdrawn: [{ afi: 2, safi: 1, prefixes: [key('fd00:1::/64')] }],
      reach: [],
      attributes: null,
      issues: NO_ISSUES,
    },
    hex: `${MARKER} 0026 02 0000
      000f                 # attributes 15
      80 0f 0c 0002 01     # MP_UNREACH_NLRI IPv6 unicast, 12 octets
        40 fd00000100000000  # fd00:1::/64`,
  },
  {
    name: 'UPDATE IPv4 NLRI with an IPv6 next hop (RFC 8950)',
    ctx: { fourOctetAs: true, ibgp: false, extendedNextHopIpv4: true },
    value: {
      type: 2,
      withdrawn: [],
      reach: [{ afi: 1, safi: 1, prefixes: [key('10.0.0.0/24')], nextHop: '2001:db8::1' }],
      attributes: { origin: 0, asPath: [{ type: 2, asns: [65001] }] },
      issues: NO_ISSUES,
    },
    hex: `${MARKER}
      0040  # length 64
      02 0000
      0029  # attributes 41
      40 01 01 00
      40 02 06 02 01 0000fde9   # AS_PATH 65001
      80 0e 19                  # MP_REACH_NLRI, 25 octets
        0001 01                 #   AFI IPv4, SAFI unicast
        10 20010db8000000000000000000000001  # next hop length 16: 2001:db8::1
        00                      #   reserved
        18 0a0000               #   10.0.0.0/24`,
  },
  {
    name: 'UPDATE IPv4 NLRI with a global and a link-local IPv6 next hop (RFC 8950 §3, 32 octets)',
    ctx: { fourOctetAs: true, ibgp: false, extendedNextHopIpv4: true },
    value: {
      type: 2,
      withdrawn: [],
      reach: [
        {
          afi: 1,
          safi: 1,
          prefixes: [key('10.0.0.0/24')],
          nextHop: '2001:db8::1',
          linkLocalNextHop: 'fe80::1',
        },
      ],
      attributes: { origin: 0, asPath: [{ type: 2, asns: [65001] }] },
      issues: NO_ISSUES,
    },
    hex: `${MARKER}
      0050  # length 80
      02 0000
      0039  # attributes 57
      40 01 01 00
      40 02 06 02 01 0000fde9   # AS_PATH 65001
      80 0e 29                  # MP_REACH_NLRI, 41 octets
        0001 01                 #   AFI IPv4, SAFI unicast
        20 20010db8000000000000000000000001  # next hop length 32: 2001:db8::1
           fe800000000000000000000000000001  #   and fe80::1
        00                      #   reserved
        18 0a0000               #   10.0.0.0/24`,
  },
  {
    name: 'UPDATE on a 2-octet session: AS_PATH with AS_TRANS merged with AS4_PATH, AGGREGATOR with AS4_AGGREGATOR',
    ctx: CTX2,
    value: {
      type: 2,
      withdrawn: [],
      reach: [{ afi: 1, safi: 1, prefixes: [key('10.0.0.0/24')], nextHop: '192.0.2.1' }],
      attributes: {
        origin: 0,
        asPath: [{ type: 2, asns: [65001, 4200000000] }],
        nextHop: '192.0.2.1',
        aggregator: { asn: 4200000000, address: '192.0.2.2' },
      },
      issues: NO_ISSUES,
    },
    hex: `${MARKER}
      0050  # length 80
      02 0000
      0035  # attributes 53
      40 01 01 00
      40 02 06 02 02 fde9 5ba0          # AS_PATH (2-octet) 65001 AS_TRANS
      40 03 04 c0000201
      c0 07 06 5ba0 c0000202            # AGGREGATOR AS_TRANS 192.0.2.2
      c0 11 0a 02 02 0000fde9 fa56ea00  # AS4_PATH 65001 4200000000
      c0 12 08 fa56ea00 c0000202        # AS4_AGGREGATOR 4200000000 192.0.2.2
      18 0a0000`,
  },
  {
    name: 'UPDATE iBGP reflected: confederation and AS_SET segments, ATOMIC_AGGREGATE, AGGREGATOR, RR attributes, unknown transitive',
    ctx: CTX4_IBGP,
    value: {
      type: 2,
      withdrawn: [],
      reach: [{ afi: 1, safi: 1, prefixes: [key('10.2.0.0/24')], nextHop: '10.0.0.1' }],
      attributes: {
        origin: 0,
        asPath: [
          { type: 3, asns: [65010] },
          { type: 2, asns: [65001] },
          { type: 1, asns: [65002, 65003] },
        ],
        nextHop: '10.0.0.1',
        localPref: 200,
        atomicAggregate: true,
        aggregator: { asn: 65001, address: '10.0.0.2' },
        originatorId: '10.0.0.3',
        clusterList: ['10.0.0.4', '10.0.0.5'],
        unknown: [{ flags: 0xe0, type: 99, value: Uint8Array.of(1, 2, 3) }],
      },
      issues: NO_ISSUES,
    },
    hex: `${MARKER}
      006c  # length 108
      02 0000
      0051  # attributes 81
      40 01 01 00
      40 02 16                 # AS_PATH, 22 octets
        03 01 0000fdf2         #   AS_CONFED_SEQUENCE 65010
        02 01 0000fde9         #   AS_SEQUENCE 65001
        01 02 0000fdea 0000fdeb #  AS_SET {65002,65003}
      40 03 04 0a000001        # NEXT_HOP 10.0.0.1
      40 05 04 000000c8        # LOCAL_PREF 200
      40 06 00                 # ATOMIC_AGGREGATE
      c0 07 08 0000fde9 0a000002  # AGGREGATOR 65001 10.0.0.2
      80 09 04 0a000003        # ORIGINATOR_ID 10.0.0.3
      80 0a 08 0a000004 0a000005  # CLUSTER_LIST 10.0.0.4 10.0.0.5
      e0 63 03 010203          # type 99, optional transitive partial: kept raw
      18 0a0200                # 10.2.0.0/24`,
  },
];
