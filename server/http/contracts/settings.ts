import { z } from 'zod';
import { companySettingsFields } from '../../companies/company-settings.js';
import { twilioViewSchema } from './twilio-account.js';

// The company's rules (GET and PATCH /api/settings).

/** PATCH /api/settings: any subset of the writable settings. No defaults here, or a patch of one field would reset the others. */
export const settingsPatchBody = z
  .object(companySettingsFields)
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'nothing to update');
export type SettingsPatch = z.input<typeof settingsPatchBody>;

/** The writable settings as they are stored and shown. */
export const companySettingsViewSchema = z.strictObject(companySettingsFields);
export type CompanySettingsView = z.infer<typeof companySettingsViewSchema>;
export const SETTINGS_FIELDS = Object.keys(companySettingsFields) as Array<keyof CompanySettingsView>;

/** One step of the set-up in Pipedrive (webhook, consent field, activity type) that did not complete. */
export const provisioningProblemSchema = z.strictObject({ step: z.string(), needsAdmin: z.boolean(), message: z.string() });

/**
 * GET /api/settings: the settings at the top level, whether the caller may change them (the page shows them read-only
 * otherwise), and what the page shows around them: the company, the default HELP answer, the set-up's state and the
 * Twilio sender.
 */
export const settingsViewSchema = companySettingsViewSchema.extend({
  canEdit: z.boolean(),
  company: z.strictObject({ id: z.string(), name: z.string().nullable() }),
  helpTextDefault: z.string(),
  provisioning: z.strictObject({
    status: z.enum(['pending', 'complete', 'needs_admin', 'failed']),
    problems: z.array(provisioningProblemSchema),
  }),
  twilio: twilioViewSchema,
});
export type SettingsView = z.infer<typeof settingsViewSchema>;

/** A saved automation whose template no longer fits the new rules (it is not sent until shortened). */
export const settingsWarningSchema = z.strictObject({ automationId: z.string(), name: z.string(), problems: z.array(z.string()) });
export type SettingsWarning = z.infer<typeof settingsWarningSchema>;

/** PATCH /api/settings answers the same view, with the automations the change left not fitting. */
export const settingsSavedSchema = settingsViewSchema.extend({ warnings: z.array(settingsWarningSchema) });
export type SettingsSaved = z.infer<typeof settingsSavedSchema>;
