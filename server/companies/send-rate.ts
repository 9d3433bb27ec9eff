/**
 * The bounds of a company's own sending speed (messages per second on its own Twilio sender). Kept apart from the
 * zod schema so the settings page checks the same numbers without bundling the server's validation.
 * Below 0.1 a queue would barely move; above 100 is beyond what any Twilio sender type accepts.
 */
export const SEND_RATE_MIN = 0.1;
export const SEND_RATE_MAX = 100;
export const SEND_RATE_DEFAULT = 1;

/** A stored rate from before the bounds existed is brought inside them rather than refused. */
export function clampSendRate(rate: number): number {
  if (!Number.isFinite(rate)) return SEND_RATE_DEFAULT;
  return Math.min(SEND_RATE_MAX, Math.max(SEND_RATE_MIN, rate));
}
