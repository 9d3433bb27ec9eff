import { fork, type ChildProcess } from 'node:child_process';

/**
 * A tiny request/response protocol over Node's IPC channel, so the app under test and the load generator each run
 * in their own process (their own event loop and core) while the orchestrator drives them.
 */

type Request = { id: number; cmd: string; args: unknown };
type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
type Handlers = Record<string, (args: any) => unknown>;

export type Peer = {
  readonly name: string;
  readonly pid: number;
  call<T = unknown>(cmd: string, args?: unknown): Promise<T>;
  /** Asks the child to exit and waits for it; kills it by pid after a grace period. */
  close(): Promise<void>;
};

/** Starts `file` as a child process (with the orchestrator's loader flags, so TypeScript runs) and waits until it serves. */
export async function startPeer(name: string, file: string): Promise<Peer> {
  const child: ChildProcess = fork(file, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: process.env });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited = false;

  child.on('message', (message: Reply | { ready: true }) => {
    if ('ready' in message) return;
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(new Error(`${name}: ${message.error}`));
  });
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      for (const w of pending.values()) w.reject(new Error(`${name} exited (code ${code}, signal ${signal})`));
      pending.clear();
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${name} exited during start (code ${code})`)));
  });

  return {
    name,
    pid: child.pid!,
    call<T>(cmd: string, args?: unknown) {
      if (exited) return Promise.reject(new Error(`${name} has exited`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, cmd, args } satisfies Request);
      });
    },
    async close() {
      if (exited) return;
      child.send({ id: 0, cmd: '__exit', args: null } satisfies Request);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Child side: answers the orchestrator's calls with `handlers` until asked to exit. */
export function serve(handlers: Handlers, onExit: () => Promise<void> = async () => {}): void {
  if (!process.send) throw new Error('this module must be started by bench/run.ts (no IPC channel)');
  const send = (m: unknown) => process.send!(m);
  process.on('message', (request: Request) => {
    if (request.cmd === '__exit') {
      void onExit().finally(() => process.exit(0));
      return;
    }
    const handler = handlers[request.cmd];
    void (async () => {
      try {
        if (!handler) throw new Error(`unknown command ${request.cmd}`);
        send({ id: request.id, ok: true, result: (await handler(request.args)) ?? null } satisfies Reply);
      } catch (error) {
        send({ id: request.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies Reply);
      }
    })();
  });
  // The orchestrator died: do not linger.
  process.on('disconnect', () => process.exit(0));
  send({ ready: true });
}
