/**
 * The company's SMS policy as pure functions: no I/O, clock or randomness, no Node built-ins, nothing
 * else of ours, so the server and the browser UI make the same decisions.
 *
 * - phone: pickPrimaryPhone, normalisePhone, resolveDefaultPhone (only the primary phone, normalised to E.164)
 * - gsm, segments: normaliseLookalikes, isGsm7, measureText (length in segments; `characters` = septets in GSM-7, UTF-16 units in
 *   UCS-2; empty text is 0 segments)
 * - shorteners: PUBLIC_SHORTENERS, findShortenerLinks (no public link shorteners); stop-clause:
 *   STOP_CLAUSE, ensureStopClause (every message says how to opt out)
 * - template: MERGE_FIELDS, renderTemplate, findUnknownFields
 * - compose: composeMessage (one recipient), validateTemplate (save time), previewTemplate (the settings page's live preview)
 * - keywords: classifyInbound, providerHandlesKeyword, OPT_OUT_CONFIRMATION, defaultHelpText (opt-out, opt-in and
 *   HELP keywords, and which replies Twilio sends itself)
 * - eligibility: checkEligibility (consent granted, not on the opt-out list, a usable primary phone)
 * - sending-window: checkSendingWindow (quiet hours in all the recipient's time zones, the Florida and Oklahoma
 *   limit, and when a held message becomes due), validateSendingWindow, describeSendingWindow (a zone's local time and
 *   what the window means there now)
 * - business-days: reviewDueBy (a possible opt-out is due 10 business days, Monday to Friday, after it arrived, in the
 *   company's time zone), REVIEW_BUSINESS_DAYS
 */
export * from './phone.js';
export * from './gsm.js';
export * from './segments.js';
export * from './shorteners.js';
export * from './stop-clause.js';
export * from './template.js';
export * from './compose.js';
export * from './keywords.js';
export * from './eligibility.js';
export * from './sending-window.js';
export * from './business-days.js';
