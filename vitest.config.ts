import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // e2e tests spawn pcopy with its own worker pool: keep test files from starving each other on 2 cores.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
