import { z } from 'zod';

/**
 * Per-company settings kept as JSON in companies.settings. Every field has a default, so an old or partial row
 * always parses; unknown keys are dropped.
 */
const fields = {
  /** R4: the maximum number of segments one message may take (1 = the classic 160-character limit). */
  maxSegments: z.number().int().min(1).max(10),
  /** R8/R10: who answers STOP/START/HELP: Twilio (`provider`) or the app (`app`, for senders without Twilio's filter). */
  keywordReplies: z.enum(['provider', 'app']),
  /** R10: the HELP answer; null means the default text with the company name. */
  helpText: z.string().trim().min(1).max(320).nullable(),
  /** Messages per second per sender (a US long code does 1). */
  sendRatePerSecond: z.number().positive().max(1000),
};

export const companySettingsSchema = z.object({
  maxSegments: fields.maxSegments.default(1),
  keywordReplies: fields.keywordReplies.default('provider'),
  helpText: fields.helpText.default(null),
  sendRatePerSecond: fields.sendRatePerSecond.default(1),
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
