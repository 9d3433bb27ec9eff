import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Router } from 'express';
import { SANDBOX_DATABASE_URL, type Config, type ReadyConfig } from '../config.js';
import { createSandboxRouter } from './walkthrough.js';
import { createDemoReset } from './demo-reset.js';
import type { AppContext } from '../context.js';
import type { Logger } from '../logger.js';
// The only module of server/ that loads an emulator; main.ts imports this one with import() in sandbox mode alone.
import { createEmulatedWorld } from '../../emulators/world.js';
import type { DemoData } from '../../emulators/demo-data.js';
import type { PipedriveEmulator } from '../../emulators/pipedrive/emulator.js';
import type { TwilioEmulator } from '../../emulators/twilio/emulator.js';

export type Sandbox = {
  config: ReadyConfig;
  pipedrive: PipedriveEmulator;
  twilio: TwilioEmulator;
  demo: DemoData;
  /** Installs the demo company through the real OAuth flow and prints where to look. */
  afterStart(ctx: AppContext): Promise<void>;
  /** The walk-through page and its helpers, mounted on the app. */
  router(ctx: AppContext): Router;
  stop(): Promise<void>;
};

export const SANDBOX_CLIENT_ID = 'sandbox-client-id';

/**
 * Sandbox mode: the emulated Pipedrive and Twilio on loopback, demo data in them, and a config that points
 * the real SDKs at them. Nothing in the app knows it is a sandbox beyond these URLs.
 */
export async function prepareSandbox(config: Config, logger: Logger): Promise<Sandbox> {
  const log = logger.child({ subsystem: 'sandbox' });
  const clientSecret = randomBytes(24).toString('base64url');
  const redirectUri = `${config.appUrl}/oauth/callback`;
  const world = await createEmulatedWorld({
    pipedrive: { clientId: SANDBOX_CLIENT_ID, clientSecret, redirectUri },
    twilio: { autoStatus: true, autoStatusDelayMs: 700 },
    smsUrl: `${config.appUrl}/webhooks/twilio/inbound`,
  });
  const { pipedrive, twilio, account, demo, fromNumber: from } = world;
  // Every start is the demo's first state: the emulators start empty, and so does the sandbox's own database (a contact
  // who replied STOP in an earlier run is not opted out in this one, as the console says).
  if (config.databaseUrl === SANDBOX_DATABASE_URL) removeDatabaseFiles(config.databaseUrl.slice('file:'.length));
  const parts = { pd: pipedrive, tw: twilio, demo, pauseWorker: true };

  const ready: ReadyConfig = {
    ...config,
    pipedrive: { clientId: SANDBOX_CLIENT_ID, clientSecret, jwtSecret: clientSecret, oauthUrl: pipedrive.url },
    twilio: { accountSid: account.sid, authToken: account.authToken, fromNumber: from, messagingServiceSid: null, apiUrl: twilio.url },
    twilioApiUrl: twilio.url,
    // The configuration gives sandbox mode its own database file (never data/app.db) and no key: its key is a throwaway.
    encryptionKey: sandboxKey(config.databaseUrl),
    // The walk-through page embeds the panel from this same origin.
    frameAncestors: [...config.frameAncestors, "'self'"],
  };

  return {
    config: ready,
    pipedrive,
    twilio,
    demo,
    router: (ctx) => createSandboxRouter(ctx, { ...parts, fromNumber: from }),
    async afterStart(ctx) {
      const result = await world.install(ctx.config.appUrl);
      const company = await ctx.companies.find(String(demo.companyId));
      if (result.status !== 200 || !company) {
        log.error({ status: result.status }, 'the sandbox install did not complete');
        return;
      }
      await demo.grantConsent(company.consent_field_key, company.consent_granted_option, company.consent_opted_out_option);
      // The same first state the walk-through's "Reset the demo" brings back: settings, the demo automation.
      const demoState = createDemoReset(ctx, parts);
      await demoState.reset();
      const persons = await demoState.statuses();
      const lines = [
        '',
        'SMS for Pipedrive is running in SANDBOX mode (no PIPEDRIVE_CLIENT_ID configured).',
        `  Walk-through:       ${ctx.config.appUrl}/sandbox   (move a deal, watch the SMS arrive, reply, see the panel)`,
        `  Settings page:      ${ctx.config.appUrl}/sandbox/settings   (automations, Twilio sender, rules, reports)`,
        `  App:                ${ctx.config.appUrl}`,
        `  Emulated Pipedrive: ${pipedrive.url}   Emulated Twilio: ${twilio.url}`,
        `  Installed through the real OAuth flow: company "${company.name}" (id ${company.id}), provisioning ${company.provisioning_status}`,
        `    person field "SMS consent": ${company.consent_field_key ?? 'missing'}  activity type: ${company.activity_type_key ?? 'missing'}  webhook: ${company.webhook_id ?? 'missing'}`,
        `  Database:           ${ctx.config.databaseUrl} (${ctx.database.kind}, migrated)`,
        `  Demo persons: ${persons.map((p) => `${p.name} ${p.phone} [${p.status}]`).join(', ')}`,
        '  Every start (and "Reset the demo" on the walk-through) puts the demo back in this first state; quiet hours start off.',
        '',
      ];
      console.log(lines.join('\n'));
    },
    async stop() {
      await world.close();
    },
  };
}

/** The sandbox database and its journal files, so the migrations make a new one. */
function removeDatabaseFiles(path: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(resolve(`${path}${suffix}`), { force: true });
}

/** A throwaway key kept beside the sandbox database, so tokens stored by an earlier sandbox run stay readable. */
function sandboxKey(databaseUrl: string): Buffer {
  const base = databaseUrl.startsWith('file:') ? dirname(resolve(databaseUrl.slice(5))) : resolve('data');
  const file = resolve(base, 'sandbox-encryption.key');
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length === 32) return key;
  }
  mkdirSync(base, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64'), { mode: 0o600 });
  return key;
}
