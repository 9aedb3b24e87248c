import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', 'worker/**/*.test.ts', 'devstack/**/*.test.ts', 'client/**/*.test.ts'],
    // Fault injection has its own command and config (npm run test:resilience).
    exclude: ['tests/resilience/**', 'node_modules/**'],
    globalSetup: ['tests/harness/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
