/**
 * The company's SMS policy (SPEC §2) as pure functions: no I/O, clock or randomness, no Node built-ins, nothing
 * else of ours, so the server and the browser UI make the same decisions.
 *
 * - phone: pickPrimaryPhone, normalisePhone, resolveDefaultPhone (R2, R3)
 * - gsm, segments: normaliseLookalikes, isGsm7, measureText (R4; `characters` = septets in GSM-7, UTF-16 units in
 *   UCS-2; empty text is 0 segments)
 * - shorteners: PUBLIC_SHORTENERS, findShortenerLinks (R5); stop-clause: STOP_CLAUSE, ensureStopClause (R6)
 * - template: MERGE_FIELDS, renderTemplate, findUnknownFields
 * - compose: composeMessage (one recipient), validateTemplate (save time), previewTemplate (SPEC §3 preview)
 * - keywords: classifyInbound, providerHandlesKeyword, OPT_OUT_CONFIRMATION, defaultHelpText (R7–R10)
 * - eligibility: checkEligibility (R1 + R2 + R3)
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
