import { defineConfig } from 'vitest/config';

// `*.cluster.int.test.ts` need a Redis Cluster (REDIS_CLUSTER=true): the cluster tier of `npm test`
// (scripts/test.sh) runs them; the standalone tier leaves them out.
const clusterOnly = process.env.REDIS_CLUSTER === 'true' ? [] : ['**/*.cluster.int.test.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{core,store,server,worker,loadtest}/src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          // Speed is the benchmarks' business; a loaded machine must not fail a correct test.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['{core,store,server,worker,loadtest}/{src,test}/**/*.int.test.ts'],
          exclude: ['**/node_modules/**', ...clusterOnly],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Several files start servers and child processes; two at a time suit a 2-core machine.
          maxWorkers: 2,
        },
      },
    ],
  },
});
