import { defineConfig } from 'vitest/config';

// Two projects: unit (in-process, no compiler or GPU needed) and e2e (spawns the built dist/ CLI).
// Hardware tests join later behind BRIXLET_TEST_HARDWARE=1.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**', 'test/hardware/**'],
          pool: 'forks',
          testTimeout: 15_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          pool: 'forks',
          testTimeout: 30_000,
          globalSetup: ['test/e2e/global-setup.ts'],
        },
      },
    ],
  },
});
