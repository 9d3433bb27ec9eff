import { z } from 'zod';
import { clampSendRate, SEND_RATE_DEFAULT, SEND_RATE_MAX, SEND_RATE_MIN } from './send-rate.js';

export { SEND_RATE_MAX, SEND_RATE_MIN } from './send-rate.js';

/**
 * Per-company settings kept as JSON in companies.settings. Every field has a default, so an old or partial row
 * always parses; unknown keys are dropped.
 */
const fields = {
  /** The maximum number of segments one message may take (1 = the classic 160-character limit). */
  maxSegments: z.number().int().min(1).max(10),
  /** Who answers STOP/START/HELP (a contact must never get the reply twice): Twilio (`provider`) or the app (`app`, for
   * senders without Twilio's filter). */
  keywordReplies: z.enum(['provider', 'app']),
  /** The HELP answer, sent where Twilio does not answer HELP; null means the default text with the company name. */
  helpText: z.string().trim().min(1).max(320).nullable(),
  /**
   * Messages per second on the company's own Twilio sender (a US long code does 1). The app's shared sender is paced
   * by the operator, never by a company.
   */
  /**
   * Which replies opt out: `exact` (the whole reply is one of the opt-out words) or `any` (a reply containing one of them
   * as a whole word; "please stop texting me" then opts out at once instead of waiting for a person's review).
   */
  optOutWords: z.enum(['exact', 'any']),
  sendRatePerSecond: z
    .number()
    .min(SEND_RATE_MIN, `must be at least ${SEND_RATE_MIN} messages per second`)
    .max(SEND_RATE_MAX, `must be at most ${SEND_RATE_MAX} messages per second`),
};

export const companySettingsSchema = z.object({
  maxSegments: fields.maxSegments.default(1),
  keywordReplies: fields.keywordReplies.default('provider'),
  helpText: fields.helpText.default(null),
  optOutWords: fields.optOutWords.catch('exact').default('exact'),
  // Read leniently: a rate stored before the bounds existed is clamped into them, and never resets the other rules.
  sendRatePerSecond: z.number().transform(clampSendRate).catch(SEND_RATE_DEFAULT).default(SEND_RATE_DEFAULT),
});

/** A change of some settings: no defaults here, or a patch of one field would reset the others. */
export const companySettingsPatchSchema = z
  .object(fields)
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'nothing to update');

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
