import { describe, expect, it } from 'vitest';
import { checkEligibility, type Eligibility, type EligibilityInput } from '../../../server/messaging/index.js';

const good = [{ value: '(415) 555-2671', primary: true }];

describe('checkEligibility: consent, then the primary phone, then its E.164 form', () => {
  it.each<[string, EligibilityInput, Eligibility]>([
    ['granted with a valid phone', { consent: 'granted', optedOut: false, phones: good }, { ok: true, e164: '+14155552671', raw: '(415) 555-2671' }],
    ['no consent recorded', { consent: 'none', optedOut: false, phones: good }, { ok: false, reason: 'no_consent' }],
    ['consent null', { consent: null, optedOut: false, phones: good }, { ok: false, reason: 'no_consent' }],
    ['consent undefined', { consent: undefined, optedOut: false, phones: good }, { ok: false, reason: 'no_consent' }],
    ['consent field says opted out', { consent: 'opted_out', optedOut: false, phones: good }, { ok: false, reason: 'opted_out' }],
    ['opt-out list beats a granted field', { consent: 'granted', optedOut: true, phones: good }, { ok: false, reason: 'opted_out' }],
    ['opt-out list without consent', { consent: 'none', optedOut: true, phones: good }, { ok: false, reason: 'opted_out' }],
    ['opted out and no phone', { consent: 'opted_out', optedOut: true, phones: [] }, { ok: false, reason: 'opted_out' }],
    ['no consent and no phone', { consent: 'none', optedOut: false, phones: null }, { ok: false, reason: 'no_consent' }],
    ['granted, no phone', { consent: 'granted', optedOut: false, phones: [] }, { ok: false, reason: 'missing_phone' }],
    ['granted, blank phone', { consent: 'granted', optedOut: false, phones: [{ value: '', primary: true }] }, { ok: false, reason: 'missing_phone' }],
    ['granted, invalid phone', { consent: 'granted', optedOut: false, phones: [{ value: '12345', primary: true }] }, { ok: false, reason: 'invalid_phone' }],
    ['granted, invalid primary with a valid second phone', { consent: 'granted', optedOut: false, phones: [{ value: '+1 123 456 7890', primary: true }, { value: '(415) 555-2671' }] }, { ok: false, reason: 'invalid_phone' }],
    ['granted, international primary', { consent: 'granted', optedOut: false, phones: [{ value: '(415) 555-2671' }, { value: '+61 412 345 678', primary: true }] }, { ok: true, e164: '+61412345678', raw: '+61 412 345 678' }],
  ])('%s', (_label, input, expected) => {
    expect(checkEligibility(input)).toEqual(expected);
  });

  it('rejects a consent value that is not exactly "granted"', () => {
    const input = { consent: 'Granted', optedOut: false, phones: good } as unknown as EligibilityInput;
    expect(checkEligibility(input)).toEqual({ ok: false, reason: 'no_consent' });
  });
});
