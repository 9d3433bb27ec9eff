import { z } from 'zod';

// The settings page's counts report (GET /api/reports?days=N).

/** `days`: the period, 1 to 365 days back from now (default 30). */
export const reportQuery = z.object({
  days: z.coerce.number().int('days must be a whole number').min(1, 'days must be 1 to 365').max(365, 'days must be 1 to 365').default(30),
});
export type ReportQuery = z.input<typeof reportQuery>;

/** What became of the messages created in the period. */
export const reportCountersSchema = z.strictObject({
  total: z.number(),
  pending: z.number(),
  sent: z.number(),
  delivered: z.number(),
  failed: z.number(),
  skipped: z.number(),
  skippedByReason: z.record(z.string(), z.number()),
  replied: z.number(),
  optedOut: z.number(),
});
export type ReportCounters = z.infer<typeof reportCountersSchema>;

/** One automation's counts (or the deal panel's send box: `source` panel); `exists` is false for one deleted since. */
export const reportRowSchema = reportCountersSchema.extend({
  automationId: z.string().nullable(),
  name: z.string(),
  source: z.enum(['automation', 'panel']),
  exists: z.boolean(),
});
export type ReportRow = z.infer<typeof reportRowSchema>;

export const reportSchema = z.strictObject({
  since: z.string(),
  until: z.string(),
  rows: z.array(reportRowSchema),
  totals: reportCountersSchema,
  /** The period length asked for. */
  days: z.number(),
});
export type Report = z.infer<typeof reportSchema>;
