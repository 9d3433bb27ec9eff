import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * Runs one of the operator's commands (`server/tools/*-cli.ts`, as `npm run …` does) in its own process, in `cwd`
 * (a folder with no `.env`) and with only the given environment, and collects what it printed and its exit code.
 */
export async function runToolCommand(
  script: string,
  options: { cwd: string; env: Record<string, string>; args?: string[] },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(resolve('node_modules/.bin/tsx'), [resolve('server/tools', script), ...(options.args ?? [])], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', ...options.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  return { code, stdout, stderr };
}
