import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.js';

/**
 * Where a sealed secret is stored: the table, the column and the key of its row. A company's secrets are bound to the
 * company; a Pipedrive authorisation is bound to the company and the user who gave it, so one user's token (an
 * admin's, say) copied into another user's row of the same company does not open either.
 */
export type SealedPlace =
  | { table: 'companies'; column: 'webhook_password_sealed' | 'twilio_auth_token_sealed'; companyId: string }
  | { table: 'installations'; column: 'access_token_sealed' | 'refresh_token_sealed'; companyId: string; userId: string };

/** The places the app seals secrets in, so call sites name a place rather than spell it. */
export const sealedPlaces = {
  webhookPassword: (companyId: string): SealedPlace => ({ table: 'companies', column: 'webhook_password_sealed', companyId }),
  twilioAuthToken: (companyId: string): SealedPlace => ({ table: 'companies', column: 'twilio_auth_token_sealed', companyId }),
  accessToken: (companyId: string, userId: string): SealedPlace => ({ table: 'installations', column: 'access_token_sealed', companyId, userId }),
  refreshToken: (companyId: string, userId: string): SealedPlace => ({ table: 'installations', column: 'refresh_token_sealed', companyId, userId }),
};

/**
 * A stored secret that cannot be used: copied from another row or column, tampered with, sealed with a key this
 * process does not hold, or still in the old format that carried no place. The message names the place (and, for an
 * unknown key, the key's public id), never the secret.
 */
export class SealedSecretError extends AppError {
  constructor(
    readonly place: SealedPlace,
    readonly reason: 'malformed' | 'unbound_v1' | 'does_not_open' | 'unknown_key',
    readonly keyId?: string,
  ) {
    const where = `${place.table}.${place.column}`;
    const why = {
      malformed: 'is not a sealed secret',
      unbound_v1: 'is in the old v1 format, which is bound to no place (the database migrations re-seal these)',
      does_not_open: 'does not open here: it was copied from another row or column, tampered with, or sealed with another key',
      unknown_key: `was sealed with a key this process does not hold (key id ${keyId ?? '?'}): neither ENCRYPTION_KEY nor one of ENCRYPTION_KEYS_PREVIOUS`,
    }[reason];
    super(`the secret stored in ${where} ${why}`, 'sealed_secret_unusable', {
      table: place.table,
      column: place.column,
      reason,
      ...(keyId !== undefined ? { keyId } : {}),
    });
  }
}

/**
 * Secrets at rest (OAuth tokens, webhook passwords, Twilio auth tokens) are sealed with AES-256-GCM.
 * Format: `v3.<key id>.<iv>.<tag>.<ciphertext>` in base64url. The place (table, column, row key) is the GCM additional
 * authenticated data: it is not stored, the reader states it, so a value moved to any other place fails to open.
 * The key id names the key that sealed the value (see `keyId`), so after a rotation a value opens with exactly one
 * key and the re-seal command knows which values are not yet under the current key without trying every key.
 * `v2` values (the same without a key id, written before keys could be rotated) still open: with the current key,
 * then each previous one. `v1` values (no place) are refused: the migration `2026-12-01T1100-sealed-places` re-sealed
 * every one of them, and accepting them would let an old value (from a backup, say) be pasted into any row.
 */
export type SecretBox = {
  /** Always with the current key, in the current format. */
  seal(plaintext: string, place: SealedPlace): string;
  /** Throws SealedSecretError when the value does not open at this place with any key this box holds. */
  open(sealed: string, place: SealedPlace): string;
  /**
   * Opens as `open` does and says whether the value is already sealed with the current key in the current format,
   * that is whether the re-seal command has anything to do for it.
   */
  inspect(sealed: string, place: SealedPlace): { plaintext: string; current: boolean };
  /** The current key's public id, as written in the values it seals. */
  readonly keyId: string;
};

/**
 * The additional authenticated data of a place: a JSON array, so no two places share an encoding. The migration that
 * re-sealed the v1 values holds a frozen copy of this encoding; change it only with a new version and migration.
 */
function additionalData(place: SealedPlace): Buffer {
  if (!place.companyId || (place.table === 'installations' && !place.userId)) throw new Error('a sealed place needs its row key');
  const parts = place.table === 'installations' ? [place.table, place.column, place.companyId, place.userId] : [place.table, place.column, place.companyId];
  return Buffer.from(JSON.stringify(parts), 'utf8');
}

