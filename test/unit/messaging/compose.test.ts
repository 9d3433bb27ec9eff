import fc from 'fast-check';
import { SegmentedMessage } from 'sms-segments-calculator';
import { describe, expect, it } from 'vitest';
import {
  composeMessage,
  findShortenerLinks,
  findUnknownFields,
  hasStopWord,
  isGsm7,
  MAX_BODY_CHARACTERS,
  previewTemplate,
  STOP_CLAUSE,
  validateTemplate,
  type MergeContext,
  type SkipReason,
} from '../../../server/messaging/index.js';

const ann: MergeContext = {
  person: { first_name: 'Ann', last_name: 'Lee', name: 'Ann Lee' },
  deal: { title: 'Roof repair' },
  user: { name: 'Bob' },
  company: { name: 'Acme' },
};
const one = { maxSegments: 1 };
const x = (n: number): string => 'x'.repeat(n);
// "\nReply STOP to opt out" costs 22 characters, so 138 characters of text is the most one GSM-7 segment allows.
const CLAUSE_COST = STOP_CLAUSE.length + 1;

describe('composeMessage: sendable messages', () => {
  it.each<[string, string, MergeContext, number, string]>([
    ['quote-ready greeting', 'Hi {{person.first_name|there}}, your quote is ready.', ann, 1, `Hi Ann, your quote is ready.\n${STOP_CLAUSE}`],
    ['fallback used', 'Hi {{person.first_name|there}}!', {}, 1, `Hi there!\n${STOP_CLAUSE}`],
    ['STOP already present', 'Hi Ann. Text STOP to end.', {}, 1, 'Hi Ann. Text STOP to end.'],
    ['look-alikes replaced before measuring', 'It\u2019s ready \u2014 {{deal.title}}\u2026', ann, 1, `It's ready - Roof repair...\n${STOP_CLAUSE}`],
    ['trailing whitespace trimmed', 'Hi {{person.first_name}}\n\n', ann, 1, `Hi Ann\n${STOP_CLAUSE}`],
    ['exactly 160 with the clause', x(160 - CLAUSE_COST), {}, 1, `${x(160 - CLAUSE_COST)}\n${STOP_CLAUSE}`],
    ['two segments allowed', x(200), {}, 2, `${x(200)}\n${STOP_CLAUSE}`],
    ['long link on own domain', 'See https://acme.example.com/q/123', {}, 1, `See https://acme.example.com/q/123\n${STOP_CLAUSE}`],
  ])('%s', (_label, template, ctx, maxSegments, body) => {
    const result = composeMessage(template, ctx, { maxSegments });
    expect(result).toMatchObject({ ok: true, body });
  });

  it('measures GSM-7 for "Café" and UCS-2 for "Olá" after the clause', () => {
    expect(composeMessage('Café', {}, one)).toMatchObject({ ok: true, encoding: 'GSM-7', segments: 1, characters: 4 + CLAUSE_COST });
    expect(composeMessage('Olá', {}, one)).toMatchObject({ ok: true, encoding: 'UCS-2', segments: 1, characters: 3 + CLAUSE_COST });
  });
});

describe('composeMessage: skip reasons', () => {
  it.each<[string, string, MergeContext, number, SkipReason, RegExp]>([
    ['one character over with the clause', x(161 - CLAUSE_COST), {}, 1, 'too_long', /2 segments \(161 GSM-7 characters\).*maximum of 1 segment/],
    ['a long merged value', 'Hi {{person.first_name}}, ' + x(100), { person: { first_name: x(40) } }, 1, 'too_long', /2 segments/],
    ['one emoji drops the limit to 70', '😀 ' + x(60), {}, 1, 'too_long', /UCS-2/],
    ['extension characters count 2', '{' + x(135) + '}', {}, 1, 'too_long', /161 GSM-7/],
    ['over three segments', x(500), {}, 3, 'too_long', /4 segments/],
    ['over Twilio’s 1,600 characters', x(1700), {}, 20, 'too_long', /segments/],
    ['shortener in the template', 'See bit.ly/abc', {}, 1, 'link_shortener', /bit\.ly/],
    ['shortener in a merged value', 'Your deal: {{deal.title}}', { deal: { title: 'tinyurl.com/x' } }, 1, 'link_shortener', /tinyurl\.com/],
    ['shortener in a fallback', '{{deal.title|HTTPS://WWW.Bit.Ly/abc}}', {}, 1, 'link_shortener', /bit\.ly/],
    ['shortener written in full-width letters', 'See \uFF42\uFF49\uFF54.\uFF4C\uFF59/x', {}, 1, 'link_shortener', /bit\.ly/],
    ['unknown field', 'Hi {{person.nickname}}', ann, 1, 'unknown_field', /\{\{person\.nickname\}\}/],
    ['unknown field beats a shortener', 'Hi {{org.name}} bit.ly/x', ann, 1, 'unknown_field', /org\.name/],
    ['shortener beats too_long', 'bit.ly/x ' + x(300), {}, 1, 'link_shortener', /bit\.ly/],
  ])('%s -> %s', (_label, template, ctx, maxSegments, reason, detail) => {
    const result = composeMessage(template, ctx, { maxSegments });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe(reason);
    expect(result.detail).toMatch(detail);
    expect(result.body.length).toBeGreaterThan(0);
  });

  it('refuses a maxSegments that is not a positive integer', () => {
    expect(() => composeMessage('Hi', {}, { maxSegments: 0 })).toThrow(RangeError);
    expect(() => composeMessage('Hi', {}, { maxSegments: 1.5 })).toThrow(RangeError);
    expect(MAX_BODY_CHARACTERS).toBe(1600);
  });
});

