import { describe, expect, it } from 'vitest';
import {
  normalisePhone,
  pickPrimaryPhone,
  resolveDefaultPhone,
  type PhoneEntry,
} from '../../../server/messaging/index.js';

describe('normalisePhone to E.164', () => {
  it.each([
    ['(415) 555-2671', '+14155552671', 'US'],
    ['1-415-555-2671', '+14155552671', 'US'],
    ['14155552671', '+14155552671', 'US'],
    ['4155552671', '+14155552671', 'US'],
    ['415.555.2671', '+14155552671', 'US'],
    ['  (415) 555-2671  ', '+14155552671', 'US'],
    ['+1 415 555 2671', '+14155552671', 'US'],
    ['+61 412 345 678', '+61412345678', 'AU'],
    ['+61412345678', '+61412345678', 'AU'],
    ['+44 20 7946 0958', '+442079460958', 'GB'],
    ['+49 30 901820', '+4930901820', 'DE'],
    // Without "+" a number is dialled from the US: a Canadian number is still +1, and 011 is the US exit code.
    ['(416) 555-0123', '+14165550123', 'CA'],
    ['011 44 20 7946 0958', '+442079460958', 'GB'],
    // E.164 has no extension: the line is texted without it.
    ['+1 415 555 2671 ext 12', '+14155552671', 'US'],
  ])('%j -> %s (%s)', (raw, e164, country) => {
    expect(normalisePhone(raw)).toEqual({ ok: true, e164, country });
  });

  it.each([
    ['12345'],
    ['+1 123 456 7890'],
    ['+1 415 555 26711'],
    ['call 415 555 2671 now'],
    ['+14155552671abc'],
    ['n/a'],
    ['00 44 20 7946 0958'], // "00" is not the US exit code
    ['+800 1234 5678'], // non-geographic freephone: no SMS
    ['+61 12'],
  ])('%j -> invalid_phone', (raw) => {
    expect(normalisePhone(raw)).toEqual({ ok: false, reason: 'invalid_phone' });
  });

  it.each([[''], ['   '], [null], [undefined]])('%j -> missing_phone', (raw) => {
    expect(normalisePhone(raw)).toEqual({ ok: false, reason: 'missing_phone' });
  });
});

describe('pickPrimaryPhone: the primary entry, else the first', () => {
  it.each<[string, PhoneEntry[] | null | undefined, string | null]>([
    ['the primary entry', [{ value: '111', primary: false }, { value: '222', primary: true }], '222'],
    ['the first when none is primary', [{ value: '111' }, { value: '222' }], '111'],
    ['the first when primary flags are null', [{ value: '111', primary: null }, { value: '222', primary: null }], '111'],
    ['the first primary of several', [{ value: '1', primary: true }, { value: '2', primary: true }], '1'],
    ['skips a blank primary', [{ value: '', primary: true }, { value: '222' }], '222'],
    ['skips a whitespace primary', [{ value: '  ', primary: true }, { value: '222', primary: false }], '222'],
    ['skips a null value', [{ value: null, primary: true }, { value: '333' }], '333'],
    ['keeps the stored formatting', [{ value: ' (415) 555-2671 ', primary: true }], ' (415) 555-2671 '],
    ['ignores labels', [{ value: '1', label: 'work' }, { value: '2', label: 'mobile' }], '1'],
    ['null for Pipedrive’s empty phone', [{ value: '', primary: true }], null],
    ['null for an empty list', [], null],
    ['null for null', null, null],
    ['null for undefined', undefined, null],
  ])('%s', (_label, phones, expected) => {
    expect(pickPrimaryPhone(phones)).toBe(expected);
  });

  it('never mutates its input', () => {
    const phones = Object.freeze([
      Object.freeze({ value: '(415) 555-2671', primary: false }),
      Object.freeze({ value: '+61 412 345 678', primary: true }),
    ]);
    const copy = JSON.stringify(phones);
    expect(pickPrimaryPhone(phones)).toBe('+61 412 345 678');
    expect(resolveDefaultPhone(phones)).toMatchObject({ ok: true, e164: '+61412345678' });
    expect(JSON.stringify(phones)).toBe(copy);
  });
});

describe('resolveDefaultPhone: primary phone, normalised', () => {
  it('returns the E.164 form and the stored value untouched', () => {
    expect(resolveDefaultPhone([{ value: '(415) 555-2671', primary: true }])).toEqual({
      ok: true,
      e164: '+14155552671',
      country: 'US',
      raw: '(415) 555-2671',
    });
  });

  it('does not fall back to another entry when the primary is invalid', () => {
    expect(resolveDefaultPhone([{ value: '12345', primary: true }, { value: '(415) 555-2671' }])).toEqual({
      ok: false,
      reason: 'invalid_phone',
    });
  });

  it('reports missing_phone when no entry has a value', () => {
    expect(resolveDefaultPhone([{ value: '', primary: true }])).toEqual({ ok: false, reason: 'missing_phone' });
    expect(resolveDefaultPhone(undefined)).toEqual({ ok: false, reason: 'missing_phone' });
  });
});
