/** The reports' wire shapes: no imports, so the settings page's bundle can share them. */

/** What became of the messages created in a period, for one automation (or the deal panel's send box). */
export type ReportCounters = {
  /** Messages created in the period. */
  total: number;
  /** Not settled yet: queued, claimed, or being sent. */
  pending: number;
  /** Accepted by Twilio (whatever the handset later reported). */
  sent: number;
  /** Twilio reported them delivered to the handset. */
  delivered: number;
  /** Refused by Twilio when sent, or reported undelivered / failed afterwards. */
  failed: number;
  /** Not sent because a messaging rule forbade it (no consent, too long, frequency cap…), including queued messages cancelled by an opt-out. */
  skipped: number;
  skippedByReason: Record<string, number>;
  /** Messages answered with at least one reply that is not a keyword (STOP, START, HELP …). */
  replied: number;
  /** Messages whose recipient opted out in reply (a STOP-type keyword) or that Twilio refused with 21610. */
  optedOut: number;
};

export type ReportRow = ReportCounters & {
  automationId: string | null;
  name: string;
  source: 'automation' | 'panel';
  /** False for an automation deleted since; its messages still count. */
  exists: boolean;
};

export type Report = { since: string; until: string; rows: ReportRow[]; totals: ReportCounters };
