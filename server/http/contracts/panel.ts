import { z } from 'zod';
import { MAX_BODY_CHARACTERS } from './limits.js';

// The deal panel (/api/panel/deals/:dealId).

/** `limit`: how many messages, newest first, 1 to 1000 (a number outside is brought to the nearer bound); 200 when absent, 0 or not a number. */
export const panelQuery = z.object({
  limit: z
    .unknown()
    .optional()
    .transform((value) => Math.min(1000, Math.max(1, Number(value) || 200))),
});

const outboundMessage = z.strictObject({
  id: z.string(),
  direction: z.literal('outbound'),
  body: z.string().nullable(),
  status: z.string(),
  at: z.string(),
  automation: z.string().nullable(),
  error: z.string().nullable(),
  errorCode: z.string().nullable(),
  /** The skip reason's code (no_consent, frequency_cap, stage_changed, opt_out_review …), or null. */
  reason: z.string().nullable(),
  /** When a message waiting for the contact's sending window (status `scheduled`) may go; else null. */
  notBefore: z.string().nullable(),
});
const inboundMessage = z.strictObject({
  id: z.string(),
  direction: z.literal('inbound'),
  body: z.string(),
  at: z.string(),
  keyword: z.string().nullable(),
  possibleOptOut: z.boolean(),
});
export const panelMessageSchema = z.discriminatedUnion('direction', [outboundMessage, inboundMessage]);
export type PanelMessage = z.infer<typeof panelMessageSchema>;

/** GET /api/panel/deals/:dealId: the deal, its person, consent, the conversation newest first, and the send box. */
export const panelViewSchema = z.strictObject({
  deal: z.strictObject({ id: z.number(), title: z.string() }),
  person: z.strictObject({ id: z.number(), name: z.string(), phone: z.string().nullable(), e164: z.string().nullable() }).nullable(),
  consent: z.enum(['granted', 'opted_out', 'none']),
  /** How consent changed, newest first. */
  consentHistory: z.array(
    z.strictObject({ action: z.enum(['opt_out', 'opt_in']), source: z.string(), at: z.string(), message: z.string().nullable() }),
  ),
  /** Whether the send box may be used, and why not. */
  canSend: z.union([z.strictObject({ ok: z.literal(true) }), z.strictObject({ ok: z.literal(false), reason: z.string(), message: z.string() })]),
  maxSegments: z.number(),
  /** The company's sending window, the contact's time zones (from the number, [] when unknown) and the company's zone. */
  sendingWindow: z.strictObject({
    quietHours: z.strictObject({ start: z.string(), end: z.string() }).nullable(),
    zones: z.array(z.string()),
    companyZone: z.string().nullable(),
  }),
  messages: z.array(panelMessageSchema),
  /** True when older messages exist beyond `messages`. */
  more: z.boolean(),
  /** The contact's possible opt-out waiting for a person's decision (due by the end of the 10th business day), or null. */
  review: z.strictObject({ id: z.string(), body: z.string(), receivedAt: z.string(), dueBy: z.string() }).nullable(),
});
export type PanelView = z.infer<typeof panelViewSchema>;

/** POST /api/panel/deals/:dealId/messages. */
export const panelSendBody = z.object({ body: z.string().trim().min(1, 'the message is empty').max(MAX_BODY_CHARACTERS) });
export type PanelSendInput = z.input<typeof panelSendBody>;

/** 202: the message is queued, as it will be sent. */
export const panelSentSchema = z.strictObject({
  ok: z.literal(true),
  id: z.string(),
  body: z.string(),
  segments: z.number(),
  encoding: z.enum(['GSM-7', 'UCS-2']),
});
export type PanelSent = z.infer<typeof panelSentSchema>;
