// GSM 03.38 default alphabet (3GPP TS 23.038), written out here rather than taken from a package so that the
// browser bundle and the server share one small, auditable table. ESC (0x1B) is not a character.
const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';

// Extension table: each is sent as ESC + code, so it costs two septets.
const GSM7_EXTENSION = '\f^{}\\[~]|€';

export const GSM7_BASIC_CHARS: ReadonlySet<string> = new Set(GSM7_BASIC);
export const GSM7_EXTENSION_CHARS: ReadonlySet<string> = new Set(GSM7_EXTENSION);

/** Septets a single character costs in GSM-7: 1 (basic), 2 (extension), or 0 when it is not GSM-7 at all. */
export function gsm7Septets(char: string): 0 | 1 | 2 {
  if (GSM7_BASIC_CHARS.has(char)) return 1;
  if (GSM7_EXTENSION_CHARS.has(char)) return 2;
  return 0;
}

export function isGsm7(text: string): boolean {
  for (const char of text) {
    if (gsm7Septets(char) === 0) return false;
  }
  return true;
}

/** The distinct characters that force UCS-2, in order of first appearance (for "why is my limit 70?" hints). */
export function nonGsm7Characters(text: string): string[] {
  const found = new Set<string>();
  for (const char of text) {
    if (gsm7Septets(char) === 0) found.add(char);
  }
  return [...found];
}

const SINGLE_QUOTE = "'";
const DOUBLE_QUOTE = '"';

// Typographic look-alikes -> GSM-7, so one curly apostrophe does not halve the length limit. Mostly the entries of
// Twilio's Smart Encoding that an office keyboard or a word processor produces; accented letters are deliberately
// absent because replacing them changes the words.
const LOOKALIKES: ReadonlyMap<string, string> = new Map<string, string>([
  // Single quotes, apostrophes, primes and accents used as apostrophes.
  ...[
    '\u2018', '\u2019', '\u201A', '\u201B', '\u2032', '\u2035', '\u00B4', '\u0060', '\u02B9', '\u02BB', '\u02BC',
    '\u02BD', '\u02C8', '\u02CA', '\u02CB', '\u275B', '\u275C', '\u2039', '\u203A', '\uFF07', '\uFF40',
  ].map((c): [string, string] => [c, SINGLE_QUOTE]),
  // Double quotes, guillemets and double primes.
  ...[
    '\u201C', '\u201D', '\u201E', '\u201F', '\u2033', '\u2036', '\u00AB', '\u00BB', '\u02BA', '\u02EE', '\u275D',
    '\u275E', '\u301D', '\u301E', '\uFF02',
  ].map((c): [string, string] => [c, DOUBLE_QUOTE]),
  // Hyphens, dashes, minus, bullet.
  ...[
    '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2043', '\u2212', '\uFE58', '\uFE63', '\uFF0D',
    '\u2022',
  ].map((c): [string, string] => [c, '-']),
  // Spaces that look like a space (NBSP first among them) and the tab.
  ...[
    '\u00A0', '\u1680', '\u2000', '\u2001', '\u2002', '\u2003', '\u2004', '\u2005', '\u2006', '\u2007', '\u2008',
    '\u2009', '\u200A', '\u202F', '\u205F', '\u3000', '\t',
  ].map((c): [string, string] => [c, ' ']),
  // Invisible characters pasted from the web cost a UCS-2 message and show nothing.
  ...['\u00AD', '\u200B', '\u2060', '\uFEFF'].map((c): [string, string] => [c, '']),
  ['\u2028', '\n'],
  ['\u2029', '\n'],
  ['\u0085', '\n'],
  ['\u2026', '...'],
  ['\u2025', '..'],
  ['\u2024', '.'],
  ['\u3002', '.'],
  ['\uFF61', '.'],
  ['\u3001', ','],
  ['\u203C', '!!'],
  ['\u00BC', '1/4'],
  ['\u00BD', '1/2'],
  ['\u00BE', '3/4'],
  ['\u2044', '/'],
  ['\u2215', '/'],
  ['\u02C6', '^'],
  ['\u02DC', '~'],
]);

function lookalike(char: string): string | undefined {
  const mapped = LOOKALIKES.get(char);
  if (mapped !== undefined) return mapped;
  // Full-width ASCII (U+FF01..U+FF5E) comes from East Asian input methods; its ASCII twin is the same glyph.
  const code = char.codePointAt(0) ?? 0;
  if (code >= 0xff01 && code <= 0xff5e) return String.fromCodePoint(code - 0xfee0);
  return undefined;
}

/**
 * Replaces typographic look-alikes with GSM-7 equivalents before measuring and sending. NFC first: a decomposed
 * "é" (e + U+0301, as macOS input often produces) is the GSM-7 "é" once composed, while NFC never removes an accent.
 */
export function normaliseLookalikes(text: string): string {
  let out = '';
  for (const char of text.normalize('NFC')) {
    out += lookalike(char) ?? char;
  }
  return out;
}

/** Every look-alike the module replaces, for tests and for a UI hint. */
export function lookalikeEntries(): Array<[string, string]> {
  return [...LOOKALIKES.entries()];
}
