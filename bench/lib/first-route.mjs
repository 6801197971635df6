#!/usr/bin/env node
// Run inside a namespace: prints {"event":"first-route","t":<ms>} the moment the kernel announces the first
// IPv4 route under 11.0.0.0/8 (the sender's prefixes) in the main table, whoever installed it, then exits.
// It listens on RTNLGRP_IPV4_ROUTE through nodebgp's own netlink channel (dist/routing/netlink/channel.js),
// on a blocking poll, so the time is the kernel's notification time within a millisecond; it prints
// {"event":"listening"} first, so the caller starts the load only once it listens.
const { RtnlChannel } = await import(new URL('../../dist/routing/netlink/channel.js', import.meta.url));
const { channel, errno } = RtnlChannel.open({ groups: [7] }); // RTNLGRP_IPV4_ROUTE
if (!channel) throw new Error(`netlink: errno ${errno}`);
process.stdout.write('{"event":"listening"}\n');
let found = false;
while (!found) {
  channel.drain(1000, (buf) => {
    for (let off = 0; off + 28 <= buf.length && !found; ) {
      const len = buf.readUInt32LE(off);
      if (len < 16) break;
      // RTM_NEWROUTE, rtm_family AF_INET, rtm_table main, RTA_DST first byte 11 (attributes from off+28).
      if (buf.readUInt16LE(off + 4) === 24 && buf[off + 16] === 2 && buf[off + 20] === 254) {
        for (let a = off + 28; a + 8 <= off + len; ) {
          const alen = buf.readUInt16LE(a);
          if (alen < 4) break;
          if (buf.readUInt16LE(a + 2) === 1 && buf[a + 4] === 11) found = true;
          a += (alen + 3) & ~3;
        }
      }
      off += (len + 3) & ~3;
    }
  });
}
process.stdout.write(`${JSON.stringify({ event: 'first-route', t: Date.now() })}\n`);
channel.close();
process.exit(0);
