import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config.js';

/**
 * ENCRYPTION_KEYS_PREVIOUS: the keys of before a rotation. A problem names a key by its position and never shows it;
 * the secret box's side of a rotation is tested in crypto.test.ts.
 */
describe('ENCRYPTION_KEYS_PREVIOUS', () => {
  const current = Buffer.alloc(32, 1);
  const older = Buffer.alloc(32, 2);
  const oldest = Buffer.alloc(32, 3);
  const production = {
    PIPEDRIVE_CLIENT_ID: 'id',
    PIPEDRIVE_CLIENT_SECRET: 'secret',
    ENCRYPTION_KEY: current.toString('base64'),
  };
  /** Every problem is listed at once, in a ConfigError; the configuration is refused. */
  const problemsOf = (env: Record<string, string>): string[] => {
    const error = (() => {
      try {
        return loadConfig(env);
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  };

  it('reads the earlier keys, base64 or hex, in order', () => {
    const config = loadConfig({ ...production, ENCRYPTION_KEYS_PREVIOUS: ` ${older.toString('hex')} , ${oldest.toString('base64')}` });
    expect(config.encryptionKey).toEqual(current);
    expect(config.encryptionKeysPrevious).toEqual([older, oldest]);
    expect(loadConfig(production).encryptionKeysPrevious).toEqual([]);
  });

  it('names a bad key by its position and never shows a key', () => {
    const secretLooking = 'c2VjcmV0LWJ1dC10b28tc2hvcnQ=';
    const problems = problemsOf({ ...production, ENCRYPTION_KEYS_PREVIOUS: `${older.toString('base64')},${secretLooking}` });
    expect(problems).toEqual(['ENCRYPTION_KEYS_PREVIOUS: key 2 of 2 must be 32 bytes, written as 64 hex characters or base64, like ENCRYPTION_KEY']);
    expect(problemsOf({ ...production, ENCRYPTION_KEYS_PREVIOUS: `${older.toString('base64')},,` })).toEqual([
      expect.stringContaining('key 2 of 3 is empty'),
      expect.stringContaining('key 3 of 3 is empty'),
    ]);
  });

  it('refuses the current key among the previous ones, and one key twice', () => {
    const problems = problemsOf({
      ...production,
      ENCRYPTION_KEYS_PREVIOUS: [older.toString('base64'), current.toString('hex'), older.toString('hex')].join(','),
    });
    expect(problems).toEqual([
      'ENCRYPTION_KEYS_PREVIOUS: key 2 of 3 is the same as ENCRYPTION_KEY: a rotation needs a new ENCRYPTION_KEY',
      'ENCRYPTION_KEYS_PREVIOUS: key 3 of 3 is the same as an earlier one in the list',
    ]);
    for (const problem of problems) for (const key of [current, older]) expect(problem).not.toContain(key.toString('hex'));
  });

  it('is refused without a current key, listed with the other problems', () => {
    expect(problemsOf({ PIPEDRIVE_CLIENT_ID: 'id', PIPEDRIVE_CLIENT_SECRET: 'secret', ENCRYPTION_KEYS_PREVIOUS: older.toString('base64') })).toEqual([
      expect.stringContaining('ENCRYPTION_KEY is required'),
      expect.stringContaining('ENCRYPTION_KEYS_PREVIOUS is set but ENCRYPTION_KEY is not'),
    ]);
  });
});
