import { defineConfig } from 'vitest/config';

// Tests import workspace packages through their `source` export condition, so they run
// against the TypeScript sources; the services they spawn run the built `dist/`.
const conditions = ['source', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    // Integration and end-to-end files start real servers and processes: one file at a time
    // keeps a 2-core machine from timing itself out.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    include: [
      'packages/*/src/**/*.test.ts',
      'services/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'services/*/test/**/*.test.ts',
      'tests/**/*.test.ts',
    ],
  },
});
