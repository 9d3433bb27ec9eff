export const STOP_CLAUSE = 'Reply STOP to opt out';

// "Whole word": not touching a letter, digit, underscore or hyphen, so "STOPALL", "stopwatch" and "non-stop" do not
// count as telling the contact how to opt out, while "STOP.", "(STOP)" and "stop," do.
const STOP_WORD = /(?<![\p{L}\p{N}_-])stop(?![\p{L}\p{N}_-])/iu;

export function hasStopWord(text: string): boolean {
  return STOP_WORD.test(text);
}

/**
 * Every message says how to opt out: `text` unchanged when it already names STOP; otherwise the clause on a new line.
 * Trailing whitespace is dropped before appending so a template ending in a newline does not spend a character on an
 * empty line.
 */
export function ensureStopClause(text: string): string {
  if (hasStopWord(text)) return text;
  const trimmed = text.trimEnd();
  return trimmed === '' ? STOP_CLAUSE : `${trimmed}\n${STOP_CLAUSE}`;
}
