import { z } from 'zod';
import { DEFAULT_SENDING_WINDOW, validateSendingWindow } from '../messaging/sending-window.js';
import {
  clampSendRate,
  FREQUENCY_CAP_DEFAULT,
  FREQUENCY_CAP_MAX,
  FREQUENCY_CAP_MIN,
  HELP_TEXT_MAX_LENGTH,
  MAX_SEGMENTS_MAX,
  MAX_SEGMENTS_MIN,
  RETENTION_DAYS_MAX,
  RETENTION_DAYS_MIN,
  SEND_RATE_DEFAULT,
  SEND_RATE_MAX,
  SEND_RATE_MIN,
} from './settings-limits.js';

// Imports only zod, the limits and the pure sending window, so the API's contract (and through it the settings page's types) builds on the
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
  /**
   * The hours automation messages may go out in the recipient's local time, `[start, end)` as HH:MM in 15-minute
   * steps (a start after the end runs across midnight); null switches quiet hours off (the Florida and Oklahoma
   * limits still apply). Panel sends are never held.
   */
  quietHours: z
    .strictObject({ start: z.string(), end: z.string() })
    .nullable()
    .superRefine((value, ctx) => {
      const check = validateSendingWindow(value);
      if (!check.ok) ctx.addIssue({ code: 'custom', path: check.field ? [check.field] : [], message: check.message });
    }),
  /** At most this many automation messages to one number per rolling 24 hours; 0 = no cap. */
  frequencyCap: z
    .number()
    .int('must be a whole number of messages')
    .min(FREQUENCY_CAP_MIN, `must be at least ${FREQUENCY_CAP_MIN} (0 switches the cap off)`)
    .max(FREQUENCY_CAP_MAX, `must be at most ${FREQUENCY_CAP_MAX} messages a day`),
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
  // An unreadable stored window is the default one, never "quiet hours off": never text at night by mistake.
  quietHours: companySettingsFields.quietHours.catch(() => ({ ...DEFAULT_SENDING_WINDOW })).default(() => ({ ...DEFAULT_SENDING_WINDOW })),
  frequencyCap: companySettingsFields.frequencyCap.catch(FREQUENCY_CAP_DEFAULT).default(FREQUENCY_CAP_DEFAULT),
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
