import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Drops the PostgreSQL schemas a file's rigs kept for reuse, once the file is done.
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Integration tests each own their SQLite files and emulator ports; files can run in parallel.
    pool: 'forks',
  },
});
