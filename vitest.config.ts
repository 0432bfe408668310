import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fails the run if any process a test started is still running at the end (and kills it).
    globalSetup: ['test/globalSetup.ts'],
    // Files share this 2-core machine's CPU and media ports: run them one after another.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
