import { describe, expect, it } from 'vitest';
import { layerOf } from '../../import-layers.js';
import { backEdges, importCycles, importGraph, importsOf, type Edge } from '../support/import-graph.js';

// Data flows one way (http -> domain -> ports -> db, with the kernel and messaging/ below them all), emulators are
// loaded by sandbox mode alone, and no module imports itself through others: the table is in import-layers.js.
const { files, edges } = importGraph(['server', 'db', 'emulators']);
const edge = (from: string, to: string, extra: Partial<Edge> = {}): Edge => ({ from, to, specifier: to, typeOnly: false, dynamic: false, ...extra });

describe('import direction', () => {
  it('places every file of server/, db/ and emulators/ in a layer', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files.filter((file) => layerOf(file) === null)).toEqual([]);
  });

  it('has no import against the layer table', () => {
    expect(backEdges(edges)).toEqual([]);
  });

  it('has no import cycle, type-only imports included', () => {
    expect(importCycles(edges)).toEqual([]);
  });

  it('lets server/ reach the emulators only through sandbox mode, loaded by import()', () => {
    const intoSandbox = edges.filter((e) => layerOf(e.to) === 'sandbox' && layerOf(e.from) !== 'sandbox');
    expect(intoSandbox.map((e) => `${e.from} ${e.dynamic ? 'import()' : 'import'}`)).toEqual(['server/main.ts import()']);
    const intoEmulators = edges.filter((e) => e.from.startsWith('server/') && layerOf(e.to) === 'emulators');
    expect(intoEmulators.filter((e) => layerOf(e.from) !== 'sandbox')).toEqual([]);
  });

  // The checks above must be able to fail: a back edge, a router importing a router, and a cycle are each found.
  it('reports a back edge, a route file imported by a route file, and a cycle', () => {
    expect(backEdges([edge('server/twilio/senders.ts', 'server/outbox/outbox-worker.ts')])).toEqual([
      'server/twilio/senders.ts (ports) imports server/outbox/outbox-worker.ts (domain)',
    ]);
    expect(backEdges([edge('server/messaging/gsm.ts', 'server/errors.ts')])).toHaveLength(1);
    expect(backEdges([edge('db/database.ts', 'server/logger.ts', { typeOnly: true })])).toHaveLength(1);
    expect(backEdges([edge('server/http/panel-routes.ts', 'server/context.ts')])).toHaveLength(1);
    expect(backEdges([edge('server/http/panel-routes.ts', 'server/context.ts', { typeOnly: true })])).toEqual([]);
    expect(backEdges([edge('server/main.ts', 'server/sandbox/sandbox-mode.ts')])).toHaveLength(1);
    expect(backEdges([edge('server/main.ts', 'server/sandbox/sandbox-mode.ts', { dynamic: true })])).toEqual([]);
    expect(backEdges([edge('server/http/a-routes.ts', 'server/http/b-routes.ts')])).toEqual([
      'server/http/a-routes.ts imports the route file server/http/b-routes.ts',
    ]);
    expect(importCycles([edge('a.ts', 'b.ts'), edge('b.ts', 'c.ts'), edge('c.ts', 'a.ts'), edge('c.ts', 'd.ts')])).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('reads imports with the compiler: type-only, re-exports and import()', () => {
    const source = [
      "import type { A } from './a.js';",
      "import { type B, type C } from './b.js';",
      "import { D, type E } from './d.js';",
      "export { F } from './f.js';",
      "const g = await import('./g.js');",
      "// import { H } from './h.js';",
    ].join('\n');
    expect(importsOf(source)).toEqual([
      { specifier: './a.js', typeOnly: true, dynamic: false },
      { specifier: './b.js', typeOnly: true, dynamic: false },
      { specifier: './d.js', typeOnly: false, dynamic: false },
      { specifier: './f.js', typeOnly: false, dynamic: false },
      { specifier: './g.js', typeOnly: false, dynamic: true },
    ]);
  });
});
