import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as m from '../../../server/messaging/index.js';

// The policy functions run on text anyone can type (a template in the settings page, an inbound SMS, a person's
// phone field) inside the one event loop every company shares, and in the browser's live counter. No input up to
// Twilio's 1,600-character body limit may make one call take long: a pattern that backtracks would let one user
// freeze the server for everyone.
const BUDGET_MS = 50;
const MAX_LENGTH = 1600;
const LENGTHS = [40, 160, 400, MAX_LENGTH];

// Every function any messaging module exports, found at run time: a new export without a case below fails the
// coverage test instead of slipping by untested.
const dir = fileURLToPath(new URL('../../../server/messaging/', import.meta.url));
const exportedFunctions = new Set<string>();
for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
  const mod = (await import(pathToFileURL(`${dir}${file}`).href)) as Record<string, unknown>;
  for (const [name, value] of Object.entries(mod)) {
    if (typeof value === 'function') exportedFunctions.add(name);
  }
}

type Call = (input: string) => unknown;
const options = { maxSegments: 10 };
const asPhones = (input: string): m.PhoneEntry[] => [{ value: 'x', primary: false }, { value: input, primary: true }];
const everywhere = (input: string): m.MergeContext => ({
  person: { first_name: input, last_name: input, name: input },
  deal: { title: input },
  user: { name: input },
  company: { name: input },
});
// A template that is all merge tags multiplies its length by a value's: 106 tags of a 1,600-character name
// render 170,000 characters.
const ALL_TAGS = '{{person.name}}'.repeat(106);
// The sending window takes the instant from its caller: a fixed one (2026-06-15 12:00 UTC).
const NOON = 1_781_524_800_000;

// Each function gets the input wherever it takes text; a function that takes no text is still called, so that
// adding a parameter later means revisiting its case.
const CASES: Record<string, Call[]> = {
  // template
  isMergeField: [(s) => m.isMergeField(s)],
  parseMergeTags: [(s) => m.parseMergeTags(s)],
  findUnknownFields: [(s) => m.findUnknownFields(s)],
  mergeValue: [(s) => m.mergeValue('person.first_name', everywhere(s))],
  renderTemplate: [(s) => m.renderTemplate(s, {}), (s) => m.renderTemplate(ALL_TAGS, everywhere(s))],
  // compose
  finalBody: [(s) => m.finalBody(s, everywhere(s)), (s) => m.finalBody(ALL_TAGS, everywhere(s))],
  composeMessage: [(s) => m.composeMessage(s, {}, options), (s) => m.composeMessage(ALL_TAGS, everywhere(s), options)],
  validateTemplate: [(s) => m.validateTemplate(s, options)],
  previewTemplate: [(s) => m.previewTemplate(s, undefined, options), (s) => m.previewTemplate(ALL_TAGS, everywhere(s), options)],
  // gsm, segments
  gsm7Septets: [(s) => m.gsm7Septets(s)],
  isGsm7: [(s) => m.isGsm7(s)],
  nonGsm7Characters: [(s) => m.nonGsm7Characters(s)],
  normaliseLookalikes: [(s) => m.normaliseLookalikes(s)],
  lookalikeEntries: [() => m.lookalikeEntries()],
  measureText: [(s) => m.measureText(s)],
  singleSegmentLimit: [(s) => m.singleSegmentLimit(s as m.Encoding)],
  partLimit: [(s) => m.partLimit(s as m.Encoding)],
  // shorteners, stop clause
  scanShortenerLinks: [(s) => m.scanShortenerLinks(s)],
  findShortenerLinks: [(s) => m.findShortenerLinks(s)],
  findShortenerHosts: [(s) => m.findShortenerHosts(s)],
  hasStopWord: [(s) => m.hasStopWord(s)],
  ensureStopClause: [(s) => m.ensureStopClause(s)],
  // keywords
  defaultHelpText: [(s) => m.defaultHelpText(s)],
  normaliseKeyword: [(s) => m.normaliseKeyword(s)],
  classifyInbound: [(s) => m.classifyInbound(s), (s) => m.classifyInbound('hello', s), (s) => m.classifyInbound(s, null, 'any')],
  containsOptOutWord: [(s) => m.containsOptOutWord(s)],
  providerHandlesKeyword: [(s) => m.providerHandlesKeyword(s), (s) => m.providerHandlesKeyword('hello', s)],
  looksLikeOptOut: [(s) => m.looksLikeOptOut(s)],
  // phone, eligibility
  pickPrimaryPhone: [(s) => m.pickPrimaryPhone(asPhones(s))],
  normalisePhone: [(s) => m.normalisePhone(s)],
  resolveDefaultPhone: [(s) => m.resolveDefaultPhone(asPhones(s))],
  checkEligibility: [(s) => m.checkEligibility({ consent: 'granted', optedOut: false, phones: asPhones(s) })],
  checkResolvedEligibility: [
    (s) => m.checkResolvedEligibility({
      consent: s as m.Consent,
      optedOut: false,
      phone: { ok: true, e164: s, country: s, raw: s },
    }),
  ],
  // sending window: the text as a time, a zone and a number (a zone no one knows falls back to the company's, then UTC)
  hasStateWindowCap: [(s) => m.hasStateWindowCap(s)],
  isKnownTimeZone: [(s) => m.isKnownTimeZone(s)],
  validateSendingWindow: [(s) => m.validateSendingWindow({ start: s, end: '21:00' }), (s) => m.validateSendingWindow({ start: '08:00', end: s })],
  checkSendingWindow: [
    (s) => m.checkSendingWindow({ window: { start: s, end: s }, zones: [s], companyZone: s, e164: s, now: NOON }),
    (s) => m.checkSendingWindow({ window: { start: '22:00', end: s }, zones: ['America/New_York', s], companyZone: s, e164: '+13055551234', now: NOON }),
  ],
  sendingWindowClosesAt: [(s) => m.sendingWindowClosesAt({ window: { start: '00:00', end: s }, zones: [s, 'Asia/Kolkata'], companyZone: s, e164: s, now: NOON })],
  describeSendingWindow: [(s) => m.describeSendingWindow({ window: { start: s, end: '21:00' }, zone: s, now: NOON, e164: s })],
  // business days: the text as the company's zone (one no one knows is UTC)
  reviewDueBy: [(s) => m.reviewDueBy({ receivedAt: NOON, zone: s }), (s) => m.reviewDueBy({ receivedAt: NOON, zone: s, businessDays: 1000 })],
};

