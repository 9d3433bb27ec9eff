import { spawn } from 'node:child_process';

export type Ended = { code: number | null; signal: NodeJS.Signals | null; output: string };

/**
 * Runs `command` in `cwd` with exactly `env` (plus PATH and HOME: no .env, no inherited configuration) and collects
 * what it prints. When `until` shows up in the output, `whileRunning` looks at the running process (given its pid),
 * then the process is sent SIGTERM, as an operator or a container runtime stops it. Without `until`, the process
 * ends by itself. Resolves once it has exited; rejects with what `whileRunning` threw, or on the timeout.
 */
export function runProcess(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; until?: RegExp; whileRunning?: (pid: number, output: string) => Promise<void>; timeoutMs: number },
): Promise<Ended> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let checked = false;
  let failure: unknown = null;
  return new Promise<Ended>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out; output so far:\n${output}`));
    }, options.timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (checked || !options.until?.test(output)) return;
      checked = true;
      void (options.whileRunning?.(child.pid!, output) ?? Promise.resolve())
        .catch((error: unknown) => (failure = error))
        .finally(() => child.kill('SIGTERM'));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (failure) reject(failure instanceof Error ? failure : new Error(String(failure)));
      else resolve({ code, signal, output });
    });
  });
}
