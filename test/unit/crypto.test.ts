import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { basicAuthMatches, createSecretBox, parseBasicAuth, safeEqual, SealedSecretError, sealedPlaces, type SealedPlace } from '../../server/security/crypto.js';

/** The format written before secrets were bound to their place: AES-256-GCM without additional data. */
function sealV1(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
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
    expect(sealed.startsWith('v2.')).toBe(true);
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
    const parts = sealed.split('.');
    const flipped = Buffer.from(parts[3]!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(failure(() => box.open([parts[0], parts[1], parts[2], flipped.toString('base64url')].join('.'), here)).reason).toBe('does_not_open');
    const shortTag = Buffer.from(parts[2]!, 'base64url').subarray(0, 4).toString('base64url');
    expect(failure(() => box.open([parts[0], parts[1], shortTag, parts[3]].join('.'), here)).reason).toBe('does_not_open');
    expect(failure(() => createSecretBox(randomBytes(32)).open(sealed, here)).reason).toBe('does_not_open');
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
