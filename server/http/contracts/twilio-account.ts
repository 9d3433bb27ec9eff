import { z } from 'zod';
import { ACCOUNT_SID, AUTH_TOKEN, E164_NUMBER, MESSAGING_SERVICE_SID } from './limits.js';

// The company's own Twilio account (/api/settings/twilio), also shown inside the settings view.

/** PUT /api/settings/twilio: the account, and exactly one of a number and a Messaging Service. */
export const twilioConnectBody = z
  .object({
    accountSid: z.string().trim().regex(ACCOUNT_SID, 'must be AC followed by 32 hexadecimal characters'),
    authToken: z.string().trim().regex(AUTH_TOKEN, 'must be 32 hexadecimal characters'),
    fromNumber: z.string().trim().regex(E164_NUMBER, 'must be a phone number in E.164 form, such as +14155552671').optional(),
    messagingServiceSid: z.string().trim().regex(MESSAGING_SERVICE_SID, 'must be MG followed by 32 hexadecimal characters').optional(),
    /** Point the number's "a message comes in" webhook at this app, replacing what it was. */
    pointRepliesHere: z.boolean().default(false),
  })
  .strict()
  .refine((b) => (b.fromNumber === undefined) !== (b.messagingServiceSid === undefined), {
    message: 'give exactly one of fromNumber and messagingServiceSid',
    path: ['fromNumber'],
  });
export type TwilioConnectInput = z.input<typeof twilioConnectBody>;

/**
 * Which Twilio sender texts for the company: its own account (`own`), the app's shared one (`default`), or none.
 * The auth token is never sent back, and the app's own account id is not shown to companies (null unless `own`).
 * GET and DELETE /api/settings/twilio answer it.
 */
export const twilioViewSchema = z.strictObject({
  mode: z.enum(['own', 'default', 'none']),
  accountSid: z.string().nullable(),
  fromNumber: z.string().nullable(),
  messagingServiceSid: z.string().nullable(),
  verifiedAt: z.string().nullable(),
  /** The URL a sender's incoming-message webhook must have for replies to reach the app. */
  inboundUrl: z.string(),
  defaultAvailable: z.boolean(),
});
export type TwilioView = z.infer<typeof twilioViewSchema>;

/** Where the connected sender's incoming messages go; replies reach the app only when `pointsHere`. */
export const twilioRepliesSchema = z.strictObject({ currentUrl: z.string().nullable(), pointsHere: z.boolean(), canPointHere: z.boolean() });
export type TwilioReplies = z.infer<typeof twilioRepliesSchema>;

/** PUT /api/settings/twilio answers the view and where replies go. */
export const twilioConnectedSchema = twilioViewSchema.extend({ replies: twilioRepliesSchema });
export type TwilioConnected = z.infer<typeof twilioConnectedSchema>;

/** `error.details.reason` of a PUT that Twilio refused (400). */
export const twilioRefusalSchema = z.object({ reason: z.enum(['credentials_refused', 'account_inactive', 'sender_not_found']) });
export type TwilioRefusalReason = z.infer<typeof twilioRefusalSchema>['reason'];
