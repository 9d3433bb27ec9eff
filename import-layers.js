// Which folder may import which: data flows one way, http -> domain -> ports -> db, with the kernel (configuration,
// errors, logger, crypto), the pure shared modules (limits, id patterns) and the pure SMS policy (messaging/) below
// everything. The API's contracts (http/contracts/) sit beside http for the routes and the browser UI, which may
// import nothing else of server/ but messaging/. Read by eslint.config.js (so an editor shows a back edge as it is
// typed) and by test/unit/import-direction.test.ts (which also finds cycles).
// A path ending in / is a folder; the longest matching path decides a file's layer.

/** `packages`, when given, lists the only packages a layer's files may import (no Node built-ins either).
 * @type {Record<string, { paths: string[]; mayImport: string[]; mayImportTypes?: string[]; packages?: string[] }>} */
export const LAYERS = {
  // The composition roots: they wire everything together, so they may import anything (the sandbox only by import()).
  root: {
    paths: ['server/main.ts', 'server/server.ts', 'server/app.ts', 'server/context.ts'],
    mayImport: ['root', 'http', 'contracts', 'domain', 'ports', 'db', 'kernel', 'shared', 'messaging'],
  },
  // Sandbox mode's wiring: the one part of server/ that loads the emulators; main.ts loads it with import() alone.
  sandbox: {
    paths: ['server/sandbox/'],
    mayImport: ['sandbox', 'emulators', 'http', 'contracts', 'domain', 'ports', 'db', 'kernel', 'shared', 'messaging'],
    mayImportTypes: ['root'],
  },
  // The operator's commands (npm run reseal, npm run backup): each its own process, over the database and the kernel.
  tools: { paths: ['server/tools/'], mayImport: ['tools', 'db', 'kernel', 'shared'] },
  // Routers receive the context (its type only) and call the domain.
  http: {
    paths: ['server/http/'],
    mayImport: ['http', 'contracts', 'domain', 'ports', 'db', 'kernel', 'shared', 'messaging'],
    mayImportTypes: ['root'],
  },
  // The JSON shapes of the /api routes, bundled into the browser UI too: zod, the pure shared modules and messaging/.
  contracts: { paths: ['server/http/contracts/'], mayImport: ['contracts', 'shared', 'messaging'], packages: ['zod'] },
  domain: {
    paths: [
      'server/automations/', 'server/inbound/', 'server/outbox/', 'server/panel/', 'server/reports/', 'server/consent/',
      'server/jobs/', 'server/companies/',
    ],
    mayImport: ['domain', 'ports', 'db', 'kernel', 'shared', 'messaging'],
  },
  // Our ports in front of the vendors' SDKs and data (geo/: a phone number's time zones).
  ports: { paths: ['server/pipedrive/', 'server/twilio/', 'server/geo/'], mayImport: ['ports', 'db', 'kernel', 'shared', 'messaging'] },
  db: { paths: ['db/'], mayImport: ['db'] },
  // Imported by every layer, so it imports none of them but the shared modules.
  kernel: {
    paths: ['server/config.ts', 'server/errors.ts', 'server/logger.ts', 'server/metrics.ts', 'server/html.ts', 'server/timed-answers.ts', 'server/security/'],
    mayImport: ['kernel', 'shared'],
  },
  // Pure modules every layer and the browser UI use, kept in the folder they belong to: limits, id patterns and the
  // settings' field schemas. They import one another, the pure SMS policy (the sending window's check) and zod only
  // (twilio/patterns.ts holds the id shapes the configuration checks; the stored settings are read with the same field
  // schemas as the API's contract).
  shared: {
    paths: ['server/twilio/patterns.ts', 'server/companies/settings-limits.ts', 'server/companies/company-settings.ts'],
    mayImport: ['shared', 'messaging'],
    packages: ['zod'],
  },
  // The SMS policy is bundled into the browser UI as well: it imports nothing of ours.
  messaging: { paths: ['server/messaging/'], mayImport: ['messaging'] },
  // The browser UI: of server/ only the API's contracts and the SMS policy (and whatever those import).
  ui: { paths: ['extension-ui/'], mayImport: ['ui', 'contracts', 'messaging'] },
  // Stand-ins for Pipedrive and Twilio: they know nothing of the product they stand in front of.
  emulators: { paths: ['emulators/'], mayImport: ['emulators'] },
};

/** The layer of a path relative to the repository root (forward slashes), or null for files outside the table. */
export function layerOf(path) {
  let best = null;
  let bestLength = -1;
  for (const [name, layer] of Object.entries(LAYERS)) {
    for (const p of layer.paths) {
      const hit = p.endsWith('/') ? path.startsWith(p) : path === p;
      if (hit && p.length > bestLength) {
        best = name;
        bestLength = p.length;
      }
    }
  }
  return best;
}
