import { defineConfig } from 'vitest/config';
import { LOAD_TEST_FILES } from './files.js';

// One file at a time: each measures delivery while it loads the machine, and two at once on 2 cores would measure
// each other.
export default defineConfig({
  test: {
    globals: false,
    root: new URL('../../', import.meta.url).pathname,
    include: LOAD_TEST_FILES,
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
  },
});
