import { describe, expect, it } from 'vitest';
import { fibTable } from '../../../daemon/cli/format.js';
import type { FibView } from '../../../daemon/views.js';

const entry = (prefix: string, nexthops: string[], kernel: string[] | null): FibView['entries'][number] => ({
  prefix,
  nexthops,
  status: 'installed',
  kernel: kernel === null ? null : { nexthops: kernel, protocol: 'nodebgp', metric: 20 },
  since: 0,
});

describe('nodebgp fib: wanted beside kernel', () => {
  it('a next hop with a link-local alternative matches the kernel through whichever of them is installed', () => {
    const out = fibTable({
      enabled: true,
      entries: [
        entry('fd00:244:2::/64', ['fd00:79:1::1|fe80::1%10.79.1.1'], ['fd00:79:1::1%eth1']),
        entry('fd00:244:3::/64', ['fd00:79:1::1|fe80::1%10.79.1.1'], ['fe80::1%eth1']),
        entry('fd00:244:4::/64', ['fd00:79:1::1|fe80::1%10.79.1.1'], ['fe80::9%eth1']),
        entry('10.244.5.0/24', ['fd00:79:1::1|fe80::1%10.79.1.1', '10.79.1.0'], ['fe80::1%eth1']),
      ],
    });
    expect(out).toMatch(
      /fd00:244:2::\/64\s+fd00:79:1::1\|fe80::1%10\.79\.1\.1\s+fd00:79:1::1%eth1\s+installed/,
    );
    expect(out).toMatch(/fd00:244:3::\/64\s+\S+\s+fe80::1%eth1\s+installed/);
    expect(out).toMatch(/fd00:244:4::\/64\s+\S+\s+! fe80::9%eth1/);
    expect(out).toMatch(/10\.244\.5\.0\/24\s+\S+\s+! fe80::1%eth1/);
    expect(out).toContain('4 routes, 2 differ from the kernel');
  });
});
