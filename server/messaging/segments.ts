import { gsm7Septets } from './gsm.js';

export type Encoding = 'GSM-7' | 'UCS-2';

export type TextMeasure = { encoding: Encoding; segments: number; characters: number };

// One SMS carries 140 octets; a concatenated part loses 6 of them to the User Data Header.
export const GSM7_SINGLE_LIMIT = 160;
export const GSM7_PART_LIMIT = 153;
export const UCS2_SINGLE_LIMIT = 70;
export const UCS2_PART_LIMIT = 67;

export function singleSegmentLimit(encoding: Encoding): number {
  return encoding === 'GSM-7' ? GSM7_SINGLE_LIMIT : UCS2_SINGLE_LIMIT;
}

export function partLimit(encoding: Encoding): number {
  return encoding === 'GSM-7' ? GSM7_PART_LIMIT : UCS2_PART_LIMIT;
}

/**
 * Encoding, segment count and `characters` (what the limit applies to: septets in GSM-7, with extension characters
 * counting 2; UTF-16 code units in UCS-2) of `text` exactly as given: callers normalise look-alikes first.
 * Empty text measures 0 segments, because nothing would be sent.
 */
export function measureText(text: string): TextMeasure {
  const septets = gsm7Units(text);
  if (septets !== null) return measureUnits('GSM-7', septets);
  return measureUnits('UCS-2', ucs2Units(text));
}

function measureUnits(encoding: Encoding, units: readonly number[]): TextMeasure {
  const characters = units.reduce((sum, size) => sum + size, 0);
  return { encoding, characters, segments: countSegments(characters, units, encoding) };
}

function countSegments(characters: number, units: readonly number[], encoding: Encoding): number {
  if (characters === 0) return 0;
  if (characters <= singleSegmentLimit(encoding)) return 1;
  // Concatenated: fill parts greedily; a unit that does not fit whole starts the next part, which is how an escape
  // pair (or a surrogate pair, or an emoji sequence) is kept from being split across two messages.
  const capacity = partLimit(encoding);
  let segments = 1;
  let used = 0;
  for (const size of units) {
    if (used + size > capacity) {
      segments += 1;
      used = 0;
    }
    used += size;
  }
  return segments;
}

/** Septets per character, or null as soon as one character is not GSM-7. */
function gsm7Units(text: string): number[] | null {
  const units: number[] = [];
  for (const char of text) {
    const septets = gsm7Septets(char);
    if (septets === 0) return null;
    units.push(septets);
  }
  return units;
}

let graphemeSegmenter: Intl.Segmenter | null | undefined;

function segmenter(): Intl.Segmenter | null {
  if (graphemeSegmenter === undefined) {
    graphemeSegmenter =
      typeof Intl.Segmenter === 'function' ? new Intl.Segmenter('en', { granularity: 'grapheme' }) : null;
  }
  return graphemeSegmenter;
}

/**
 * UTF-16 code units per indivisible piece. Twilio's calculator keeps a whole grapheme cluster (an emoji with its
 * skin tone or ZWJ parts, a letter with its combining accent) in one segment, except CR LF, which it splits; we do
 * the same so that counts match Twilio's billing. Without Intl.Segmenter, code points (never half a surrogate pair).
 */
function ucs2Units(text: string): number[] {
  const seg = segmenter();
  const pieces = seg ? Array.from(seg.segment(text), (s) => s.segment) : Array.from(text);
  const units: number[] = [];
  for (const piece of pieces) {
    // A cluster longer than a part could never be placed whole; fall back to its code points.
    if (piece === '\r\n' || piece.length > UCS2_PART_LIMIT) {
      for (const codePoint of piece) units.push(codePoint.length);
    } else {
      units.push(piece.length);
    }
  }
  return units;
}
