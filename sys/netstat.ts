/**
 * The kernel's TCP counters that explain a silent session: `/proc/net/netstat` (of the reading process's
 * network namespace) holds `TcpExt:` name and value lines. A segment with a bad or missing TCP-MD5 signature,
 * or below IP_MINTTL, is dropped without any answer to the sender; these counters are the only trace of it.
 *
 *   TCPMD5NotFound    a key is set for the sender, the segment carries no signature
 *   TCPMD5Unexpected  the segment is signed, no key is set for the sender
 *   TCPMD5Failure     signed with a different key (wrong password)
 *   TCPMinTTLDrop     TTL / hop limit below the socket's IP_MINTTL / IPV6_MINHOPCOUNT (GTSM)
 */
import { readFileSync } from 'node:fs';

export interface SilentDrops {
  readonly md5NotFound: number;
  readonly md5Unexpected: number;
  readonly md5Failure: number;
  readonly minTtlDrop: number;
}

export const NO_DROPS: SilentDrops = { md5NotFound: 0, md5Unexpected: 0, md5Failure: 0, minTtlDrop: 0 };

/** The counters from the text of /proc/net/netstat (absent ones are 0). Pure. */
export function parseNetstat(text: string): SilentDrops {
  const lines = text.split('\n');
  const values = new Map<string, number>();
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i].startsWith('TcpExt:') || !lines[i + 1].startsWith('TcpExt:')) continue;
    const names = lines[i].split(/\s+/).slice(1);
    const nums = lines[i + 1].split(/\s+/).slice(1);
    names.forEach((n, j) => values.set(n, Number(nums[j] ?? 0)));
    break;
  }
  const get = (k: string) => values.get(k) ?? 0;
  return {
    md5NotFound: get('TCPMD5NotFound'),
    md5Unexpected: get('TCPMD5Unexpected'),
    md5Failure: get('TCPMD5Failure'),
    minTtlDrop: get('TCPMinTTLDrop'),
  };
}

/** The current counters, or zeros when /proc is not readable. */
export function readSilentDrops(path = '/proc/net/netstat'): SilentDrops {
  try {
    return parseNetstat(readFileSync(path, 'utf8'));
  } catch {
    return NO_DROPS;
  }
}

export function dropsSince(now: SilentDrops, before: SilentDrops): SilentDrops {
  return {
    md5NotFound: now.md5NotFound - before.md5NotFound,
    md5Unexpected: now.md5Unexpected - before.md5Unexpected,
    md5Failure: now.md5Failure - before.md5Failure,
    minTtlDrop: now.minTtlDrop - before.minTtlDrop,
  };
}
