import { z } from 'zod';
import { OPT_OUT_IMPORT_MAX_ROWS, OPT_OUT_REASON_MAX_LENGTH } from './limits.js';

// The settings page's opt-out list: GET/POST /api/consent/opt-outs and DELETE /api/consent/opt-outs/:phone (the admin
// who installed only).

/**
 * `q`: a search; the digits in it are matched anywhere in the number (`415 555` finds +14155552671). `format=csv`:
 * the whole list as a CSV download instead of the newest entries.
 */
export const optOutListQuery = z.object({
  q: z.string().max(64, 'q is too long (64 characters at most)').optional(),
  format: z.enum(['json', 'csv'], { error: 'format must be json or csv' }).default('json'),
});
export type OptOutListQuery = z.input<typeof optOutListQuery>;

/**
 * How a number came on the list: `inbound_keyword` (the contact texted STOP or another opt-out word),
 * `twilio_21610` (Twilio refused a text: the contact unsubscribed there), `review` (a user decided a reply was an
 * opt-out), `import`, `hand`, `pipedrive_field`, `panel`.
 */
export const optOutEntrySchema = z.strictObject({
  phone: z.string(),
  at: z.string(),
  source: z.string(),
  /** The contact's text or the admin's reason; null when there is none (or it is another company's, on a shared sender). */
  message: z.string().nullable(),
  personId: z.number().nullable(),
});
export type OptOutEntry = z.infer<typeof optOutEntrySchema>;

/** Newest first, at most OPT_OUT_LIST_LIMIT entries: a search narrows it, the CSV holds all of it. */
export const optOutListSchema = z.strictObject({ optOuts: z.array(optOutEntrySchema) });
export type OptOutList = z.infer<typeof optOutListSchema>;

const reason = z
  .string()
  .trim()
  .max(OPT_OUT_REASON_MAX_LENGTH, `reason is too long (${OPT_OUT_REASON_MAX_LENGTH} characters at most)`)
  .nullable()
  .optional();

/** Numbers added by hand: each in any form a phone is read in (a value without + is a US number). */
export const optOutAddBody = z.strictObject({
  phones: z
    .array(z.string().max(64, 'each phone is at most 64 characters'), { error: 'phones must be a list of phone numbers' })
    .min(1, 'phones is empty')
    .max(OPT_OUT_IMPORT_MAX_ROWS, `phones holds at most ${OPT_OUT_IMPORT_MAX_ROWS} numbers`),
  reason,
});
export type OptOutAddInput = z.input<typeof optOutAddBody>;

/**
 * What an addition or an import did: numbers put on the list, numbers that already were (or came twice), and the
 * values that are not a phone number, by their line in the CSV (the header is line 1) or their place in `phones`
 * (from 1). The valid ones were added together, in one transaction.
 */
export const optOutAddedSchema = z.strictObject({
  added: z.number().int(),
  already: z.number().int(),
  invalid: z.array(z.strictObject({ line: z.number().int(), value: z.string() })),
});
export type OptOutAdded = z.infer<typeof optOutAddedSchema>;

/** A removal: the number, now off the list. */
export const optOutRemovedSchema = z.strictObject({ removed: z.string() });
export type OptOutRemoved = z.infer<typeof optOutRemovedSchema>;
