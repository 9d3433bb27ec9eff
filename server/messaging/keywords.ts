export type InboundKind = 'opt_out' | 'opt_in' | 'help' | 'possible_opt_out' | 'none';

/**
 * Which replies opt out: `exact` (the whole reply is one of the opt-out keywords) or `any` (a reply that contains one
 * of them as a whole word). A company chooses; opt-in and HELP keywords match the whole reply either way.
 */
export type OptOutWords = 'exact' | 'any';

// Twilio's default opt-out, opt-in and help keywords, plus the forms people write that Twilio does not handle
// (it matches single words without spaces or hyphens): STOP ALL, OPT OUT and OPT-OUT.
export const OPT_OUT_KEYWORDS: readonly string[] = [
  'STOP', 'STOPALL', 'STOP ALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'OPTOUT', 'OPT OUT', 'OPT-OUT', 'REVOKE',
];
export const OPT_IN_KEYWORDS: readonly string[] = ['START', 'YES', 'UNSTOP'];
export const HELP_KEYWORDS: readonly string[] = ['HELP', 'INFO'];

// Twilio's default keywords: single words only, so it neither answers nor blocks on "STOP ALL", "OPT OUT" or "OPT-OUT".
export const PROVIDER_KEYWORDS: readonly string[] = [
  'STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT', 'START', 'YES', 'UNSTOP', 'HELP',
  'INFO',
];

/** The opt-out confirmation, word for word as Twilio sends it (the app sends it only where Twilio does not). */
export const OPT_OUT_CONFIRMATION =
  'You have successfully been unsubscribed. You will not receive any more messages from this number. Reply START to resubscribe.';

/** Twilio's default opt-in reply, for when the app answers keywords itself. */
export const OPT_IN_CONFIRMATION =
  'You have successfully been re-subscribed to messages from this number. Reply HELP for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.';

/** The default HELP answer. A blank company name drops the prefix rather than sending ": reply STOP…". */
export function defaultHelpText(companyName: string | null | undefined): string {
  const name = (companyName ?? '').trim();
  const text = 'reply STOP to opt out, START to opt back in. Msg&data rates may apply.';
  return name === '' ? `R${text.slice(1)}` : `${name}: ${text}`;
}

/**
 * The form keywords are compared in: NFKC (full-width "ＳＴＯＰ" is STOP), invisible format characters removed,
 * the Unicode hyphens a phone's keyboard may put in "opt-out" read as "-", whitespace collapsed and trimmed, trailing
 * "." and "!" dropped, upper case.
 */
export function normaliseKeyword(body: string): string {
  const collapsed = body.normalize('NFKC').replace(/\p{Cf}/gu, '').replace(/[\u2010\u2011]/gu, '-').replace(/\s+/gu, ' ');
  return trimEnds(collapsed, (char) => char === '.' || char === '!' || char === ' ', 'end').trim().toUpperCase();
}

/**
 * `text` without the characters `drop` accepts at its start and/or end. A loop rather than a `[…]+$` pattern, which
 * retries from every position of a long run that is not at the end ("STOP" + 1,500 spaces + "x"): quadratic time.
 */
function trimEnds(text: string, drop: (char: string) => boolean, ends: 'end' | 'both'): string {
  let start = 0;
  let end = text.length;
  while (end > start && drop(text.charAt(end - 1))) end -= 1;
  if (ends === 'both') while (start < end && drop(text.charAt(start))) start += 1;
  return text.slice(start, end);
}

const OPT_OUT_SET: ReadonlySet<string> = new Set(OPT_OUT_KEYWORDS);
const OPT_IN_SET: ReadonlySet<string> = new Set(OPT_IN_KEYWORDS);
const HELP_SET: ReadonlySet<string> = new Set(HELP_KEYWORDS);
const PROVIDER_SET: ReadonlySet<string> = new Set(PROVIDER_KEYWORDS);

function kindFromOptOutType(optOutType: string | null | undefined): InboundKind | null {
  switch ((optOutType ?? '').trim().toUpperCase()) {
    case 'STOP':
      return 'opt_out';
    case 'START':
      return 'opt_in';
    case 'HELP':
      return 'help';
    default:
      return null;
  }
}

/**
 * Opt-out, opt-in and HELP keywords. Twilio's `OptOutType` (STOP, START, HELP) is its own classification and wins when
 * present, including keywords an account added in Advanced Opt-Out. Otherwise the whole normalised body must be a
 * keyword; with `optOutWords` `any`, a reply that contains an opt-out keyword as a whole word opts out too (see
 * containsOptOutWord). A longer message that reads like an opt-out request is `possible_opt_out` for a person to
 * review (see looksLikeOptOut).
 */
export function classifyInbound(body: string, optOutType?: string | null, optOutWords: OptOutWords = 'exact'): InboundKind {
  const fromProvider = kindFromOptOutType(optOutType);
  if (fromProvider) return fromProvider;
  const keyword = normaliseKeyword(body);
  if (OPT_OUT_SET.has(keyword)) return 'opt_out';
  if (OPT_IN_SET.has(keyword)) return 'opt_in';
  if (HELP_SET.has(keyword)) return 'help';
  if (optOutWords === 'any' && containsOptOutWord(body)) return 'opt_out';
  return looksLikeOptOut(body) ? 'possible_opt_out' : 'none';
}

/**
 * True when Twilio itself answers (and, for opt-outs, blocks) this message, so the app must not send its own
 * confirmation too (a contact never gets it twice). Uses the same normalisation as classifyInbound; whether Twilio also
 * forgives a trailing "." or "!" is not documented by Twilio, and is assumed here.
 */
export function providerHandlesKeyword(body: string, optOutType?: string | null): boolean {
  if (kindFromOptOutType(optOutType)) return true;
  return PROVIDER_SET.has(normaliseKeyword(body));
}

