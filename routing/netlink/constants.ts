/**
 * rtnetlink numbers, under the kernel's own names (include/uapi/linux/netlink.h, rtnetlink.h,
 * if_addr.h, if_link.h, if.h). One table per kernel enum so codecs and logs can name values.
 */

/** socket.h: the address families of routes and gateways. */
export const AF_INET = 2;
export const AF_INET6 = 10;

/** netlink.h: message types below NLMSG_MIN_TYPE (0x10) are control messages. */
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

/** netlink.h: nlmsghdr.nlmsg_flags. */
export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_ECHO = 0x08;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP_FILTERED = 0x20;
/** Modifiers to GET requests. */
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
/** Modifiers to NEW requests. */
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** Flags of an NLMSG_ERROR (ack) message. */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

/** rtnetlink.h: RTM_* message types. */
export const RTM = {
  RTM_NEWLINK: 16,
  RTM_DELLINK: 17,
  RTM_GETLINK: 18,
  RTM_NEWADDR: 20,
  RTM_DELADDR: 21,
  RTM_GETADDR: 22,
  RTM_NEWROUTE: 24,
  RTM_DELROUTE: 25,
  RTM_GETROUTE: 26,
  RTM_NEWNEXTHOP: 104,
  RTM_DELNEXTHOP: 105,
  RTM_GETNEXTHOP: 106,
} as const;

/** nexthop.h: enum NHA_* (nexthop object attributes, Linux ≥ 5.3). */
export const NHA = {
  NHA_UNSPEC: 0,
  NHA_ID: 1,
  NHA_GROUP: 2,
  NHA_GROUP_TYPE: 3,
  NHA_BLACKHOLE: 4,
  NHA_OIF: 5,
  NHA_GATEWAY: 6,
} as const;

/** rtnetlink.h: enum rtattr_type_t (route attributes). */
export const RTA = {
  RTA_UNSPEC: 0,
  RTA_DST: 1,
  RTA_SRC: 2,
  RTA_IIF: 3,
  RTA_OIF: 4,
  RTA_GATEWAY: 5,
  RTA_PRIORITY: 6,
  RTA_PREFSRC: 7,
  RTA_METRICS: 8,
  RTA_MULTIPATH: 9,
  RTA_PROTOINFO: 10,
  RTA_FLOW: 11,
  RTA_CACHEINFO: 12,
  RTA_TABLE: 15,
  RTA_MARK: 16,
  RTA_VIA: 18,
  RTA_PREF: 20,
  RTA_EXPIRES: 23,
  RTA_NH_ID: 30,
} as const;

/** rtnetlink.h: rtm_type. */
export const RTN = {
  RTN_UNSPEC: 0,
  RTN_UNICAST: 1,
  RTN_LOCAL: 2,
  RTN_BROADCAST: 3,
  RTN_ANYCAST: 4,
  RTN_MULTICAST: 5,
  RTN_BLACKHOLE: 6,
  RTN_UNREACHABLE: 7,
  RTN_PROHIBIT: 8,
  RTN_THROW: 9,
} as const;

/** rtnetlink.h: enum rt_scope_t. */
export const RT_SCOPE = {
  RT_SCOPE_UNIVERSE: 0,
  RT_SCOPE_SITE: 200,
  RT_SCOPE_LINK: 253,
  RT_SCOPE_HOST: 254,
  RT_SCOPE_NOWHERE: 255,
} as const;

/** rtnetlink.h: rtm_protocol. nodebgp's own number, 202, is unassigned there (see protocols.ts). */
export const RTPROT = {
  RTPROT_UNSPEC: 0,
  RTPROT_REDIRECT: 1,
  RTPROT_KERNEL: 2,
  RTPROT_BOOT: 3,
  RTPROT_STATIC: 4,
  RTPROT_RA: 9,
  RTPROT_BIRD: 12,
  RTPROT_DHCP: 16,
  RTPROT_BGP: 186,
  RTPROT_OSPF: 188,
} as const;

/** rtnetlink.h: enum rt_class_t. */
export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;

/** rtnetlink.h: rtnexthop.rtnh_flags. */
export const RTNH_F_DEAD = 1;
export const RTNH_F_PERVASIVE = 2;
export const RTNH_F_ONLINK = 4;
export const RTNH_F_LINKDOWN = 16;

/** if_addr.h: enum IFA_*. */
export const IFA = {
  IFA_UNSPEC: 0,
  IFA_ADDRESS: 1,
  IFA_LOCAL: 2,
  IFA_LABEL: 3,
  IFA_BROADCAST: 4,
  IFA_ANYCAST: 5,
  IFA_CACHEINFO: 6,
  IFA_MULTICAST: 7,
  IFA_FLAGS: 8,
} as const;

/** if_link.h: enum IFLA_*. */
export const IFLA = {
  IFLA_UNSPEC: 0,
  IFLA_ADDRESS: 1,
  IFLA_BROADCAST: 2,
  IFLA_IFNAME: 3,
  IFLA_MTU: 4,
  IFLA_LINK: 5,
  IFLA_OPERSTATE: 16,
} as const;

/** if.h: net_device_flags. */
export const IFF_UP = 0x1;
export const IFF_LOOPBACK = 0x8;
export const IFF_RUNNING = 0x40;
export const IFF_LOWER_UP = 0x10000;

/** if.h: IF_OPER_* (RFC 2863 operational status). */
export const IF_OPER = [
  'unknown',
  'notpresent',
  'down',
  'lowerlayerdown',
  'testing',
  'dormant',
  'up',
] as const;

/** rtnetlink.h: enum rtnetlink_groups (numbers for NETLINK_ADD_MEMBERSHIP). */
export const RTNLGRP = {
  RTNLGRP_LINK: 1,
  RTNLGRP_IPV4_IFADDR: 5,
  RTNLGRP_IPV4_ROUTE: 7,
  RTNLGRP_IPV6_IFADDR: 9,
  RTNLGRP_IPV6_ROUTE: 11,
} as const;

/** netlink.h: protocol number of NETLINK_ROUTE. */
export const NETLINK_ROUTE = 0;

/** Linux errno numbers → names, for the ones route writes and netlink sockets return (asm-generic/errno-base.h, errno.h). */
export const ERRNO: Readonly<Record<number, string>> = {
  1: 'EPERM',
  2: 'ENOENT',
  3: 'ESRCH',
  4: 'EINTR',
  5: 'EIO',
  9: 'EBADF',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  16: 'EBUSY',
  17: 'EEXIST',
  19: 'ENODEV',
  22: 'EINVAL',
  28: 'ENOSPC',
  34: 'ERANGE',
  88: 'ENOTSOCK',
  90: 'EMSGSIZE',
  95: 'EOPNOTSUPP',
  97: 'EAFNOSUPPORT',
  99: 'EADDRNOTAVAIL',
  100: 'ENETDOWN',
  101: 'ENETUNREACH',
  105: 'ENOBUFS',
  110: 'ETIMEDOUT',
  113: 'EHOSTUNREACH',
};

export function errnoName(errno: number): string {
  return ERRNO[errno] ?? `errno ${errno}`;
}
