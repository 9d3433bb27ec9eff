// The limits and id patterns the settings page checks before a round trip, exported once. This file imports no
// validation library, so the page bundles the numbers and patterns alone; each lives in the lowest layer that needs it.

export * from '../../companies/settings-limits.js';
export * from '../../twilio/patterns.js';
/** A template, and a message typed in the panel, are at most what Twilio accepts as one body (1,600 characters). */
export { MAX_BODY_CHARACTERS } from '../../messaging/compose.js';

/** The longest automation name. */
export const AUTOMATION_NAME_MAX_LENGTH = 120;

/** The opt-out list: entries one answer shows (newest first; a search or the CSV reaches the rest). */
export const OPT_OUT_LIST_LIMIT = 500;
/** The most numbers one import (CSV rows or JSON `phones`) may hold, and the largest CSV body it may send. */
export const OPT_OUT_IMPORT_MAX_ROWS = 10_000;
export const OPT_OUT_IMPORT_MAX_BYTES = 2_000_000;
/** The reason an admin gives for adding a number. */
export const OPT_OUT_REASON_MAX_LENGTH = 500;
