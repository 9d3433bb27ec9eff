import type { Kysely } from 'kysely';

// The types every migration shares, apart from the list in index.ts so a migration can name them without importing
// the list that imports it.

/**
 * What a data migration may need besides the database: the key the stored secrets are sealed with (re-sealing them
 * needs it). Absent when the caller does not hold it; a migration that needs it then fails with a clear message.
 */
export type MigrationInput = { encryptionKey?: Buffer };

/** A Kysely migration whose `up` may also read the input (schema-only migrations ignore it). */
export type AppMigration = {
  up(db: Kysely<any>, input: MigrationInput): Promise<void>;
  down?(db: Kysely<any>): Promise<void>;
};
