import { describe, expect, it } from 'vitest';
import { readSource, sourceFiles as sources, writesTable } from '../support/source-files.js';

// An outbound message changes state in one place only, so its life can be read in one file: any other file that
// inserts, updates or deletes outbound_messages rows is a second owner.
const OWNER = 'server/outbox/outbox-store.ts';
// The claim SQL the store calls (engine-specific, kept beside the jobs claim it shares).
const CALLED_BY_OWNER = new Set(['db/queue-queries.ts']);

describe('the outbound message store', () => {
  const files = [...sources('server'), ...sources('db')];

  it('finds the sources it checks', () => {
    expect(files).toContain(OWNER);
    expect(files.length).toBeGreaterThan(50);
  });

  it('is the only writer of outbound_messages', () => {
    const writers = files.filter((path) => writesTable(readSource(path), 'outbound_messages'));
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
    const importers = files.filter((path) => /from\s+['"][./]*inbound\//.test(readSource(path)));
    expect(importers).toEqual([]);
  });
});
