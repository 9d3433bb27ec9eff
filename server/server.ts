import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Router } from 'express';
import { createApp } from './app.js';
import type { AppContext } from './context.js';

export type RunningServer = { server: Server; port: number; /** The address actually bound. */ host: string; close(): Promise<void> };

/**
 * Migrates, listens and starts the outbox worker. `close` (a graceful shutdown) stops accepting and, at the same time,
 * stops the worker: requests under way and the sends already started finish, the claims not started go back to the
 * queue for the next instance; each keep-alive connection is closed as soon as it is idle; then the database closes.
 */
export async function startServer(
  ctx: AppContext,
  port: number,
  options: { worker?: boolean; extraRouters?: Router[]; /** Listening address; null or absent: all interfaces. */ host?: string | null } = {},
): Promise<RunningServer> {
  await ctx.database.migrate({ encryptionKey: ctx.config.encryptionKey });
  const app = createApp(ctx, { extraRouters: options.extraRouters ?? [] });
  const server = await new Promise<Server>((resolve, reject) => {
    const done = (error?: Error) => (error ? reject(error) : resolve(s));
    const s = options.host ? app.listen(port, options.host, done) : app.listen(port, done);
  });
  // Webhook senders keep connections alive; do not let an idle one hold shutdown open.
  server.keepAliveTimeout = 5_000;
  if (options.worker !== false) ctx.outbox.start();
  return {
    server,
    port: (server.address() as AddressInfo).port,
    host: (server.address() as AddressInfo).address,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A connection kept alive by a webhook sender would hold the close for its keep-alive timeout: closed as soon as
      // it is idle (a request under way finishes first).
      server.closeIdleConnections();
      const idle = setInterval(() => server.closeIdleConnections(), 100);
      try {
        await Promise.all([closed, ctx.outbox.stop()]);
      } finally {
        clearInterval(idle);
      }
      await ctx.database.close();
    },
  };
}