describe('validateTemplate (save time)', () => {
  it.each<[string, string, number, string[], RegExp | null]>([
    ['a good template', 'Hi {{person.first_name|there}}, your quote for {{deal.title}} is ready.', 1, [], null],
    ['fits only because fields are empty', 'Hi {{person.name}} ' + x(120), 1, [], null],
    ['blank', '   ', 1, ['empty'], /empty/],
    ['unknown field, named', 'Hi {{person.nickname}}', 1, ['unknown_field'], /\{\{person\.nickname\}\}/],
    ['shortener, host named', 'Book at bit.ly/book', 1, ['link_shortener'], /bit\.ly/],
    ['too long even with empty fields', x(150) + ' {{person.first_name}}', 1, ['too_long'], /2 segments \(172 GSM-7 characters\).*maximum of 1 segment/],
    ['too long for 2 segments', x(400), 2, ['too_long'], /3 segments.*maximum of 2 segments/],
    ['every problem at once', '{{x.y}} bit.ly/z ' + x(200), 1, ['unknown_field', 'link_shortener', 'too_long'], /x\.y/],
    ['long fallback counts', 'Hi {{person.first_name|' + x(150) + '}}', 1, ['too_long'], /2 segments/],
  ])('%s', (_label, template, maxSegments, codes, message) => {
    const result = validateTemplate(template, { maxSegments });
    expect(result.problems.map((p) => p.code)).toEqual(codes);
    expect(result.ok).toBe(codes.length === 0);
    if (message) expect(result.problems.map((p) => p.message).join(' ')).toMatch(message);
    expect(result.segments).toBeGreaterThan(0);
    expect(hasStopWord(result.body)).toBe(true);
  });
});

describe('previewTemplate', () => {
  it('previews the quote-ready greeting for Ann exactly', () => {
    expect(previewTemplate('Hi {{person.first_name}}, your quote is ready.', { person: { first_name: 'Ann' } }, one)).toEqual({
      body: 'Hi Ann, your quote is ready.\nReply STOP to opt out',
      encoding: 'GSM-7',
      segments: 1,
      characters: 50,
      maxSegments: 1,
      problems: [],
    });
  });

  it.each<[string, string, MergeContext | undefined, number, string[], string]>([
    ['no sample: fallbacks', 'Hi {{person.first_name|there}}', undefined, 1, [], `Hi there\n${STOP_CLAUSE}`],
    ['no sample: empty', 'Hi {{person.first_name}}!', undefined, 1, [], `Hi !\n${STOP_CLAUSE}`],
    ['unknown field shown as written', 'Hi {{nick}}', undefined, 1, ['unknown_field'], `Hi {{nick}}\n${STOP_CLAUSE}`],
    ['shortener', 'bit.ly/x', undefined, 1, ['link_shortener'], `bit.ly/x\n${STOP_CLAUSE}`],
    ['sample makes it too long', 'Hi {{person.name}}' + x(120), { person: { name: x(30) } }, 1, ['too_long'], `Hi ${x(150)}\n${STOP_CLAUSE}`],
    ['sample fits in 2', 'Hi {{person.name}}' + x(120), { person: { name: x(30) } }, 2, [], `Hi ${x(150)}\n${STOP_CLAUSE}`],
    ['empty template', '', undefined, 1, ['empty'], STOP_CLAUSE],
  ])('%s', (_label, template, sample, maxSegments, problems, body) => {
    const preview = previewTemplate(template, sample, { maxSegments });
    expect(Object.keys(preview).sort()).toEqual(['body', 'characters', 'encoding', 'maxSegments', 'problems', 'segments']);
    expect(preview).toMatchObject({ body, maxSegments, problems });
  });
});

// --- properties -------------------------------------------------------------------------------------------------

