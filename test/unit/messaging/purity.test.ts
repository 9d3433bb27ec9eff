import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importsOf } from '../../support/import-graph.js';

// messaging/ is bundled into the browser UI and must decide the same way everywhere: no I/O, clock, randomness,
// Node built-ins or other modules of ours. The import-direction test holds the same rule for every folder; this one
// also names the only package allowed and forbids the clock and randomness.
const dir = fileURLToPath(new URL('../../../server/messaging/', import.meta.url));
const files = readdirSync(dir).filter((name) => name.endsWith('.ts'));
const ALLOWED_PACKAGES = new Set(['libphonenumber-js/max']);

describe('server/messaging purity', () => {
  it('has the expected files', () => {
    expect(files.sort()).toEqual([
      'business-days.ts', 'compose.ts', 'eligibility.ts', 'gsm.ts', 'index.ts', 'keywords.ts', 'phone.ts', 'segments.ts',
      'sending-window.ts', 'shorteners.ts', 'stop-clause.ts', 'template.ts',
    ]);
  });

  it.each(files)('%s imports only siblings and allowed packages', (name) => {
    const source = readFileSync(`${dir}${name}`, 'utf8');
    const imports = importsOf(source, name);
    expect(imports.filter((i) => i.dynamic), `${name} loads a module with import()`).toEqual([]);
    for (const { specifier } of imports) {
      const sibling = /^\.\/[a-z0-9-]+\.js$/.test(specifier);
      expect(sibling || ALLOWED_PACKAGES.has(specifier), `${name} imports ${specifier}`).toBe(true);
    }
    expect(source).not.toMatch(/\brequire\(|import\(|\bnode:/);
  });

  it.each(files)('%s uses no clock, randomness, environment or network', (name) => {
    const source = readFileSync(`${dir}${name}`, 'utf8');
    expect(source).not.toMatch(/\bDate\b|Math\.random|crypto\.|performance\.|\bprocess\.|\bfetch\(|XMLHttpRequest|localStorage|setTimeout|setInterval/);
  });
});
