import { defineConfig } from 'vitest/config';

/**
 * `npm run test:resilience`: fault injection against private clusters, Redis servers and
 * worker processes. Each file starts its own; the files run one at a time so that the
 * injected faults and the 2-core machine's load do not blur each other's figures.
 */
export default defineConfig({
  test: {
    include: ['tests/resilience/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
