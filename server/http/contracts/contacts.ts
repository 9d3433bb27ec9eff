import { z } from 'zod';

// Erasing one contact on request (DELETE /api/contacts/:phone, the number in any form a person's phone is read in).

/** What was deleted of the contact: their messages, their replies and their possible opt-out reviews. */
export const contactErasedSchema = z.strictObject({
  erased: z.strictObject({
    messages: z.number().int().nonnegative(),
    replies: z.number().int().nonnegative(),
    reviews: z.number().int().nonnegative(),
  }),
});
export type ContactErasedAnswer = z.infer<typeof contactErasedSchema>;
