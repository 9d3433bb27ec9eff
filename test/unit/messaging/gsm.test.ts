import { describe, expect, it } from 'vitest';
import {
  GSM7_BASIC_CHARS,
  GSM7_EXTENSION_CHARS,
  gsm7Septets,
  isGsm7,
  lookalikeEntries,
  nonGsm7Characters,
  normaliseLookalikes,
} from '../../../server/messaging/index.js';

describe('GSM-7 tables', () => {
  it('has 127 basic characters (128 codes minus ESC) and 10 extension characters', () => {
    expect(GSM7_BASIC_CHARS.size).toBe(127);
    expect(GSM7_EXTENSION_CHARS.size).toBe(10);
  });

  it.each([...'\n\r !"#$%&\'()*+,-./0123456789:;<=>?@AZ_az¡£¤¥§¿ÄÅÆÉÑÖØÜßàäåæÇèéìñòöøùüΓΔΘΛΞΠΣΦΨΩ'])(
    'basic %j costs 1 septet',
    (char) => {
      expect(gsm7Septets(char)).toBe(1);
    },
  );

  it.each([...'\f[\\]^{|}~€'])('extension %j costs 2 septets', (char) => {
    expect(gsm7Septets(char)).toBe(2);
  });

  // These look Latin but are not in the GSM-7 table (3GPP TS 23.038).
  it.each(['ç', 'á', 'í', 'ó', 'ú', 'â', 'ê', '\u00a0', '`', '\t', 'Ж', '😀', '\u2019', '\u201C', '\u2013', '\u2026'])(
    '%j is not GSM-7',
    (char) => {
      expect(gsm7Septets(char)).toBe(0);
      expect(isGsm7(`abc${char}`)).toBe(false);
    },
  );

  it('isGsm7 accepts the empty text and plain text', () => {
    expect(isGsm7('')).toBe(true);
    expect(isGsm7('Hello {name}, price: 10€ [ok]')).toBe(true);
  });

  it('nonGsm7Characters lists each offender once, in order', () => {
    expect(nonGsm7Characters('Olá ça va? Olá 😀')).toEqual(['á', 'ç', '😀']);
    expect(nonGsm7Characters('plain')).toEqual([]);
  });
});

describe('normaliseLookalikes to GSM-7', () => {
  it.each([
    ['It\u2019s here', "It's here"],
    ['\u2018single\u2019', "'single'"],
    ['\u201Cdouble\u201D', '"double"'],
    ['\u201Elow\u201F', '"low"'],
    ['\u00ABguillemets\u00BB', '"guillemets"'],
    ['en\u2013dash', 'en-dash'],
    ['em\u2014dash', 'em-dash'],
    ['minus \u22125', 'minus -5'],
    ['non\u2011breaking hyphen', 'non-breaking hyphen'],
    ['wait\u2026', 'wait...'],
    ['a\u00a0b', 'a b'],
    ['narrow\u202fnbsp', 'narrow nbsp'],
    ['thin\u2009space', 'thin space'],
    ['tab\there', 'tab here'],
    ['zero\u200Bwidth', 'zerowidth'],
    ['\uFEFFbom', 'bom'],
    ['soft\u00ADhyphen', 'softhyphen'],
    ['line\u2028separator', 'line\nseparator'],
    ['\u2022 bullet', '- bullet'],
    ['\u00BD price', '1/2 price'],
    ['\uFF21\uFF22\uFF23\uFF11\uFF12\uFF13\uFF01', 'ABC123!'],
    ['prime\u2032s', "prime's"],
    ['acute\u00B4s', "acute's"],
    ['grave`s', "grave's"],
    // NFC: a decomposed é (e + combining acute) is the GSM-7 é once composed.
    ['Cafe\u0301', 'Café'],
  ])('%j -> %j', (input, expected) => {
    const output = normaliseLookalikes(input);
    expect(output).toBe(expected);
    expect(isGsm7(output)).toBe(true);
  });

  // Accents are part of the words: replacing them would change what the contact reads.
  it.each(['Olá', 'ça', 'João', 'Zoë', 'naïve', 'Ñandú', 'Привет', '你好', '😀'])('leaves %j alone', (text) => {
    expect(normaliseLookalikes(text)).toBe(text);
  });

  it('maps every entry of its table to GSM-7 text', () => {
    for (const [from, to] of lookalikeEntries()) {
      expect(isGsm7(from), `${JSON.stringify(from)} should need mapping`).toBe(false);
      expect(isGsm7(to), `${JSON.stringify(from)} -> ${JSON.stringify(to)}`).toBe(true);
    }
  });

  it('is idempotent and does not touch GSM-7 text', () => {
    const gsm = 'Hi Ann, the price is 10€ (incl. VAT) - see [terms]; ok? @ 5pm';
    expect(normaliseLookalikes(gsm)).toBe(gsm);
    const once = normaliseLookalikes('\u201CIt\u2019s\u201D \u2014 done\u2026');
    expect(normaliseLookalikes(once)).toBe(once);
  });
});
