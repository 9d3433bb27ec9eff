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
 * A stored secret that cannot be used: copied from another row or column, tampered with, sealed with another key,
 * or still in the old format that carried no place. The message names the place, never the secret.
 */
export class SealedSecretError extends AppError {
  constructor(
    readonly place: SealedPlace,
    readonly reason: 'malformed' | 'unbound_v1' | 'does_not_open',
  ) {
    const where = `${place.table}.${place.column}`;
    const why = {
      malformed: 'is not a sealed secret',
      unbound_v1: 'is in the old v1 format, which is bound to no place (the database migrations re-seal these)',
      does_not_open: 'does not open here: it was copied from another row or column, tampered with, or sealed with another key',
    }[reason];
    super(`the secret stored in ${where} ${why}`, 'sealed_secret_unusable', { table: place.table, column: place.column, reason });
  }
}

/**
 * Secrets at rest (OAuth tokens, webhook passwords, Twilio auth tokens) are sealed with AES-256-GCM.
 * Format: `v2.<iv>.<tag>.<ciphertext>` in base64url. The place (table, column, row key) is the GCM additional
 * authenticated data: it is not stored, the reader states it, so a value moved to any other place fails to open.
 * `v1` values (no place) are refused: the migration `2026-12-01T1100-sealed-places` re-sealed every one of them, and
 * accepting them would let an old value (from a backup, say) be pasted into any row.
 */
export type SecretBox = {
  seal(plaintext: string, place: SealedPlace): string;
  /** Throws SealedSecretError when the value does not open at this place. */
  open(sealed: string, place: SealedPlace): string;
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

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error('the encryption key must be 32 bytes');
  return {
    seal(plaintext, place) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(additionalData(place));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return ['v2', iv.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join('.');
    },
    open(sealed, place) {
      const parts = sealed.split('.');
      const [version, iv, tag, ciphertext] = parts;
      if (version === 'v1' && parts.length === 4) throw new SealedSecretError(place, 'unbound_v1');
      if (version !== 'v2' || parts.length !== 4 || iv === undefined || tag === undefined || ciphertext === undefined) {
        throw new SealedSecretError(place, 'malformed');
      }
      const aad = additionalData(place);
      const ivBytes = Buffer.from(iv, 'base64url');
      const tagBytes = Buffer.from(tag, 'base64url');
      // A shortened tag would be accepted by GCM and is far easier to forge: only the full 16 bytes count.
      if (ivBytes.length !== 12 || tagBytes.length !== 16) throw new SealedSecretError(place, 'does_not_open');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, ivBytes, { authTagLength: 16 });
        decipher.setAuthTag(tagBytes);
        decipher.setAAD(aad);
        return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        // GCM cannot tell a wrong place from tampering or another key, and the reason it gives is not ours to show.
        throw new SealedSecretError(place, 'does_not_open');
      }
    },
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