// Pieces that make patterns backtrack when repeated: separators the parsers split on, whitespace runs, the
// alternation of a tag opening and a fallback bar, link-like and keyword-like words, phone-like runs, and
// characters outside the BMP (which a /u pattern reads as one code point and a plain one as two).
const UNITS = [
  '|', '{{', '}}', '{', '}', '.', '/', ':', ' ', '\t', '\n', '\r\n', '+', '0', '9', '-', '_', '@', '<', "'", '!',
  '(', ')', '\u00a0', '\u200b', '\u3000', '{{ | ', '{{ |', '{{ ', ' | ', '{{a|', 'a.', 'a-', '.!', '//', '://',
  'bit.ly', 'bit.ly/', 'bit.ly.', 'http://', 'https://bit.ly/', 'www.', 'stop ', 'STOP ', "don't stop ", 'opt out ', 'opt-', 'opt\u2011',
  'cancel ', '+1 (555) 010-', '(((((', '\u{1F600}', '\u{1F44D}\u{1F3FD}', '\u{1D412}', 'é', 'ｂｉｔ．ｌｙ',
  '{{person.first_name|', 'a',
];
const PREFIXES = ['', '{{', 'x '];
const SUFFIXES = ['', 'x', '!', '}}', '\u{1F600}'];

function repeatTo(unit: string, length: number): string {
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

// A long run between an opener and a rejecting end, e.g. `{{` + spaces + `|` + spaces (no closing braces).
function sandwich(open: string, run: string, middle: string, length: number, end = ''): string {
  const half = Math.floor((length - open.length - middle.length - end.length) / 2);
  return open + repeatTo(run, half) + middle + repeatTo(run, half) + end;
}

function inputsOfLength(length: number): string[] {
  const inputs = [
    sandwich('{{', ' ', '|', length),
    sandwich('{{', ' ', '|', length, '}'),
    sandwich('{{', '\t', '|', length, 'x}'),
    sandwich('{{', ' \n', '', length),
    sandwich('{{a', ' ', ' | b', length, '{'),
    sandwich('http://', 'a.', '', length, '!'),
    sandwich('bit.ly/', '.', '', length, ' x'),
    sandwich('STOP', ' ', '', length, 'x'),
    sandwich('STOP', ' .!', '', length, 'x'),
    sandwich('stop', "'-", '', length, 'x'),
    sandwich('+', '0123456789', '', length),
  ];
  for (const unit of UNITS) {
    for (const prefix of PREFIXES) {
      for (const suffix of SUFFIXES) {
        const runLength = Math.max(0, length - prefix.length - suffix.length);
        inputs.push(prefix + repeatTo(unit, runLength) + suffix);
      }
    }
  }
  return inputs.map((input) => input.slice(0, MAX_LENGTH));
}

// Shorter inputs first, so a pattern that blows up fails on a short one instead of running for minutes.
const INPUTS = [...new Set(LENGTHS.flatMap(inputsOfLength))];

// The machine is shared, so a run is timed by the CPU time the process spent on it (what the call costs the event
// loop, without the time other processes held the cores), and a call's time is the minimum of up to three runs.
// A run within budget settles it, since the minimum can only be lower.
function callTime(call: Call, input: string): number {
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < 3 && best > BUDGET_MS; run += 1) {
    const start = process.cpuUsage();
    call(input);
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return best;
}

const shown = (input: string): string => `${JSON.stringify(input.slice(0, 40))}… (${input.length} characters)`;

describe('messaging under adversarial input', () => {
  it('has a case for every exported function, and no case for a function that is gone', () => {
    expect([...exportedFunctions].filter((name) => !(name in CASES)).sort()).toEqual([]);
    expect(Object.keys(CASES).filter((name) => !exportedFunctions.has(name)).sort()).toEqual([]);
  });

  it('builds inputs of up to 1,600 characters, including the long ones', () => {
    expect(Math.max(...INPUTS.map((input) => input.length))).toBe(MAX_LENGTH);
    expect(INPUTS.filter((input) => input.length === MAX_LENGTH).length).toBeGreaterThan(UNITS.length);
  });

  it.each(Object.keys(CASES).filter((name) => exportedFunctions.has(name)))(
    `%s takes at most ${BUDGET_MS} ms per call`,
    (name) => {
      for (const call of CASES[name] ?? []) {
        for (const input of INPUTS) {
          const ms = callTime(call, input);
          if (ms > BUDGET_MS) expect.fail(`${name} took ${ms.toFixed(1)} ms on ${shown(input)}`);
        }
      }
    },
  );
});
