import type { Report as ServerReport, ReportCounters, ReportRow as ServerReportRow } from '../../server/reports/report-types';

/** Shapes of the settings page's API (server/http/automations-routes.ts and the reports / pipelines contracts). */

export type TriggerEvent = 'deal.stage_entered' | 'deal.created';

export type Automation = {
  id: string;
  name: string;
  enabled: boolean;
  trigger: { event: TriggerEvent; stageId: number; pipelineId?: number | null };
  template: string;
  createdAt: string;
  updatedAt: string;
};

export type AutomationInput = {
  name: string;
  enabled: boolean;
  trigger: { event: TriggerEvent; stageId: number; pipelineId?: number | null };
  template: string;
};

export type CompanySettings = {
  maxSegments: number;
  keywordReplies: 'provider' | 'app';
  helpText: string | null;
  sendRatePerSecond: number;
};

export type ProvisioningProblem = { step?: string; needsAdmin?: boolean; message?: string };

export type SettingsView = {
  /** Whether the caller is the installing admin: everyone else sees the rules and the Twilio sender read-only. */
  canEdit: boolean;
  company: { id: string; name: string | null };
  settings: CompanySettings;
  helpTextDefault: string;
  provisioning: { status: 'pending' | 'complete' | 'needs_admin' | 'failed'; problems: ProvisioningProblem[] };
  twilio: TwilioView;
};

export type SettingsWarning = { automationId: string; name: string; problems: string[] };

export type SettingsSaved = SettingsView & { warnings: SettingsWarning[] };

export type Stage = { id: number; name: string; order: number };
export type Pipeline = { id: number; name: string; stages: Stage[] };

export type Counters = ReportCounters;
export type ReportRow = ServerReportRow;
/** GET /api/reports adds the period length it was asked for. */
export type Report = ServerReport & { days: number };

/** The `details` of a refused template (400). */
export type TemplateRefusal = {
  problems?: Array<{ code: string; message: string }>;
  segments?: number;
  maxSegments?: number;
  encoding?: string;
  characters?: number;
};

/**
 * Which Twilio sender texts for the company (server/http/twilio-account-routes.ts): its own account (`own`), the
 * app's shared one (`default`), or nothing at all (`none`). The auth token is never sent back.
 */
export type TwilioView = {
  mode: 'own' | 'default' | 'none';
  /** Only for `own`: the app's own account id is not shown to companies. */
  accountSid: string | null;
  fromNumber: string | null;
  messagingServiceSid: string | null;
  verifiedAt: string | null;
  /** The URL a sender's incoming-message webhook must have for replies to reach the app. */
  inboundUrl: string;
  defaultAvailable: boolean;
};

/** PUT /api/settings/twilio: exactly one of fromNumber and messagingServiceSid. */
export type TwilioConnectInput = {
  accountSid: string;
  authToken: string;
  fromNumber?: string;
  messagingServiceSid?: string;
  pointRepliesHere?: boolean;
};

/** Where the connected sender's incoming messages go; replies reach the app only when `pointsHere`. */
export type TwilioReplies = { currentUrl: string | null; pointsHere: boolean; canPointHere: boolean };

export type TwilioConnected = TwilioView & { replies: TwilioReplies };

/** `error.details.reason` of a PUT that Twilio refused (400). */
export type TwilioRefusalReason = 'credentials_refused' | 'account_inactive' | 'sender_not_found';
