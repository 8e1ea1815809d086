import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration and fault suites start real brokers and child processes; on a
    // 2-core machine running files in parallel mostly adds contention.
    fileParallelism: true,
    maxWorkers: 2,
    pool: 'forks',
  },
});
