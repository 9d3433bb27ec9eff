import dotenv from 'dotenv';
import { openDatabase } from '../../db/database.js';
import { describeDatabase, loadConfig } from '../config.js';
import { createSecretBox, keyId } from '../security/crypto.js';
import { resealSecrets, type ResealFailure } from './reseal.js';

/**
 * `npm run reseal`: seals every stored secret again with ENCRYPTION_KEY, with the app's own configuration (`.env`,
 * then the environment). Run it after every instance has been restarted with the new ENCRYPTION_KEY and the old key
 * in ENCRYPTION_KEYS_PREVIOUS; the app may keep running. Exit code 0: every value opens with ENCRYPTION_KEY alone;
 * 1: some value opens with no key (listed), or the configuration or the database is not usable.
 */

dotenv.config({ quiet: true });

function describeFailure(failure: ResealFailure): string {
  const row = Object.entries(failure.row).map(([column, value]) => `${column}=${value}`).join(', ');
  const why = {
    unknown_key: `sealed with a key not configured (key id ${failure.keyId ?? '?'})`,
    does_not_open: 'opens with no configured key (another key, or copied from another row, or tampered with)',
    malformed: 'is not a sealed value',
    unbound_v1: 'is in the v1 format (start the app once: its migration re-seals these)',
  }[failure.reason];
  return `  ${failure.table}.${failure.column} (${row}): ${why}`;
}

async function main(): Promise<number> {
  // A configuration problem ends the command below with the whole list, as it ends the app's start.
  const config = loadConfig(process.env);
  if (config.mode === 'sandbox' || !config.encryptionKey) {
    console.error('Nothing to re-seal: this is sandbox mode (no ENCRYPTION_KEY; the sandbox uses a throwaway key).');
    return 1;
  }
  const secrets = createSecretBox(config.encryptionKey, config.encryptionKeysPrevious);
  const where = describeDatabase(config.databaseUrl);
  console.log(`Re-sealing the stored secrets of ${where.engine} ${where.location}`);
  console.log(`  with ENCRYPTION_KEY (key id ${secrets.keyId}); previous keys: ${config.encryptionKeysPrevious.map(keyId).join(', ') || 'none'}`);
  const database = openDatabase(config.databaseUrl);
  try {
    const report = await resealSecrets(database, secrets, {
      onBatch: (table, so) => console.log(`  ${table}: ${so.examined} looked at so far, ${so.resealed} re-sealed`),
    });
    console.log(
      `Done: ${report.examined} sealed value(s); ${report.resealed} re-sealed, ${report.current} already under the current key, ` +
        `${report.changedMeanwhile} changed by the app meanwhile, ${report.failures.length} that no key opens.`,
    );
    if (report.failures.length === 0) {
      console.log('Every stored secret now opens with ENCRYPTION_KEY alone: ENCRYPTION_KEYS_PREVIOUS can be removed.');
      return 0;
    }
    console.error('These values were left as they are (keep ENCRYPTION_KEYS_PREVIOUS until they are resolved):');
    for (const failure of report.failures) console.error(describeFailure(failure));
    return 1;
  } finally {
    await database.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('The re-seal stopped:', error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
