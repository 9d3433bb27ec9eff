import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Router } from 'express';
import { createApp } from './app.js';
import type { AppContext } from './context.js';

export type RunningServer = { server: Server; port: number; /** The address actually bound. */ host: string; close(): Promise<void> };

/**
 * Migrates, listens and starts the outbox worker. `close` stops accepting, lets in-flight requests finish, lets the
 * worker finish the items it holds, then closes the database.
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
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await ctx.outbox.stop();
      await ctx.database.close();
    },
  };
}
