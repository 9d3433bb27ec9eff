import { z } from 'zod';

// Possible opt-out requests waiting for a person's decision: GET /api/consent/reviews and POST /api/consent/reviews/:id.

/** The most reviews one list answers. */
export const MAX_REVIEWS_PER_LIST = 200;

/** `state`: the pending ones (oldest due first, the default) or the decided ones (newest decision first); `limit` 1 to 200 (default 100). */
export const reviewListQuery = z.object({
  state: z.enum(['pending', 'decided'], { error: 'state must be pending or decided' }).default('pending'),
  limit: z.coerce
    .number()
    .int('limit must be a whole number')
    .min(1, `limit must be 1 to ${MAX_REVIEWS_PER_LIST}`)
    .max(MAX_REVIEWS_PER_LIST, `limit must be 1 to ${MAX_REVIEWS_PER_LIST}`)
    .default(100),
});
export type ReviewListQuery = Omit<z.input<typeof reviewListQuery>, 'limit'> & { limit?: number };

/** The decision on a possible opt-out: opt the number out, or record that it was not a request to stop. */
export const reviewDecisionBody = z.object({
  decision: z.enum(['opt_out', 'not_opt_out'], { error: 'decision must be opt_out or not_opt_out' }),
});
export type ReviewDecisionInput = z.input<typeof reviewDecisionBody>;

export const reviewSchema = z.strictObject({
  id: z.string(),
  /** The contact's number, E.164. */
  phone: z.string(),
  /** The reply that may be a request to stop. */
  body: z.string(),
  receivedAt: z.string(),
  /** The end of the 10th business day after it arrived, in the company's time zone. */
  dueBy: z.string(),
  dealId: z.number().nullable(),
  personId: z.number().nullable(),
  state: z.enum(['pending', 'decided']),
  decision: z.enum(['opt_out', 'not_opt_out']).nullable(),
  /** The Pipedrive user who decided. */
  decidedBy: z.number().nullable(),
  decidedAt: z.string().nullable(),
});
export type Review = z.infer<typeof reviewSchema>;

export const reviewListSchema = z.strictObject({ reviews: z.array(reviewSchema) });
export type ReviewList = z.infer<typeof reviewListSchema>;
