import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Installs the outside programs some suites drive (etcd, Debian's python modules).
    globalSetup: ['test/setup/outside-tools.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration and fault suites start real brokers and child processes; on a
    // 2-core machine running files in parallel mostly adds contention.
    fileParallelism: true,
    maxWorkers: 2,
    pool: 'forks',
  },
});
