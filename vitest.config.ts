import { defineConfig } from 'vitest/config';

// Three projects: unit (in-process, no compiler or GPU needed), e2e (the built dist/ CLI and the
// native mocks) and hardware (real GPUs; its cases skip unless BRIXLET_TEST_HARDWARE=1).
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
      {
        test: {
          name: 'hardware',
          include: ['test/hardware/**/*.test.ts'],
          pool: 'forks',
          testTimeout: 60_000,
        },
      },
    ],
  },
});
