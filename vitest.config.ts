import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Two kinds of tests, kept apart: unit (no I/O) and integration/e2e (real PostgreSQL, Redis, sockets).
// Each project has one timeout: a test that needs longer says so, and why, where it is declared.
export default defineConfig({
  test: {
    // Most of a test's time is spent waiting on PostgreSQL, Redis, sockets and child processes, so one
    // file more than the cores keeps them busy (vitest's default is one fewer: a single file at a time
    // on two cores). On 2 cores: 511 s with the default, 294 s with 3 (every test passing in both).
    maxWorkers: Math.min(8, availableParallelism() + 1),
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
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          setupFiles: ['test/support/leak-check.ts'],
          pool: 'forks',
          // Most tests wait for the worker, and the support helpers allow those waits 30 s (the whole suite shares
          // two cores): a test's own timeout is longer, so a slow wait fails with its own message, not a bare timeout.
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          setupFiles: ['test/support/leak-check.ts'],
          pool: 'forks',
          // Each test starts `npm start` (tsx compiling the server in a new process) or a browser, often several:
          // seconds each before the first request, so a minute per test and per hook.
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
