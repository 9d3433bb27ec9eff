import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  basicAuthMatches, createSecretBox, keyId, parseBasicAuth, safeEqual, SealedSecretError, sealedPlaces, type SealedPlace,
} from '../../server/security/crypto.js';

/** The format written before secrets were bound to their place: AES-256-GCM without additional data. */
function sealV1(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
}

/**
 * The v2 format (bound to its place, no key id), as the app wrote it before keys could be rotated: v3 is v2 with the
 * key id added and the same additional data, so dropping the id gives exactly what the previous version wrote.
 */
function asV2(v3: string): string {
  const [version, , iv, tag, ciphertext] = v3.split('.');
  if (version !== 'v3') throw new Error('expected a v3 value');
  return ['v2', iv, tag, ciphertext].join('.');
}

const failure = (fn: () => unknown): SealedSecretError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof SealedSecretError) return error;
    throw error;
  }
  throw new Error('expected the secret not to open');
};

describe('secret box', () => {
  const key = randomBytes(32);
  const box = createSecretBox(key);
  const here = sealedPlaces.webhookPassword('1001');

  it('round-trips at its place and never shows the plaintext', () => {
    const sealed = box.seal('v1u:AQIABHj-secret-token', here);
    expect(sealed).not.toContain('secret');
    expect(sealed.startsWith(`v3.${box.keyId}.`)).toBe(true);
    expect(box.open(sealed, here)).toBe('v1u:AQIABHj-secret-token');
    const token = sealedPlaces.accessToken('1001', '501');
    expect(box.open(box.seal('', token), token)).toBe('');
  });

  it('uses a fresh IV each time', () => {
    expect(box.seal('same', here)).not.toBe(box.seal('same', here));
  });

  it('opens nowhere else: another table, column, company or user', () => {
    const elsewhere: SealedPlace[] = [
      sealedPlaces.webhookPassword('2002'),
      sealedPlaces.webhookPassword('10011'),
      sealedPlaces.twilioAuthToken('1001'),
      sealedPlaces.accessToken('1001', '501'),
    ];
    const sealed = box.seal('pw-7f3kQ', here);
    for (const place of elsewhere) {
      const error = failure(() => box.open(sealed, place));
      expect(error.reason).toBe('does_not_open');
      expect(error.message).toContain(`${place.table}.${place.column}`);
      expect(error.message).toContain('copied from another row or column');
      expect(error.message).not.toContain('pw-7f3kQ');
    }
    const token = box.seal('token', sealedPlaces.accessToken('1001', '501'));
    expect(failure(() => box.open(token, sealedPlaces.accessToken('1001', '502'))).reason).toBe('does_not_open');
    expect(failure(() => box.open(token, sealedPlaces.refreshToken('1001', '501'))).reason).toBe('does_not_open');
    expect(failure(() => box.open(token, sealedPlaces.accessToken('2002', '501'))).reason).toBe('does_not_open');
    // Ids that run together in a naive concatenation are still two different places.
    expect(failure(() => box.open(box.seal('x', sealedPlaces.accessToken('10', '01')), sealedPlaces.accessToken('100', '1'))).reason).toBe('does_not_open');
  });

  it('refuses tampered data, a shortened tag, another key and what is not a sealed secret', () => {
    const sealed = box.seal('token', here);
    const [version, id, iv, tag, ciphertext] = sealed.split('.');
    const flipped = Buffer.from(ciphertext!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(failure(() => box.open([version, id, iv, tag, flipped.toString('base64url')].join('.'), here)).reason).toBe('does_not_open');
    const shortTag = Buffer.from(tag!, 'base64url').subarray(0, 4).toString('base64url');
    expect(failure(() => box.open([version, id, iv, shortTag, ciphertext].join('.'), here)).reason).toBe('does_not_open');
    // Another key: its id is not one this box holds; with the id rewritten to ours, GCM still refuses it.
    const foreign = createSecretBox(randomBytes(32)).seal('token', here);
    expect(failure(() => box.open(foreign, here)).reason).toBe('unknown_key');
    const relabelled = foreign.split('.');
    relabelled[1] = box.keyId;
    expect(failure(() => box.open(relabelled.join('.'), here)).reason).toBe('does_not_open');
    expect(failure(() => box.open('plain', here)).reason).toBe('malformed');
    expect(() => box.open('plain', here)).toThrow('not a sealed secret');
    expect(failure(() => box.open(`${sealed}.more`, here)).reason).toBe('malformed');
  });

  it('refuses the old v1 format, which is bound to no place', () => {
    const old = sealV1(key, 'token');
    const error = failure(() => box.open(old, here));
    expect(error.reason).toBe('unbound_v1');
    expect(error.message).toContain('v1');
  });

  it('needs the row key of its place', () => {
    expect(() => box.seal('x', sealedPlaces.webhookPassword(''))).toThrow('row key');
    expect(() => box.seal('x', sealedPlaces.accessToken('1001', ''))).toThrow('row key');
  });

  it('requires a 32-byte key', () => {
    expect(() => createSecretBox(randomBytes(16))).toThrow('32 bytes');
  });
});

describe('secret box with previous keys', () => {
  const A = randomBytes(32);
  const B = randomBytes(32);
  const C = randomBytes(32);
  const here: SealedPlace = sealedPlaces.refreshToken('1001', '501');

  it('opens what an earlier key sealed and seals only with the current key', () => {
    const sealedWithA = createSecretBox(A).seal('refresh-1', here);
    const rotated = createSecretBox(B, [A]);
    expect(rotated.open(sealedWithA, here)).toBe('refresh-1');
    expect(rotated.inspect(sealedWithA, here)).toEqual({ plaintext: 'refresh-1', current: false });

    const resealed = rotated.seal('refresh-1', here);
    expect(resealed.split('.').slice(0, 2)).toEqual(['v3', keyId(B)]);
    expect(rotated.inspect(resealed, here)).toEqual({ plaintext: 'refresh-1', current: true });
    // B alone opens the new value; A alone does not know B.
    expect(createSecretBox(B).open(resealed, here)).toBe('refresh-1');
    expect(failure(() => createSecretBox(A).open(resealed, here)).reason).toBe('unknown_key');
  });

  it('names the unknown key by its id, never the key, and says where to put it', () => {
    const sealedWithC = createSecretBox(C).seal('pw', here);
    const error = failure(() => createSecretBox(B, [A]).open(sealedWithC, here));
    expect(error.reason).toBe('unknown_key');
    expect(error.keyId).toBe(keyId(C));
    expect(error.message).toContain(keyId(C));
    expect(error.message).toContain('ENCRYPTION_KEYS_PREVIOUS');
    for (const key of [A, B, C]) {
      expect(error.message).not.toContain(key.toString('base64'));
      expect(error.message).not.toContain(key.toString('hex'));
    }
  });

  it('opens the v2 values written before keys had an id, with the current key or a previous one', () => {
    const v2WithA = asV2(createSecretBox(A).seal('old-refresh', here));
    expect(createSecretBox(A).open(v2WithA, here)).toBe('old-refresh');
    expect(createSecretBox(B, [C, A]).inspect(v2WithA, here)).toEqual({ plaintext: 'old-refresh', current: false });
    // Under the current key but in the old format: still something for the re-seal command to do.
    expect(createSecretBox(A, [C]).inspect(v2WithA, here).current).toBe(false);
    expect(failure(() => createSecretBox(B, [C]).open(v2WithA, here)).reason).toBe('does_not_open');
    // The place still binds: the v2 value of another user does not open here.
    expect(failure(() => createSecretBox(A).open(asV2(createSecretBox(A).seal('x', sealedPlaces.refreshToken('1001', '502'))), here)).reason).toBe('does_not_open');
  });

  it('gives each key its own stable id, which shows nothing of the key', () => {
    expect(keyId(A)).toBe(keyId(Buffer.from(A)));
    expect(keyId(A)).not.toBe(keyId(B));
    expect(keyId(A)).toMatch(/^[\w-]{8}$/);
    expect(createSecretBox(B, [A]).keyId).toBe(keyId(B));
  });

  it('requires every previous key to be 32 bytes', () => {
    expect(() => createSecretBox(A, [randomBytes(16)])).toThrow('previous encryption key must be 32 bytes');
  });
});

describe('comparisons and Basic auth', () => {
  it('compares strings of any length', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
  });

  it('parses Basic headers and rejects others', () => {
    const header = `Basic ${Buffer.from('user:pa:ss').toString('base64')}`;
    expect(parseBasicAuth(header)).toEqual({ user: 'user', password: 'pa:ss' });
    expect(parseBasicAuth('Bearer abc')).toBeNull();
    expect(parseBasicAuth(undefined)).toBeNull();
    expect(parseBasicAuth(`Basic ${Buffer.from('nocolon').toString('base64')}`)).toBeNull();
    expect(basicAuthMatches(header, 'user', 'pa:ss')).toBe(true);
    expect(basicAuthMatches(header, 'user', 'pa:sS')).toBe(false);
    expect(basicAuthMatches(header, 'User', 'pa:ss')).toBe(false);
  });
});
