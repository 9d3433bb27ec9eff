// The JSON shapes of every /api route, in one place: the routes validate their input with these schemas and type
// their answers with them; the settings page and the panel take their types from them (type-only imports, so the
// browser bundle carries no schema) and their limits from limits.ts. These files import zod, each other, the pure
// limits and messaging/ only, never the database, the logger or Node built-ins.

export * from './common.js';
export * from './limits.js';
export * from './automations.js';
export * from './settings.js';
export * from './twilio-account.js';
export * from './panel.js';
export * from './reports.js';
export * from './report-lists.js';
export * from './contacts.js';
export * from './reviews.js';
export * from './opt-outs.js';
