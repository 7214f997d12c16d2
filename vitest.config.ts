import { defineConfig } from 'vitest/config';

// Three projects: unit (in-process, no compiler or GPU needed), e2e (the built dist/ CLI and the
// native mocks) and hardware (real GPUs; its cases skip unless BRIXLET_TEST_HARDWARE=1).
// Tests assert behaviour, never time: expect.poll waits up to 10 s by default (vitest's 1 s fails on
// a loaded 2-core machine), which only catches a hang. Speed bounds are bench:* targets.
const poll = { timeout: 10_000, interval: 20 };

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
          expect: { poll },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          pool: 'forks',
          testTimeout: 30_000,
          globalSetup: ['test/e2e/global-setup.ts'],
          expect: { poll },
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
