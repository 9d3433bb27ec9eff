import { describe, expect, it } from 'vitest';
import { readSource, sourceFiles, writesTable } from '../support/source-files.js';

// Every way of opting out or in (a keyword, Twilio's 21610, a review, an import, an admin's hand entry) goes through the
// consent service, so that each has every effect: the history row, queued texts cancelled, the Pipedrive write. A file
// that appends to the history another way is a second path that forgets some of them.
const SERVICE = 'server/consent/consent-service.ts';
// The raw append the service calls (tests also set a history up with it), and the erasure of a contact's words.
const LIST = 'server/consent/opt-out-list.ts';
// The sandbox's "Reset the demo" (mounted in sandbox mode only) forgets the demo's history along with its texts: not a way
// of opting out or in, and never part of a deployment.
const SANDBOX_RESET = 'server/sandbox/demo-reset.ts';

describe('the consent history', () => {
  const files = [...sourceFiles('server'), ...sourceFiles('db')];

  it('finds the sources it checks', () => {
    expect(files).toContain(SERVICE);
    expect(files.length).toBeGreaterThan(50);
  });

  it('is written by the opt-out list alone (and emptied by the sandbox reset), and appended to by the consent service alone', () => {
    expect(files.filter((path) => writesTable(readSource(path), 'consent_events')).sort()).toEqual([LIST, SANDBOX_RESET]);
    expect(files.filter((path) => /\boptOuts\.record\(/.test(readSource(path)))).toEqual([SERVICE]);
  });
});
