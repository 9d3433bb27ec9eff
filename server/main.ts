import dotenv from 'dotenv';
import { ConfigError, describeDatabase, loadConfig, type ReadyConfig } from './config.js';
import { createContext } from './context.js';
import { createLogger } from './logger.js';
import { startServer } from './server.js';

// The one process.env read of the app: `.env` (when present) first, then the environment itself wins.
dotenv.config({ quiet: true });

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`${error.message}\nSee the configuration table in README.md.`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  if (config.mode === 'production') {
    // Which database and which Pipedrive app this process serves, said once: the client id, never its secret.
    logger.info({ database: describeDatabase(config.databaseUrl), pipedriveClientId: config.pipedrive?.clientId }, 'configuration');
  }
  // Loaded only in sandbox mode, so a production process never loads an emulator module.
  const sandbox = config.mode === 'sandbox' ? await (await import('./sandbox/sandbox-mode.js')).prepareSandbox(config, logger) : null;
  const ready = (sandbox?.config ?? config) as ReadyConfig;
  const ctx = createContext(ready, { logger });
  const running = await startServer(ctx, ready.port, { host: ready.host, extraRouters: sandbox ? [sandbox.router(ctx)] : [] });
  logger.info({ host: running.host, port: running.port, mode: ready.mode, appUrl: ready.appUrl }, 'SMS for Pipedrive is listening');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({ signal }, 'shutdown did not finish within 10 s; exiting without waiting further');
      process.exit(1);
    }, 10_000);
    force.unref();
    await running.close();
    await sandbox?.stop();
    clearTimeout(force);
    logger.info({ signal }, 'shut down cleanly');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  if (sandbox) await sandbox.afterStart(ctx);
}

main().catch((error) => {
  console.error('SMS for Pipedrive failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
