import fc from 'fast-check';
import { SegmentedMessage } from 'sms-segments-calculator';
import { describe, expect, it } from 'vitest';
import { measureText, normaliseLookalikes, type Encoding } from '../../../server/messaging/index.js';

const a = (n: number): string => 'a'.repeat(n);
const rep = (s: string, n: number): string => s.repeat(n);

type Vector = [label: string, text: string, encoding: Encoding, segments: number, characters: number];

// Vectors for the segment rules: 160 GSM-7 characters (extension characters count 2) or 70 UCS-2 units in one
// segment, 153 / 67 per segment when concatenated.
const VECTORS: Vector[] = [
  ['"a"x160', a(160), 'GSM-7', 1, 160],
  ['"a"x161', a(161), 'GSM-7', 2, 161],
  ['"a"x306', a(306), 'GSM-7', 2, 306],
  ['"a"x307', a(307), 'GSM-7', 3, 307],
  ['"€"x80 (160 septets)', rep('€', 80), 'GSM-7', 1, 160],
  ['"€"x81 (162 septets)', rep('€', 81), 'GSM-7', 2, 162],
  ['"a"x158 + "{"', a(158) + '{', 'GSM-7', 1, 160],
  ['"a"x159 + "{"', a(159) + '{', 'GSM-7', 2, 161],
  ['"Ж"x70', rep('Ж', 70), 'UCS-2', 1, 70],
  ['"Ж"x71', rep('Ж', 71), 'UCS-2', 2, 71],
  ['"Ж"x134', rep('Ж', 134), 'UCS-2', 2, 134],
  ['"Ж"x135', rep('Ж', 135), 'UCS-2', 3, 135],
  ['"Hello 👋"', 'Hello 👋', 'UCS-2', 1, 8],
  ['"😀" + "a"x68', '😀' + a(68), 'UCS-2', 1, 70],
  ['"😀" + "a"x69', '😀' + a(69), 'UCS-2', 2, 71],
  ['"Ж"x69 + "😀"', rep('Ж', 69) + '😀', 'UCS-2', 2, 71],
  ['"Café"', 'Café', 'GSM-7', 1, 4],
  ['"Olá"', 'Olá', 'UCS-2', 1, 3],
  ['"ça"', 'ça', 'UCS-2', 1, 2],
  ['"Line1\\r\\nLine2"', 'Line1\r\nLine2', 'GSM-7', 1, 12],
  ['"a\\u00a0b" (NBSP, not normalised)', 'a\u00a0b', 'UCS-2', 1, 3],
  ['"It’s here" (not normalised)', 'It\u2019s here', 'UCS-2', 1, 9],
  [
    'Twilio STOP auto-reply',
    'You have successfully been unsubscribed. You will not receive any more messages from this number. Reply START to resubscribe.',
    'GSM-7',
    1,
    125,
  ],
  [
    'Twilio START auto-reply',
    'You have successfully been re-subscribed to messages from this number. Reply HELP for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.',
    'GSM-7',
    1,
    144,
  ],
  // Empty text: nothing to send, so no segment (documented decision).
  ['empty text', '', 'GSM-7', 0, 0],
  ['one character', 'a', 'GSM-7', 1, 1],
  ['every extension character once', '\f^{}\\[~]|€', 'GSM-7', 1, 20],
  ['"a"x459 (3 x 153)', a(459), 'GSM-7', 3, 459],
  ['"a"x460', a(460), 'GSM-7', 4, 460],
  ['"Ж"x201 (3 x 67)', rep('Ж', 201), 'UCS-2', 3, 201],
  ['"Ж"x202', rep('Ж', 202), 'UCS-2', 4, 202],
  ['"😀"x35 (70 units)', rep('😀', 35), 'UCS-2', 1, 70],
  ['"😀"x36 (72 units)', rep('😀', 36), 'UCS-2', 2, 72],
];

describe('measureText: GSM-7 and UCS-2 segment vectors', () => {
  it.each(VECTORS)('%s', (_label, text, encoding, segments, characters) => {
    expect(measureText(text)).toEqual({ encoding, segments, characters });
  });
});

describe('measureText: after look-alike normalisation', () => {
  it.each([
    ['It\u2019s here', 'GSM-7', 9],
    ['a\u00a0b', 'GSM-7', 3],
    ['\u201CQuoted\u201D \u2013 done\u2026', 'GSM-7', 18],
    ['Olá', 'UCS-2', 3],
  ] as Array<[string, Encoding, number]>)('%j', (text, encoding, characters) => {
    expect(measureText(normaliseLookalikes(text))).toMatchObject({ encoding, characters, segments: 1 });
  });
});

// An escape pair (ESC + code) or a surrogate pair must not straddle two parts, so a part can end one short.
describe('measureText: indivisible characters at a part boundary', () => {
  it.each([
    // 152 septets then "€": the pair does not fit in part 1 (154 > 153) and opens part 2.
    ['"a"x152 + "€" + "a"x152 (306 septets, 3 parts not 2)', a(152) + '€' + a(152), 'GSM-7', 3, 306],
    ['"a"x151 + "€" + "a"x153 (306 septets, pair fits)', a(151) + '€' + a(153), 'GSM-7', 2, 306],
    ['"a"x152 + "{" + "a"x151', a(152) + '{' + a(151), 'GSM-7', 2, 305],
    ['"€"x152 (304 septets, 76 pairs a part)', rep('€', 152), 'GSM-7', 2, 304],
    ['"€"x153 (306 septets, but a part holds 76 pairs)', rep('€', 153), 'GSM-7', 3, 306],
    ['"a" + "€"x153 (307 septets)', 'a' + rep('€', 153), 'GSM-7', 3, 307],
    ['"Ж"x66 + "😀" + "Ж"x66 (134 units, 3 parts not 2)', rep('Ж', 66) + '😀' + rep('Ж', 66), 'UCS-2', 3, 134],
    ['"Ж"x65 + "😀" + "Ж"x67 (134 units, pair fits)', rep('Ж', 65) + '😀' + rep('Ж', 67), 'UCS-2', 2, 134],
  ] as Array<[string, string, Encoding, number, number]>)('%s', (_label, text, encoding, segments, characters) => {
    expect(measureText(text)).toEqual({ encoding, segments, characters });
  });
});

// Twilio's own calculator (sms-segments-calculator) as an independent oracle over random texts.
const ALPHABET = [
  'a', 'Z', ' ', '.', '\n', '\r\n', '@', '£', 'é', 'Ç', 'Δ', '€', '{', '}', '[', ']', '~', '\\', '^', '|', '\f',
  'Ж', 'ç', 'á', '中', '😀', '👋🏽', '👨‍👩‍👧', '🇫🇷',
];
const gsmOnly = ALPHABET.slice(0, 21);

function oracle(text: string): { encoding: string; segments: number } {
  const message = new SegmentedMessage(text);
  return { encoding: message.encodingName, segments: message.segmentsCount };
}

describe('measureText agrees with Twilio’s calculator', () => {
  it('on random GSM-7 texts around the part boundaries', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...gsmOnly), { minLength: 1, maxLength: 480 }), (pieces) => {
        const text = pieces.join('');
        const { encoding, segments } = measureText(text);
        expect({ encoding, segments }).toEqual(oracle(text));
      }),
      { seed: 20240503, numRuns: 400 },
    );
  });

  it('on random mixed texts (UCS-2, emoji, sequences)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 200 }), (pieces) => {
        const text = pieces.join('');
        const { encoding, segments } = measureText(text);
        expect({ encoding, segments }).toEqual(oracle(text));
      }),
      { seed: 7, numRuns: 400 },
    );
  });
});
