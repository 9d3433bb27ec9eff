import type { ReadyConfig } from './config.js';
import { openDatabase, type Database } from '../db/database.js';
import { createLogger, type Logger } from './logger.js';
import { createSecretBox, type SecretBox } from './security/crypto.js';
import { createOAuthClient, type OAuthClient } from './pipedrive/oauth-client.js';
import { createInstallations, type Installations } from './pipedrive/installations.js';
import { createProvisioner, type Provisioner } from './pipedrive/provisioning.js';
import { createTwilioGateway } from './twilio/twilio-gateway.js';
import type { SmsPort } from './twilio/sms-port.js';
import { createSenderDirectory, type SenderDirectory } from './twilio/senders.js';
import { createCompanyStore, type CompanyStore } from './companies/company-store.js';
import { createAutomationStore, type AutomationStore } from './automations/automation-store.js';
import { createDealEventRecorder, type DealEventRecorder } from './automations/record-deal-event.js';
import { createReportService, type ReportService } from './reports/report-service.js';
import { createOptOutList, type OptOutList } from './consent/opt-out-list.js';
import { createConsentService, type ConsentService } from './consent/consent-service.js';
import { runConsentByPhoneJob } from './consent/consent-jobs.js';
import { createOutboxWorker, type OutboxWorker, type OutboxWorkerOptions } from './outbox/outbox-worker.js';
import { createInboundService, type InboundService } from './inbound/inbound-service.js';
import { createInboundStore, type InboundStore } from './inbound/inbound-store.js';
import { runInboundReplyJob } from './inbound/reply-job.js';
import { createJobRunner, type JobRunner } from './jobs/job-runner.js';
import { registerPipedriveJobs } from './jobs/pipedrive-jobs.js';
import { createFailureLimiter, type AbuseLimits, type FailureLimiter } from './http/abuse-limit.js';
import { createRecipientZones, type RecipientZones } from './geo/recipient-zones.js';
import { createMetrics, type Metrics } from './metrics.js';
import { queueDepth } from '../db/queue-depth.js';

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
  /** Who texts for a company (its own Twilio account or the app's default) and who a webhook came from. */
  senders: SenderDirectory;
  companies: CompanyStore;
  automations: AutomationStore;
  /** Records Pipedrive deal events with their outbox rows (group commit under load). */
  dealEvents: DealEventRecorder;
  optOuts: OptOutList;
  /** Every opt-out and opt-in, whatever its source, goes through here (the only writer of the consent history). */
  consent: ConsentService;
  /** Pipedrive write-backs that survive Pipedrive being down; each kind's handler is registered here. */
  jobs: JobRunner;
  outbox: OutboxWorker;
  /** Inbound texts: `receive` for the Twilio webhook. */
  inbound: InboundService;
  /** Stored inbound texts, read by the panel and reports. */
  inboundMessages: InboundStore;
  /** Per-automation outcomes of a period (the settings page's reports). */
  reports: ReportService;
  /** Failed authentications counted per client address (shared by every instance on PostgreSQL). */
  failures: FailureLimiter;
  /** A number's possible time zones, one cache for the outbox (quiet hours) and the panel (the contact's local time). */
  zones: RecipientZones;
  /** Prometheus metrics, one registry per context (`GET /metrics`). */
  metrics: Metrics;
};

export type ContextOverrides = Partial<Pick<AppContext, 'logger' | 'clock' | 'database'>> & {
  outboxOptions?: Partial<OutboxWorkerOptions>;
  /** Tests lower the failure limits to reach them in a few requests. */
  abuseLimits?: Partial<AbuseLimits>;
};

/** The composition root: every long-lived part is built here, once, and handed to whoever needs it. */
export function createContext(config: ReadyConfig, overrides: ContextOverrides = {}): AppContext {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const clock = overrides.clock ?? { now: () => Date.now() };
  const database = overrides.database ?? openDatabase(config.databaseUrl);
  const metrics = createMetrics();
  metrics.setQueueDepth(() => queueDepth(database));
  const secrets = createSecretBox(config.encryptionKey, config.encryptionKeysPrevious);
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
    metrics,
  });
  const provisioner = createProvisioner({
    database,
    secrets,
    logger: logger.child({ subsystem: 'provisioning' }),
    appUrl: config.appUrl,
    now: clock.now,
  });
  const sms = createTwilioGateway({ apiUrl: config.twilioApiUrl, metrics });
  const senders = createSenderDirectory({ twilio: config.twilio, secrets, database, logger: logger.child({ subsystem: 'senders' }) });
  const companies = createCompanyStore(database);
  const automations = createAutomationStore(database, clock.now);
  const dealEvents = createDealEventRecorder(database);
  const optOuts = createOptOutList(database, clock.now);
  const consent = createConsentService({ database, optOuts, now: clock.now, logger });
  const jobs = createJobRunner({ database, companies, installations, logger, now: clock.now, metrics });
  const zones = createRecipientZones();
  registerPipedriveJobs(jobs);
  jobs.register('inbound.log_reply', runInboundReplyJob);
  jobs.register('consent.mirror_by_phone', runConsentByPhoneJob);
  const outbox = createOutboxWorker(
    {
      database,
      installations,
      companies,
      optOuts,
      consent,
      sms,
      logger,
      now: clock.now,
      appUrl: config.appUrl,
      senders,
      sharedSenderRate: config.sharedSenderRate,
      jobs,
      zones,
      metrics,
    },
    overrides.outboxOptions,
  );
  const inbound = createInboundService({ database, consent, senders, logger, now: clock.now });
  const inboundMessages = createInboundStore(database);
  const reports = createReportService(database);
  const failures = createFailureLimiter({ database, logger, limits: overrides.abuseLimits });
  return {
    config,
    logger,
    clock,
    database,
    secrets,
    oauth,
    installations,
    provisioner,
    sms,
    senders,
    companies,
    automations,
    dealEvents,
    optOuts,
    consent,
    jobs,
    outbox,
    inbound,
    inboundMessages,
    reports,
    failures,
    zones,
    metrics,
  };
}
