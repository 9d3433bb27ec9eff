// The shapes of Twilio's identifiers. This module imports nothing, so the configuration, the routes, the adapter and
// the settings page can all check an id the same way without importing one another.

/** A Twilio Account SID: AC and 32 hexadecimal characters. */
export const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;

/** A Twilio Messaging Service SID: MG and 32 hexadecimal characters. */
export const MESSAGING_SERVICE_SID = /^MG[0-9a-fA-F]{32}$/;

/** A Twilio Auth Token: 32 hexadecimal characters. */
export const AUTH_TOKEN = /^[0-9a-f]{32}$/i;

/** A sender's phone number as Twilio writes it: E.164, a + and 7 to 15 digits, the first not 0. */
export const E164_NUMBER = /^\+[1-9]\d{6,14}$/;
