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
  company: { id: string; name: string | null };
  settings: CompanySettings;
  helpTextDefault: string;
  provisioning: { status: 'pending' | 'complete' | 'needs_admin' | 'failed'; problems: ProvisioningProblem[] };
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
