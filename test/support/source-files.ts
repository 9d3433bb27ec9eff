import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root, for tests that read the sources themselves. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Every .ts file under `dir` (relative to the root, forward slashes), migrations left out: they are frozen in time. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(`${ROOT}${dir}`).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (statSync(`${ROOT}${path}`).isDirectory()) return path === 'db/migrations' ? [] : sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

export const readSource = (path: string): string => readFileSync(`${ROOT}${path}`, 'utf8');

/** True when the source inserts, updates or deletes rows of `table`, through Kysely or in plain SQL. */
export function writesTable(source: string, table: string): boolean {
  const builder = new RegExp(`\\.(?:updateTable|insertInto|deleteFrom|replaceInto|mergeInto)\\(\\s*['"]${table}['"]`);
  const plain = new RegExp(`\\b(?:UPDATE|INSERT\\s+(?:OR\\s+\\w+\\s+)?INTO|DELETE\\s+FROM|REPLACE\\s+INTO)\\s+${table}\\b`, 'i');
  return builder.test(source) || plain.test(source);
}
