import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globals: false,
    include: ['shared/test/**/*.test.ts', 'producer/test/**/*.test.ts', 'processor/test/**/*.test.ts', 'gateway/test/**/*.test.ts', 'web/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/faults/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // 2 cores: files that start real service processes compete for CPU; two at a time keeps them honest.
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
  },
});
