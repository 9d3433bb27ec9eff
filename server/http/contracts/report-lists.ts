import { z } from 'zod';
import { reportQuery } from './reports.js';

// The settings page's lists behind the reports table: GET /api/reports/messages and GET /api/reports/replies.

/**
 * `days` as for the counts; `automationId` (one automation's rows) or `source=panel` (the deal panel's), neither:
 * all; `limit` 1 to 500 (default 50); `cursor`: the previous page's `nextCursor`, opaque (a token the list did not
 * give out is a 400); `format=csv`: every row of the period as a CSV download instead of a page (admins only).
 */
export const reportListQuery = z
  .object({
    days: reportQuery.shape.days,
    automationId: z.string().trim().min(1, 'automationId is empty').max(64, 'automationId is too long').optional(),
    source: z.literal('panel', { error: 'source can only be panel' }).optional(),
    limit: z.coerce.number().int('limit must be a whole number').min(1, 'limit must be 1 to 500').max(500, 'limit must be 1 to 500').default(50),
    cursor: z.string().max(200, 'cursor is not one this list gave out').optional(),
    format: z.enum(['json', 'csv'], { error: 'format must be json or csv' }).default('json'),
  })
  .refine((q) => !(q.automationId && q.source), { path: ['source'], message: 'give automationId or source, not both' });
/** What a client sends (numbers as numbers: the query string carries their text). */
export type ReportListQuery = Omit<z.input<typeof reportListQuery>, 'days' | 'limit'> & { days?: number; limit?: number };

/** How a reply reads: a keyword (opt_out, opt_in, help) or null, and whether it may be a request to stop. */
const replyTags = { keyword: z.enum(['opt_out', 'opt_in', 'help']).nullable(), possibleOptOut: z.boolean() };

/** Links into the company's own Pipedrive: `https://<company domain>.pipedrive.com`, null when the domain is not known. */
const pipedriveUrl = z.string().nullable();

export const reportMessageReplySchema = z.strictObject({ id: z.string(), body: z.string(), receivedAt: z.string(), ...replyTags });
export type ReportMessageReply = z.infer<typeof reportMessageReplySchema>;

export const reportMessageSchema = z.strictObject({
  id: z.string(),
  automationId: z.string().nullable(),
  /** The automation's name when the message was created (renamed or deleted since, perhaps); null for the panel's. */
  automationName: z.string().nullable(),
  source: z.enum(['automation', 'panel']),
  dealId: z.number().nullable(),
  /** The deal's title when the message was created. */
  dealTitle: z.string().nullable(),
  personId: z.number().nullable(),
  /** The person's name in Pipedrive when the message (or the message replied to) was sent; null when not known. */
  personName: z.string().nullable(),
  to: z.string().nullable(),
  body: z.string().nullable(),
  /** pending, sending, sent, delivered, undelivered, failed, skipped, cancelled. */
  status: z.string(),
  /** Why it was skipped or cancelled (a rule's code such as no_consent), or why it failed (an error code); else null. */
  reason: z.string().nullable(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
  /** When a message held by the recipient's quiet hours may go (status scheduled); else null. */
  notBefore: z.string().nullable(),
  /** Every reply to the message, oldest first. */
  replies: z.array(reportMessageReplySchema),
});
export type ReportMessage = z.infer<typeof reportMessageSchema>;

export const messagesPageSchema = z.strictObject({ messages: z.array(reportMessageSchema), nextCursor: z.string().nullable(), pipedriveUrl });
export type MessagesPage = z.infer<typeof messagesPageSchema>;

export const reportReplySchema = z.strictObject({
  id: z.string(),
  body: z.string(),
  receivedAt: z.string(),
  from: z.string(),
  dealId: z.number().nullable(),
  dealTitle: z.string().nullable(),
  personId: z.number().nullable(),
  /** The person's name in Pipedrive when the message (or the message replied to) was sent; null when not known. */
  personName: z.string().nullable(),
  /** The message it answers; null when the app found none for the number. */
  messageId: z.string().nullable(),
  automationId: z.string().nullable(),
  automationName: z.string().nullable(),
  ...replyTags,
});
export type ReportReply = z.infer<typeof reportReplySchema>;

export const repliesPageSchema = z.strictObject({ replies: z.array(reportReplySchema), nextCursor: z.string().nullable(), pipedriveUrl });
export type RepliesPage = z.infer<typeof repliesPageSchema>;
