import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { MigrationInput } from './migration-types.js';

// Frozen in time: the v1 opening and the v2 sealing below are copies, not imports of the app's crypto module, so this
// migration does the same thing on any later version of the app.
//
// Secrets were sealed as `v1.<iv>.<tag>.<ciphertext>` (AES-256-GCM, no additional data): a value copied into another
// row or column opened there too. `v2` has the same shape and binds the value to where it is stored: the GCM
// additional authenticated data is the JSON array [table, column, company id] (installations add the user id).
// Every v1 value is opened and sealed again as v2 for its own row and column.

type Place = { table: 'companies' | 'installations'; column: string; key: Record<string, string>; aad: string[] };
type Found = Place & { sealed: string };

function openV1(key: Buffer, sealed: string): string | null {
  const [version, iv, tag, ciphertext, extra] = sealed.split('.');
  if (version !== 'v1' || iv === undefined || tag === undefined || ciphertext === undefined || extra !== undefined) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

function sealV2(key: Buffer, plaintext: string, aad: string[]): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(JSON.stringify(aad), 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v2', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
}

async function v1Values(db: Kysely<any>): Promise<Found[]> {
  const found: Found[] = [];
  const add = (place: Place, sealed: unknown) => {
    if (typeof sealed === 'string' && sealed.startsWith('v1.')) found.push({ ...place, sealed });
  };
  const companies = await db.selectFrom('companies').select(['id', 'webhook_password_sealed', 'twilio_auth_token_sealed']).execute();
  for (const row of companies) {
    const id = String(row.id);
    for (const column of ['webhook_password_sealed', 'twilio_auth_token_sealed'] as const) {
      add({ table: 'companies', column, key: { id }, aad: ['companies', column, id] }, row[column]);
    }
  }
  const installations = await db.selectFrom('installations').select(['company_id', 'user_id', 'access_token_sealed', 'refresh_token_sealed']).execute();
  for (const row of installations) {
    const companyId = String(row.company_id);
    const userId = String(row.user_id);
    for (const column of ['access_token_sealed', 'refresh_token_sealed'] as const) {
      add({ table: 'installations', column, key: { company_id: companyId, user_id: userId }, aad: ['installations', column, companyId, userId] }, row[column]);
    }
  }
  return found;
}

export async function up(db: Kysely<any>, input: MigrationInput = {}): Promise<void> {
  const found = await v1Values(db);
  if (found.length === 0) return;
  const key = input.encryptionKey;
  if (!key || key.length !== 32) {
    throw new Error(`${found.length} stored secret(s) must be sealed again with their place, which needs the encryption key (ENCRYPTION_KEY)`);
  }
  let resealed = 0;
  for (const value of found) {
    const plaintext = openV1(key, value.sealed);
    // A value that did not open before this migration will not open after it: it stays as it is and is refused
    // where it is used (a failed credential), as it would have failed there before.
    if (plaintext === null) continue;
    let update = db.updateTable(value.table).set({ [value.column]: sealV2(key, plaintext, value.aad) });
    for (const [column, id] of Object.entries(value.key)) update = update.where(column, '=', id);
    // Only the value read above: a row changed meanwhile already holds a newer (v2) value.
    await update.where(value.column, '=', value.sealed).execute();
    resealed += 1;
  }
  if (resealed === 0) {
    throw new Error(`none of the ${found.length} stored secret(s) opens with this ENCRYPTION_KEY: is it the key they were sealed with?`);
  }
}
