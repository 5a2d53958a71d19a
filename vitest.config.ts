// Vitest configuration: one run covers every package folder; tests run the BUILT kernel.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', 'build/**', '.runtime/**'],
    globalSetup: ['assembly/test/support/global_setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './test_support/summary_reporter.ts'],
  },
});
