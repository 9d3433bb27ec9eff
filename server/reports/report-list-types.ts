/** The report lists' rows as the domain builds them; the routes check them against the contract's shapes. */

/** How a reply reads: a keyword (STOP-type, START-type, HELP-type) or none, and whether it may mean "stop". */
export type ReplyTags = { keyword: 'opt_out' | 'opt_in' | 'help' | null; possibleOptOut: boolean };

export type ReportMessageReply = ReplyTags & { id: string; body: string; receivedAt: string };

export type ReportMessage = {
  id: string;
  automationId: string | null;
  /** The automation's name when the message was created (it may have been renamed or deleted since). */
  automationName: string | null;
  source: 'automation' | 'panel';
  dealId: number | null;
  /** The deal's title when the message was created (the app keeps no other copy of Pipedrive's names). */
  dealTitle: string | null;
  personId: number | null;
  /** The person's name in Pipedrive when the message (or the message replied to) was sent; null when not known. */
  personName: string | null;
  to: string | null;
  body: string | null;
  /** pending, sending, sent, delivered, undelivered, failed, skipped, cancelled (Twilio's word once it has the message). */
  status: string;
  /** Why it was skipped or cancelled (a rule's code), or why it failed (Twilio's error code, or ours); else null. */
  reason: string | null;
  createdAt: string;
  sentAt: string | null;
  /** When a message held by the recipient's quiet hours may go (status scheduled); else null. */
  notBefore: string | null;
  /** Every reply to this message, oldest first. */
  replies: ReportMessageReply[];
};

export type ReportReply = ReplyTags & {
  id: string;
  body: string;
  receivedAt: string;
  from: string;
  dealId: number | null;
  dealTitle: string | null;
  personId: number | null;
  /** The person's name in Pipedrive when the message (or the message replied to) was sent; null when not known. */
  personName: string | null;
  /** The message it answers (null when no message of the app was found for the number). */
  messageId: string | null;
  automationId: string | null;
  automationName: string | null;
};
