import { z } from 'zod';
import {
  clampSendRate,
  HELP_TEXT_MAX_LENGTH,
  MAX_SEGMENTS_MAX,
  MAX_SEGMENTS_MIN,
  RETENTION_DAYS_MAX,
  RETENTION_DAYS_MIN,
  SEND_RATE_DEFAULT,
  SEND_RATE_MAX,
  SEND_RATE_MIN,
} from './settings-limits.js';

// Imports only zod and the limits, so the API's contract (and through it the settings page's types) builds on the
// same field schemas.

/**
 * The writable settings, each as a change must give it. The API's PATCH contract is these fields, all optional; the
 * stored settings below read the same fields leniently.
 */
export const companySettingsFields = {
  /** The maximum number of segments one message may take (1 = the classic 160-character limit). */
  maxSegments: z.number().int().min(MAX_SEGMENTS_MIN).max(MAX_SEGMENTS_MAX),
  /** Who answers STOP/START/HELP (a contact must never get the reply twice): Twilio (`provider`) or the app (`app`, for
   * senders without Twilio's filter). */
  keywordReplies: z.enum(['provider', 'app']),
  /** The HELP answer, sent where Twilio does not answer HELP; null means the default text with the company name. */
  helpText: z.string().trim().min(1).max(HELP_TEXT_MAX_LENGTH).nullable(),
  /**
   * Which replies opt out: `exact` (the whole reply is one of the opt-out words) or `any` (a reply containing one of them
   * as a whole word; "please stop texting me" then opts out at once instead of waiting for a person's review).
   */
  optOutWords: z.enum(['exact', 'any']),
  /**
   * Messages per second on the company's own Twilio sender (a US long code does 1). The app's shared sender is paced
   * by the operator, never by a company.
   */
  sendRatePerSecond: z
    .number()
    .min(SEND_RATE_MIN, `must be at least ${SEND_RATE_MIN} messages per second`)
    .max(SEND_RATE_MAX, `must be at most ${SEND_RATE_MAX} messages per second`),
  /** Messages and replies older than this many days are deleted by the hourly housekeeping; null keeps them. */
  retentionDays: z
    .number()
    .int('must be a whole number of days')
    .min(RETENTION_DAYS_MIN, `must be at least ${RETENTION_DAYS_MIN} days`)
    .max(RETENTION_DAYS_MAX, `must be at most ${RETENTION_DAYS_MAX} days`)
    .nullable(),
};

/**
 * Per-company settings kept as JSON in companies.settings. Every field has a default, so an old or partial row
 * always parses; unknown keys are dropped.
 */
export const companySettingsSchema = z.object({
  maxSegments: companySettingsFields.maxSegments.default(1),
  keywordReplies: companySettingsFields.keywordReplies.default('provider'),
  helpText: companySettingsFields.helpText.default(null),
  optOutWords: companySettingsFields.optOutWords.catch('exact').default('exact'),
  // Read leniently: a rate stored before the bounds existed is clamped into them, and never resets the other rules.
  sendRatePerSecond: z.number().transform(clampSendRate).catch(SEND_RATE_DEFAULT).default(SEND_RATE_DEFAULT),
  // An unreadable stored retention keeps everything: never delete more than the admin asked for.
  retentionDays: companySettingsFields.retentionDays.catch(null).default(null),
});

export type CompanySettings = z.infer<typeof companySettingsSchema>;

export function parseCompanySettings(json: string | null | undefined): CompanySettings {
  let raw: unknown = {};
  try {
    raw = json ? JSON.parse(json) : {};
  } catch {
    raw = {};
  }
  const parsed = companySettingsSchema.safeParse(raw);
  return parsed.success ? parsed.data : companySettingsSchema.parse({});
}
