import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Starts `server/main.ts` as `npm start` does, with exactly the given environment (no .env, no inherited config). */
function start(env: Record<string, string>, untilOutput?: RegExp, timeoutMs = 30_000) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out; output so far:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (untilOutput?.test(output)) child.kill('SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('process start', () => {
  it('refuses to start with one readable message listing every configuration problem', async () => {
    const { code, output } = await start({ PIPEDRIVE_CLIENT_ID: 'cid', PORT: 'abc', TWILIO_FROM_NUMBER: 'nope' });
    expect(code).toBe(1);
    expect(output).toContain('Invalid configuration');
    expect(output).toContain('PORT must be a number');
    expect(output).toContain('TWILIO_FROM_NUMBER must be an E.164 number');
    expect(output).not.toContain('    at '); // no stack trace
  });

  it('runs the sandbox with nothing configured: installs the demo company through OAuth and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sms-pd-sandbox-'));
    const port = await freePort();
    try {
      const { code, output } = await start(
        { PORT: String(port), APP_URL: `http://127.0.0.1:${port}`, DATABASE_URL: `file:${join(dir, 'app.db')}` },
        /Demo persons/,
      );
      expect(output).toContain('SANDBOX mode');
      expect(output).toContain('Installed through the real OAuth flow: company "Acme Sandbox Inc." (id 1001), provisioning complete');
      expect(output).toMatch(/person field "SMS consent": [0-9a-f]{40}/);
      expect(output).toContain('(sqlite, migrated)');
      expect(output).toContain('shutting down');
      expect(code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
