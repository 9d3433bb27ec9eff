/**
 * The bounds of a company's settings. This module imports nothing, so the stored settings, the API's contract and
 * the settings page all check the same numbers (the page without bundling any validation library).
 */

/** A message may take 1 to 10 segments: 10 GSM-7 segments are about Twilio's 1,600-character limit of a body. */
export const MAX_SEGMENTS_MIN = 1;
export const MAX_SEGMENTS_MAX = 10;

/** The HELP answer is one text: two GSM-7 segments at most. */
export const HELP_TEXT_MAX_LENGTH = 320;

/**
 * The bounds of a company's own sending speed (messages per second on its own Twilio sender).
 * Below 0.1 a queue would barely move; above 100 is beyond what any Twilio sender type accepts.
 */
export const SEND_RATE_MIN = 0.1;
export const SEND_RATE_MAX = 100;
export const SEND_RATE_DEFAULT = 1;

/**
 * How long messages and replies are kept when a company sets a retention (null keeps them): at least a month, so the
 * panel and the reports still show recent conversations, at most ten years.
 */
export const RETENTION_DAYS_MIN = 30;
export const RETENTION_DAYS_MAX = 3650;

/**
 * Automation messages to one number per rolling 24 hours (0 = no cap). Twenty is already more than any follow-up
 * sequence needs; above it a cap would protect nobody.
 */
export const FREQUENCY_CAP_MIN = 0;
export const FREQUENCY_CAP_MAX = 20;
export const FREQUENCY_CAP_DEFAULT = 3;

/** A stored rate from before the bounds existed is brought inside them rather than refused. */
export function clampSendRate(rate: number): number {
  if (!Number.isFinite(rate)) return SEND_RATE_DEFAULT;
  return Math.min(SEND_RATE_MAX, Math.max(SEND_RATE_MIN, rate));
}
