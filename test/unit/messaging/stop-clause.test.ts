import { describe, expect, it } from 'vitest';
import { ensureStopClause, hasStopWord, STOP_CLAUSE } from '../../../server/messaging/index.js';

describe('hasStopWord', () => {
  it.each<[string, boolean]>([
    ['Reply STOP to opt out', true],
    ['reply stop to end', true],
    ['Text Stop.', true],
    ['(STOP)', true],
    ['stop', true],
    ['STOP,', true],
    ['Reply\nSTOP', true],
    ['STOPALL', false],
    ['stopwatch', false],
    ['nonstop', false],
    ['non-stop service', false],
    ['stop-gap', false],
    ['bus_stop', false],
    ['STOP2', false],
    ['Hi Ann', false],
    ['', false],
  ])('%j -> %s', (text, expected) => {
    expect(hasStopWord(text)).toBe(expected);
  });
});

describe('ensureStopClause: every message says how to opt out', () => {
  it.each<[string, string]>([
    ['Hi Ann', `Hi Ann\n${STOP_CLAUSE}`],
    ['Hi Ann\n', `Hi Ann\n${STOP_CLAUSE}`],
    ['Hi Ann  ', `Hi Ann\n${STOP_CLAUSE}`],
    ['Hi Ann. Text STOP to end.', 'Hi Ann. Text STOP to end.'],
    ['Hi Ann. Reply stop to opt out', 'Hi Ann. Reply stop to opt out'],
    ['Our non-stop sale', `Our non-stop sale\n${STOP_CLAUSE}`],
    ['Get a stopwatch', `Get a stopwatch\n${STOP_CLAUSE}`],
    ['', STOP_CLAUSE],
    ['   ', STOP_CLAUSE],
  ])('%j', (text, expected) => {
    expect(ensureStopClause(text)).toBe(expected);
  });

  it('is exactly "Reply STOP to opt out" and is idempotent', () => {
    expect(STOP_CLAUSE).toBe('Reply STOP to opt out');
    const once = ensureStopClause('Hello');
    expect(ensureStopClause(once)).toBe(once);
  });
});
