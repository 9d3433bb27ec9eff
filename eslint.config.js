import js from '@eslint/js';
import regexp from 'eslint-plugin-regexp';
import tseslint from 'typescript-eslint';
import { LAYERS } from './import-layers.js';

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// The server names a module `x.js`; the UI, bundled by Vite, names it `x`.
const JS_SUFFIX = '(?:\\.js)?$';

/**
 * The specifiers of a layer's files that reach into `target`. Specifiers are relative, so a path is matched by its
 * tail: inside server/ a folder is named without `server/` (`../http/x.js`), from outside it with it.
 */
function reaching(fromServer, target, allowed) {
  return LAYERS[target].paths.map((path) => {
    const inServer = path.startsWith('server/');
    const tail = escape(fromServer && inServer ? path.slice('server/'.length) : path).replace(/\\.ts$/, JS_SUFFIX);
    const prefix = fromServer && inServer ? '(?:server/)?' : '';
    // A more specific path inside this one that belongs to an allowed layer stays importable (twilio/patterns.ts).
    const kept = Object.entries(LAYERS)
      .filter(([name]) => allowed.includes(name))
      .flatMap(([, layer]) => layer.paths.filter((p) => p !== path && p.startsWith(path)).map((p) => escape(p.slice(path.length)).replace(/\\.ts$/, JS_SUFFIX)));
    return `^(?:\\.\\.?/)+${prefix}${tail}${kept.length > 0 ? `(?!${kept.join('|')})` : ''}`;
  });
}

/** One no-restricted-imports block per layer: importing a layer it may not import is an error where it is typed. */
const layerRules = Object.entries(LAYERS)
  .filter(([name]) => name !== 'messaging')
  .map(([name, layer]) => {
    const fromServer = layer.paths.every((p) => p.startsWith('server/'));
    const patterns = Object.keys(LAYERS)
      .filter((target) => !layer.mayImport.includes(target))
      .flatMap((target) =>
        reaching(fromServer, target, layer.mayImport).map((regex) => ({
          regex,
          allowTypeImports: (layer.mayImportTypes ?? []).includes(target),
          message: `${name} may not import ${target}: data flows http -> domain -> ports -> db (see import-layers.js).`,
        })),
      );
    if (name === 'http') patterns.push({ regex: '-routes\\.js$', message: 'A router is mounted by app.ts, never imported by another router.' });
    // contracts/ sits inside http/: a module one folder up is an http module.
    if (name === 'contracts') patterns.push({ regex: '^\\.\\./(?!\\.\\./)', message: 'contracts may not import http: the routes import the contracts.' });
    // The pages take the contracts' types (import type) and their limits: a schema would bring zod into the bundle.
    if (name === 'ui') {
      patterns.push({
        regex: `server/http/contracts/(?!limits${JS_SUFFIX})`,
        allowTypeImports: true,
        message: 'The UI imports the contracts as types only (its values come from contracts/limits), so no schema is bundled.',
      });
    }
    if (layer.packages) {
      const allowed = layer.packages.map(escape).join('|');
      patterns.push({ regex: `^(?!\\.|(?:${allowed})$)`, message: `${name} is bundled into the browser too: it may import only ${layer.packages.join(', ')} and our modules of its layers.` });
    }
    return {
      files: layer.paths.map((p) => (p.endsWith('/') ? `${p}**` : p)),
      rules: { 'no-restricted-imports': ['error', { patterns }] },
    };
  });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  regexp.configs['flat/recommended'],
  {
    rules: {
      // One pattern that backtracks on hostile text freezes the event loop every company shares (and the
      // browser's live counter): patterns must run in linear time, including when retried from each position.
      'regexp/no-super-linear-backtracking': 'error',
      'regexp/no-super-linear-move': ['error', { ignorePartial: false, ignoreSticky: false }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...layerRules,
  {
    files: ['server/messaging/**'],
    rules: {
      // The policy module is shared with the browser and must stay pure (see its index comment).
      'no-restricted-imports': ['error', { patterns: ['node:*', '../*'] }],
    },
  },
);
