import { afterAll } from 'vitest';

// The last hook of every test file: drops the PostgreSQL schemas its rigs left for reuse (test/support/postgres.ts).
// Read from globalThis so a file that never touched PostgreSQL does not load the driver for nothing.
afterAll(async () => {
  const idle = (globalThis as Record<symbol, unknown[] | undefined>)[Symbol.for('sms-pd.idle-postgres-schemas')];
  if (!idle?.length) return;
  const { dropIdleSchemas } = await import('./postgres.js');
  await dropIdleSchemas();
});
