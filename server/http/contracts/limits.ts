// The limits and id patterns the settings page checks before a round trip, exported once. This file imports no
// validation library, so the page bundles the numbers and patterns alone; each lives in the lowest layer that needs it.

export * from '../../companies/settings-limits.js';
export * from '../../twilio/patterns.js';
/** A template, and a message typed in the panel, are at most what Twilio accepts as one body (1,600 characters). */
export { MAX_BODY_CHARACTERS } from '../../messaging/compose.js';

/** The longest automation name. */
export const AUTOMATION_NAME_MAX_LENGTH = 120;
