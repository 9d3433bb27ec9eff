import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../server/logger.js';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger('debug', sink), text: () => lines.join('') };
}

describe('logger redaction', () => {
  it('never writes tokens, secrets or authorization headers', () => {
    const { logger, text } = capture();
    logger.info({ access_token: 'AT-secret-1', refresh_token: 'RT-secret-2', companyId: '1001' }, 'tokens');
    logger.info({ installation: { accessToken: 'AT-secret-3', authToken: 'TW-secret-4' } }, 'nested');
    logger.info({ headers: { authorization: 'Bearer JWT-secret-5', cookie: 'pd_oauth_nonce=N-secret-6' } }, 'headers');
    const axiosLike = Object.assign(new Error('Request failed'), {
      config: { headers: { Authorization: 'Basic QUM6c2VjcmV0' }, auth: { username: 'AC1', password: 'TW-secret-7' }, data: 'Body=secret-8' },
    });
    logger.error({ err: axiosLike }, 'vendor failure');
    logger.info({ config: { encryptionKey: 'EK-secret-9', encryptionKeysPrevious: ['EK-secret-10'] } }, 'config');
    const out = text();
    for (const secret of ['EK-secret-9', 'EK-secret-10', 'AT-secret-1', 'RT-secret-2', 'AT-secret-3', 'TW-secret-4', 'JWT-secret-5', 'N-secret-6', 'QUM6c2VjcmV0', 'TW-secret-7', 'secret-8']) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('[redacted]');
    expect(out).toContain('"companyId":"1001"');
    expect(out).toContain('Request failed');
  });
});
