import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// An outbound message changes state in one place only, so its life can be read in one file: any other file that
// inserts, updates or deletes outbound_messages rows is a second owner.
const root = fileURLToPath(new URL('../../', import.meta.url));
const OWNER = 'server/outbox/outbox-store.ts';
// The claim SQL the store calls (engine-specific, kept beside the jobs claim it shares).
const CALLED_BY_OWNER = new Set(['db/queue-queries.ts']);

function sources(dir: string): string[] {
  return readdirSync(`${root}${dir}`).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (statSync(`${root}${path}`).isDirectory()) return path === 'db/migrations' ? [] : sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

const WRITES = [
  /\.(?:updateTable|insertInto|deleteFrom|replaceInto|mergeInto)\(\s*['"]outbound_messages['"]/,
  /\b(?:UPDATE|INSERT\s+(?:OR\s+\w+\s+)?INTO|DELETE\s+FROM|REPLACE\s+INTO)\s+outbound_messages\b/i,
];

describe('the outbound message store', () => {
  const files = [...sources('server'), ...sources('db')];

  it('finds the sources it checks', () => {
    expect(files).toContain(OWNER);
    expect(files.length).toBeGreaterThan(50);
  });

  it('is the only writer of outbound_messages', () => {
    const writers = files.filter((path) => {
      const source = readFileSync(`${root}${path}`, 'utf8');
      return WRITES.some((pattern) => pattern.test(source));
    });
    expect(writers.filter((path) => path !== OWNER && !CALLED_BY_OWNER.has(path))).toEqual([]);
    expect(writers).toContain(OWNER);
  });
});

// The worker runs jobs of every kind without knowing them: a kind's handler is registered at the composition root,
// so neither the outbox nor the job queue imports the modules whose jobs they run (inbound/ for the reply job).
describe('the outbox and the job queue', () => {
  const files = [...sources('server/outbox'), ...sources('server/jobs')];

  it.each(['server/outbox', 'server/jobs'])('finds the sources of %s', (dir) => {
    expect(files.some((path) => path.startsWith(`${dir}/`))).toBe(true);
  });

  it('import nothing from inbound/', () => {
    const importers = files.filter((path) => /from\s+['"][./]*inbound\//.test(readFileSync(`${root}${path}`, 'utf8')));
    expect(importers).toEqual([]);
  });
});