// --- possible opt-out heuristic -------------------------------------------------------------------------------
//
// The FCC treats stop, quit, end, revoke, opt out, cancel and unsubscribe as revocations "by any reasonable
// means", so a miss costs more than a false alarm (which only asks a person to look). Rules, on lower-cased words
// (letters, digits, apostrophes and hyphens; "stopwatch" and "non-stop" are words of their own, not "stop"):
//   1. strong words anywhere: stop, stopall, unsubscribe, unsub, optout, opt-out, revoke;
//   2. weak words (cancel, end, quit) only in a message of at most two words ("cancel please", "END NOW") or
//      followed within two words by a messaging noun ("cancel these texts"), since "the end of May" is common;
//   3. phrases: opt out, remove me, take me off, don't text, no more messages, leave me alone, wrong number, ...;
//   4. a strong or weak word right after a negation ("don't stop", "never stop") does not count, nor "stop" used
//      as a noun or with a visiting particle ("the bus stop", "next stop", "I'll stop by").
// Only English is covered.

const STRONG_WORDS: ReadonlySet<string> = new Set([
  'stop', 'stopall', 'unsubscribe', 'unsub', 'optout', 'opt-out', 'revoke',
]);
const WEAK_WORDS: ReadonlySet<string> = new Set(['cancel', 'end', 'quit']);
const MESSAGING_NOUNS: ReadonlySet<string> = new Set([
  'text', 'texts', 'texting', 'txt', 'txts', 'message', 'messages', 'messaging', 'msg', 'msgs', 'sms',
  'subscription', 'notifications', 'alerts', 'reminders',
]);
const NEGATIONS: ReadonlySet<string> = new Set([
  "don't", 'dont', 'not', 'never', "can't", 'cant', 'cannot', "won't", 'wont', "didn't", 'didnt', "doesn't",
  'doesnt', "shouldn't", "wouldn't", "couldn't", "isn't", "aren't",
]);
const STOP_AS_NOUN_BEFORE: ReadonlySet<string> = new Set([
  'a', 'the', 'bus', 'next', 'last', 'first', 'one', 'pit', 'full', 'each', 'every', 'my', 'your', 'our',
  'quick', 'short', 'truck', 'rest',
]);
const STOP_VISIT_AFTER: ReadonlySet<string> = new Set(['by', 'in', 'over', 'off', 'at']);
const OPT_OUT_PHRASES: readonly string[] = [
  'opt out', 'opt me out', 'remove me', 'remove my number', 'delete my number', 'lose my number', 'take me off',
  "don't text", 'dont text', 'do not text', "don't message", 'dont message', 'do not message', "don't contact",
  'dont contact', 'do not contact', "don't sms", 'do not sms', 'no more texts', 'no more text', 'no more messages',
  'leave me alone', 'wrong number',
];

function words(body: string): string[] {
  return body
    .normalize('NFKC')
    .replace(/\p{Cf}/gu, '')
    .replace(/[\u2018\u2019\u02BC]/gu, "'")
    .replace(/[\u2010\u2011]/gu, '-')
    .toLowerCase()
    .split(/[^\p{L}\p{N}'-]+/u)
    .map((word) => trimEnds(word, (char) => char === "'" || char === '-', 'both'))
    .filter((word) => word !== '');
}

function negated(list: readonly string[], index: number): boolean {
  const before = list[index - 1];
  return before !== undefined && NEGATIONS.has(before);
}

function stopIsNotARequest(list: readonly string[], index: number): boolean {
  const before = list[index - 1];
  const after = list[index + 1];
  const asNoun = before !== undefined && STOP_AS_NOUN_BEFORE.has(before);
  const asVisit = after !== undefined && STOP_VISIT_AFTER.has(after);
  return asNoun || asVisit;
}

/** Rule-based: see the comment block above. Exported for the review UI's highlighting and for tests. */
export function looksLikeOptOut(body: string): boolean {
  const list = words(body);
  const joined = ` ${list.join(' ')} `;
  if (OPT_OUT_PHRASES.some((phrase) => joined.includes(` ${phrase} `))) return true;
  return list.some((word, index) => {
    if (STRONG_WORDS.has(word)) {
      if (negated(list, index)) return false;
      return !(word === 'stop' && stopIsNotARequest(list, index));
    }
    if (WEAK_WORDS.has(word)) {
      if (negated(list, index)) return false;
      if (list.length <= 2) return true;
      return list.slice(index + 1, index + 3).some((next) => MESSAGING_NOUNS.has(next));
    }
    return false;
  });
}

// The opt-out keywords as words() reads a text: single words ("opt-out" is one word, as "non-stop" is), and the
// two-word ones as a pair of neighbours.
const OPT_OUT_WORDS: ReadonlySet<string> = new Set(OPT_OUT_KEYWORDS.filter((k) => !k.includes(' ')).map((k) => k.toLowerCase()));
const OPT_OUT_PAIRS: ReadonlySet<string> = new Set(OPT_OUT_KEYWORDS.filter((k) => k.includes(' ')).map((k) => k.toLowerCase()));

/**
 * True when the text contains an opt-out keyword as a whole word, in any case ("please STOP texting me", "I want to
 * opt out"): the rule of a company that chose `optOutWords` `any`. A word is a run of letters, digits, apostrophes
 * and hyphens, so "stopwatch", "non-stop" and "unstoppable" never count; nor does anything else, negations included
 * ("don't stop" counts: that company chose to read every such word as a request).
 */
export function containsOptOutWord(body: string): boolean {
  const list = words(body);
  return list.some((word, index) => OPT_OUT_WORDS.has(word) || (index > 0 && OPT_OUT_PAIRS.has(`${list[index - 1]} ${word}`)));
}
