import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure, fast, no privileges) and `interop` (real daemons and the real kernel in
// network namespaces; needs root, FRR, BIRD, GoBGP and ExaBGP — `.ci/run` installs them).
export default defineConfig({
  test: {
    // Two files at a time suits a 2-core machine: interop files start several daemons each.
    poolOptions: { forks: { maxForks: 2, minForks: 1 }, threads: { maxThreads: 2, minThreads: 1 } },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'interop',
          include: ['test/interop/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          // Each file brings up its own namespaces and daemons (in separate processes: forks).
          maxConcurrency: 1,
          pool: 'forks',
        },
      },
    ],
  },
});
