// The shapes of Twilio's identifiers. This module imports nothing, so the configuration, the routes and the adapter
// can all check an id the same way without importing one another.

/** A Twilio Account SID: AC and 32 hexadecimal characters. */
export const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;

/** A Twilio Messaging Service SID: MG and 32 hexadecimal characters. */
export const MESSAGING_SERVICE_SID = /^MG[0-9a-fA-F]{32}$/;
