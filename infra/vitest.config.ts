import { defineConfig } from 'vitest/config';

// `npm test -w infra`: CDK assertions, the compose/cluster consistency checks and a `cdk synth` with
// the pinned CLI. Synthesizing a stack takes a second or two, so files run in parallel.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The synth test mostly waits on its `cdk synth` child: let the other files run beside it.
    maxWorkers: 3,
  },
});
