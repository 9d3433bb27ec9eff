import dotenv from 'dotenv';
import { describeDatabase, loadConfig } from '../config.js';
import { backupSqlite } from './backup.js';

/**
 * `npm run backup -- <file>`: copies the SQLite database named by the app's configuration (`.env`, then the
 * environment) to a new file, while the app runs. PostgreSQL is backed up with its own tools (pg_dump): see
 * docs/operations.md.
 */

dotenv.config({ quiet: true });

async function main(): Promise<number> {
  const target = process.argv[2];
  if (!target || process.argv.length > 3) {
    console.error('Usage: npm run backup -- <new file>   (for example: npm run backup -- backups/app-2026-12-01.db)');
    return 1;
  }
  // A configuration problem ends the command below with the whole list, as it ends the app's start.
  const config = loadConfig(process.env);
  const where = describeDatabase(config.databaseUrl);
  if (where.engine !== 'sqlite') {
    console.error(`DATABASE_URL names PostgreSQL (${where.location}): back it up with pg_dump, as docs/operations.md shows.`);
    return 1;
  }
  if (config.mode === 'sandbox') {
    console.error('This is sandbox mode: its database is recreated at every start, there is nothing to keep.');
    return 1;
  }
  const result = await backupSqlite(where.location, target);
  console.log(
    `Backed up ${where.location} to ${result.file}: ${result.pages} pages, ${result.companies} compan${result.companies === 1 ? 'y' : 'ies'}, ` +
      `${result.installations} installation(s). The stored secrets in it open only with this ENCRYPTION_KEY: keep the two apart.`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('The backup stopped:', error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