const FRAGMENTS = [
  'Hi ', 'there', ', ', 'your quote', ' is ready.', '\n', ' ', 'Café ', 'Olá ', '😀', '👋🏽', '€', '{', '}', '[x]', '~',
  '\u2019', '\u201C', '\u201D', '\u2014', '\u2026', '\u00a0', 'stop', 'STOP', 'stopwatch', 'non-stop', 'STOPALL',
  'bit.ly/x', ' bit.ly/x', '(tinyurl.com/y)', 'https://acme.example.com/q', 'Ж', 'x'.repeat(40), 'x'.repeat(100), '{{person.first_name}}',
  '{{person.first_name|there}}', '{{deal.title}}', '{{ user.name | your rep }}', '{{company.name}}', '{{person.name}}',
];
const VALUES = fc.option(
  fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.string({ unit: 'grapheme', maxLength: 30 }),
    fc.constantFrom('Ann', 'Stop', 'tinyurl.com/a', '   ', 'Zoë', '😀😀', '€€€€'),
  ),
  { nil: null },
);
const contexts: fc.Arbitrary<MergeContext> = fc.record({
  person: fc.record({ first_name: VALUES, last_name: VALUES, name: VALUES }),
  deal: fc.record({ title: VALUES }),
  user: fc.record({ name: VALUES }),
  company: fc.record({ name: VALUES }),
});
const templates = fc.oneof(
  fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 25 }).map((parts) => parts.join('')),
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 120 }),
);

// Independent of the module: septets by a plain scan of the two extension lists, UTF-16 units by .length.
const EXTENSION = new Set('\f^{}\\[~]|€');
function expectedCharacters(body: string, encoding: string): number {
  if (encoding === 'UCS-2') return body.length;
  return [...body].reduce((sum, char) => sum + (EXTENSION.has(char) ? 2 : 1), 0);
}

function longestGrapheme(body: string): number {
  const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });
  return Math.max(1, ...Array.from(segmenter.segment(body), (s) => (s.segment === '\r\n' ? 1 : s.segment.length)));
}

describe('composeMessage properties (seeded)', () => {
  it('never an ok body without STOP, never over the limit, segments consistent with the encoding', () => {
    fc.assert(
      fc.property(templates, contexts, fc.integer({ min: 1, max: 4 }), (template, ctx, maxSegments) => {
        const result = composeMessage(template, ctx, { maxSegments });
        const { body, encoding, segments, characters } = result;

        // Every composed body, sent or not, names STOP: the clause is added before anything else is decided.
        expect(hasStopWord(body)).toBe(true);
        expect(encoding).toBe(isGsm7(body) ? 'GSM-7' : 'UCS-2');
        expect(characters).toBe(expectedCharacters(body, encoding));

        const single = encoding === 'GSM-7' ? 160 : 70;
        const part = encoding === 'GSM-7' ? 153 : 67;
        // An indivisible unit (escape pair, surrogate pair, emoji sequence) can leave at most unit-1 unused per part.
        const slack = encoding === 'GSM-7' ? 1 : longestGrapheme(body) - 1;
        if (characters <= single) {
          expect(segments).toBe(1);
        } else {
          expect(segments).toBeGreaterThanOrEqual(Math.ceil(characters / part));
          expect(segments).toBeLessThanOrEqual(Math.ceil(characters / (part - slack)));
        }
        // And Twilio's own calculator agrees on the body.
        const twilio = new SegmentedMessage(body);
        expect([twilio.encodingName, twilio.segmentsCount]).toEqual([encoding, segments]);

        if (result.ok) {
          expect(segments).toBeLessThanOrEqual(maxSegments);
          expect(characters).toBeLessThanOrEqual(MAX_BODY_CHARACTERS);
          expect(findShortenerLinks(body)).toEqual([]);
          expect(findUnknownFields(template)).toEqual([]);
        } else if (result.reason === 'too_long') {
          expect(segments > maxSegments || characters > MAX_BODY_CHARACTERS).toBe(true);
        }
      }),
      { seed: 424242, numRuns: 1500 },
    );
  });

  it('a text without STOP gets exactly "Reply STOP to opt out" on a new line', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const template = text.replace(/[{}]/g, '');
        const { body } = composeMessage(template, {}, { maxSegments: 10 });
        if (!hasStopWord(template)) expect(body.endsWith(STOP_CLAUSE)).toBe(true);
      }),
      { seed: 99, numRuns: 500 },
    );
  });

  it('validateTemplate accepts only templates whose emptiest message composes', () => {
    fc.assert(
      fc.property(templates, fc.integer({ min: 1, max: 3 }), (template, maxSegments) => {
        const validation = validateTemplate(template, { maxSegments });
        const composed = composeMessage(template, {}, { maxSegments });
        if (validation.ok) expect(composed.ok).toBe(true);
        expect(validation.body).toBe(composed.body);
      }),
      { seed: 31337, numRuns: 800 },
    );
  });
});
