import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { basicAuthMatches, createSecretBox, parseBasicAuth, safeEqual } from '../../server/security/crypto.js';

describe('secret box', () => {
  const box = createSecretBox(randomBytes(32));

  it('round-trips and never shows the plaintext', () => {
    const sealed = box.seal('v1u:AQIABHj-secret-token');
    expect(sealed).not.toContain('secret');
    expect(sealed.startsWith('v1.')).toBe(true);
    expect(box.open(sealed)).toBe('v1u:AQIABHj-secret-token');
  });

  it('uses a fresh IV each time', () => {
    expect(box.seal('same')).not.toBe(box.seal('same'));
  });

  it('refuses tampered data and another key', () => {
    const sealed = box.seal('token');
    const parts = sealed.split('.');
    const flipped = Buffer.from(parts[3]!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    parts[3] = flipped.toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
    expect(() => createSecretBox(randomBytes(32)).open(sealed)).toThrow();
    expect(() => box.open('plain')).toThrow('not a sealed secret');
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
