import { defineConfig } from 'vitest/config';

// The fault suite (`npm run test:faults`): private Redis and PostgreSQL that it kills and restarts, real service
// processes, load. One file at a time: the faults are timed and the machine has 2 cores.
export default defineConfig({
  test: {
    globals: false,
    root: new URL('../../', import.meta.url).pathname,
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 90_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
  },
});
