import type { ReadyConfig } from './config.js';
import { openDatabase, type Database } from '../db/database.js';
import { createLogger, type Logger } from './logger.js';
import { createSecretBox, type SecretBox } from './security/crypto.js';
import { createOAuthClient, type OAuthClient } from './pipedrive/oauth-client.js';
import { createInstallations, type Installations } from './pipedrive/installations.js';
import { createProvisioner, type Provisioner } from './pipedrive/provisioning.js';
import { createTwilioGateway } from './twilio/twilio-gateway.js';
import type { SmsPort } from './twilio/sms-port.js';

export type Clock = { now(): number };

export type AppContext = {
  config: ReadyConfig;
  logger: Logger;
  clock: Clock;
  database: Database;
  secrets: SecretBox;
  oauth: OAuthClient;
  installations: Installations;
  provisioner: Provisioner;
  sms: SmsPort;
};

export type ContextOverrides = Partial<Pick<AppContext, 'logger' | 'clock' | 'database'>>;

/** The composition root: every long-lived part is built here, once, and handed to whoever needs it. */
export function createContext(config: ReadyConfig, overrides: ContextOverrides = {}): AppContext {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const clock = overrides.clock ?? { now: () => Date.now() };
  const database = overrides.database ?? openDatabase(config.databaseUrl);
  const secrets = createSecretBox(config.encryptionKey);
  const oauth = createOAuthClient({
    clientId: config.pipedrive.clientId,
    clientSecret: config.pipedrive.clientSecret,
    oauthUrl: config.pipedrive.oauthUrl,
    redirectUri: `${config.appUrl}/oauth/callback`,
    now: clock.now,
  });
  const installations = createInstallations({
    database,
    oauth,
    secrets,
    logger: logger.child({ subsystem: 'installations' }),
    now: clock.now,
  });
  const provisioner = createProvisioner({
    database,
    secrets,
    logger: logger.child({ subsystem: 'provisioning' }),
    appUrl: config.appUrl,
    now: clock.now,
  });
  const sms = createTwilioGateway({ apiUrl: config.twilioApiUrl });
  return { config, logger, clock, database, secrets, oauth, installations, provisioner, sms };
}
