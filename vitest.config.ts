import { defineConfig } from 'vitest/config';

// Two kinds of tests, kept apart: unit (no I/O) and integration/e2e (real PostgreSQL, Redis, sockets).
// One timeout for both: a test that needs longer says so, and why, where it is declared.
export default defineConfig({
  test: {
    testTimeout: 15_000,
    hookTimeout: 15_000,
    // Reported in yellow: a test past it is worth a look (a wait that could be a signal, a case that could be a unit).
    slowTestThreshold: 1_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          pool: 'forks',
        },
      },
    ],
  },
});
