import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import ts from 'typescript';
import { LAYERS, layerOf } from '../../import-layers.js';

export const ROOT = join(dirname(new URL(import.meta.url).pathname), '../..');

/** One import of a file: what it names, and whether it brings in types only or loads the module later by import(). */
export type ImportRef = { specifier: string; typeOnly: boolean; dynamic: boolean };
/** An import between two files of ours, as paths relative to the repository root. */
export type Edge = ImportRef & { from: string; to: string };

/** Every import, export-from and import() of a TypeScript source, read by the compiler's parser (not a regex). */
export function importsOf(source: string, fileName = 'file.ts'): ImportRef[] {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, false, fileName.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const found: ImportRef[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
      const typeOnly = !!clause && (clause.isTypeOnly || (!clause.name && !!named && named.length > 0 && named.every((e) => e.isTypeOnly)));
      found.push({ specifier: node.moduleSpecifier.text, typeOnly, dynamic: false });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly, dynamic: false });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      found.push({ specifier: node.moduleReference.expression.text, typeOnly: node.isTypeOnly, dynamic: false });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      found.push({ specifier: arg && ts.isStringLiteralLike(arg) ? arg.text : '<computed>', typeOnly: false, dynamic: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function sourcesUnder(dir: string, out: string[] = []): string[] {
  if (!existsSync(join(ROOT, dir))) return out;
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = posix.join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) sourcesUnder(path, out);
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The file a relative specifier names (`./x.js` is written for `./x.ts`), or null for a package. */
function resolveSpecifier(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const base = posix.normalize(posix.join(posix.dirname(from), specifier));
  for (const candidate of [base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), base, `${base}/index.ts`]) {
    if (existsSync(join(ROOT, candidate)) && statSync(join(ROOT, candidate)).isFile()) return candidate;
  }
  return base;
}

/** The import graph of the given folders: every edge between two files of ours. */
export function importGraph(dirs: string[]): { files: string[]; edges: Edge[] } {
  const files = dirs.flatMap((dir) => sourcesUnder(dir)).sort();
  const edges: Edge[] = [];
  for (const from of files) {
    for (const ref of importsOf(readFileSync(join(ROOT, from), 'utf8'), from)) {
      const to = resolveSpecifier(from, ref.specifier);
      if (to) edges.push({ ...ref, from, to: relative(ROOT, join(ROOT, to)).split('\\').join('/') });
    }
  }
  return { files, edges };
}

/** The edges that go against the layer table, each described in a sentence. */
export function backEdges(edges: Edge[]): string[] {
  const problems: string[] = [];
  for (const edge of edges) {
    const from = layerOf(edge.from);
    const to = layerOf(edge.to);
    if (!from || !to) continue;
    const layer = LAYERS[from]!;
    const allowed =
      layer.mayImport.includes(to) ||
      (edge.typeOnly && (layer.mayImportTypes ?? []).includes(to)) ||
      // Production never loads an emulator: main.ts reaches sandbox mode through import() alone.
      (edge.dynamic && from === 'root' && to === 'sandbox');
    if (!allowed) problems.push(`${edge.from} (${from}) imports ${edge.to} (${to})${edge.typeOnly ? ' (types)' : ''}`);
    // A router is mounted by the app, never imported by another router.
    if (/-routes\.ts$/.test(edge.to) && from !== 'root') problems.push(`${edge.from} imports the route file ${edge.to}`);
  }
  return problems;
}

/** The import cycles (strongly connected components of more than one file, or a file importing itself), by Tarjan. */
export function importCycles(edges: Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) next.set(from, [...(next.get(from) ?? []), to]);
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (next.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) connect(v);
  return cycles;
}