/**
 * A key's public id: 8 base64url characters of an HMAC of a fixed label under the key. It tells keys apart (in sealed
 * values, in the logs, in the re-seal report) and reveals nothing of the key; two keys sharing an id (one chance in
 * 2^48) are both tried.
 */
export function keyId(key: Buffer): string {
  return createHmac('sha256', key).update('sms-for-pipedrive sealed-secret key id').digest().subarray(0, 6).toString('base64url');
}

type Key = { id: string; bytes: Buffer };

function decrypt(key: Buffer, iv: Buffer, tag: Buffer, ciphertext: string, aad: Buffer): string | null {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
    decipher.setAuthTag(tag);
    decipher.setAAD(aad);
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    // GCM cannot tell a wrong place from tampering or another key, and the reason it gives is not ours to show.
    return null;
  }
}

/**
 * `key` seals and opens; each of `previous` (earlier keys, after a rotation) only opens. The previous keys are tried
 * after the current one for a v2 value, and by their id for a v3 value.
 */
export function createSecretBox(key: Buffer, previous: readonly Buffer[] = []): SecretBox {
  if (key.length !== 32) throw new Error('the encryption key must be 32 bytes');
  if (previous.some((k) => k.length !== 32)) throw new Error('every previous encryption key must be 32 bytes');
  const current: Key = { id: keyId(key), bytes: key };
  const keys: Key[] = [current, ...previous.filter((k) => !k.equals(key)).map((bytes) => ({ id: keyId(bytes), bytes }))];

  function inspect(sealed: string, place: SealedPlace): { plaintext: string; current: boolean } {
    const parts = sealed.split('.');
    const version = parts[0];
    if (version === 'v1' && parts.length === 4) throw new SealedSecretError(place, 'unbound_v1');
    const v3 = version === 'v3' && parts.length === 5;
    if (!v3 && !(version === 'v2' && parts.length === 4)) throw new SealedSecretError(place, 'malformed');
    const [id, iv, tag, ciphertext] = v3 ? parts.slice(1) : [undefined, ...parts.slice(1)];
    if (iv === undefined || tag === undefined || ciphertext === undefined) throw new SealedSecretError(place, 'malformed');
    const candidates = id === undefined ? keys : keys.filter((k) => k.id === id);
    if (candidates.length === 0) throw new SealedSecretError(place, 'unknown_key', id);
    const aad = additionalData(place);
    const ivBytes = Buffer.from(iv, 'base64url');
    const tagBytes = Buffer.from(tag, 'base64url');
    // A shortened tag would be accepted by GCM and is far easier to forge: only the full 16 bytes count.
    if (ivBytes.length !== 12 || tagBytes.length !== 16) throw new SealedSecretError(place, 'does_not_open');
    for (const candidate of candidates) {
      const plaintext = decrypt(candidate.bytes, ivBytes, tagBytes, ciphertext, aad);
      if (plaintext !== null) return { plaintext, current: v3 && candidate === current };
    }
    throw new SealedSecretError(place, 'does_not_open');
  }

  return {
    keyId: current.id,
    seal(plaintext, place) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(additionalData(place));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return ['v3', current.id, iv.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join('.');
    },
    open: (sealed, place) => inspect(sealed, place).plaintext,
    inspect,
  };
}

/** Constant-time string comparison; unequal lengths are compared against themselves so timing stays flat. */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}

export function hmacSha256(secret: string | Buffer, data: string): string {
  return createHmac('sha256', secret).update(data).digest('base64url');
}

export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/** Parses `Authorization: Basic …` into its two parts; null when absent or malformed. */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | null {
  if (!header) return null;
  const match = /^Basic\s+([\w+/=-]+)\s*$/i.exec(header);
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** True when the header carries exactly these Basic credentials; both parts compared in constant time. */
export function basicAuthMatches(header: string | undefined, user: string, password: string): boolean {
  const parsed = parseBasicAuth(header);
  if (!parsed) return false;
  // Evaluate both comparisons so a wrong user name is not detectably faster than a wrong password.
  const userOk = safeEqual(parsed.user, user);
  const passwordOk = safeEqual(parsed.password, password);
  return userOk && passwordOk;
}
