import { describe, expect, it } from 'vitest';
import {
  classifyInbound,
  containsOptOutWord,
  defaultHelpText,
  looksLikeOptOut,
  normaliseKeyword,
  OPT_OUT_CONFIRMATION,
  providerHandlesKeyword,
  type InboundKind,
} from '../../../server/messaging/index.js';

describe('classifyInbound without OptOutType', () => {
  it.each<[string, InboundKind]>([
    // whole-text keywords in any case, with spaces or a trailing . or !; longer texts are at most possible opt-outs
    ['STOP', 'opt_out'],
    [' stop ', 'opt_out'],
    ['Stop.', 'opt_out'],
    ['STOP ALL', 'opt_out'],
    ['stopall', 'opt_out'],
    ['Unsubscribe!', 'opt_out'],
    ['OPTOUT', 'opt_out'],
    ['revoke', 'opt_out'],
    // the two forms people write that Twilio does not handle (it matches single words without spaces or hyphens)
    ['OPT OUT', 'opt_out'],
    ['opt out!', 'opt_out'],
    ['Opt  Out.', 'opt_out'],
    ['OPT-OUT', 'opt_out'],
    ['opt-out.', 'opt_out'],
    ['opt\u2011out', 'opt_out'], // a non-breaking hyphen
    ['OPT - OUT', 'possible_opt_out'],
    ['OPT OUT NOW', 'possible_opt_out'],
    ['START', 'opt_in'],
    ['yes', 'opt_in'],
    ['UNSTOP', 'opt_in'],
    ['HELP', 'help'],
    ['info', 'help'],
    ['STOP NOW', 'possible_opt_out'],
    ['please stop', 'possible_opt_out'],
    ['Can you stop texting me', 'possible_opt_out'],
    ['stopwatch', 'none'],
    ['Thanks!', 'none'],
    // the other opt-out, opt-in and help keywords, and the normalisation (NFKC, trimmed, inner
    // whitespace collapsed, a trailing . or ! dropped, any case)
    ['cancel', 'opt_out'],
    ['End', 'opt_out'],
    ['QUIT', 'opt_out'],
    ['sToP', 'opt_out'],
    ['STOP!!', 'opt_out'],
    ['STOP .', 'opt_out'],
    ['stop   all', 'opt_out'],
    ['\tSTOP\n', 'opt_out'],
    ['\uFF33\uFF34\uFF2F\uFF30', 'opt_out'], // full-width, NFKC
    ['STOP\u200B', 'opt_out'],
    ['Start!', 'opt_in'],
    ['Yes.', 'opt_in'],
    ['help!', 'help'],
    ['Info.', 'help'],
    ['STOP?', 'possible_opt_out'],
    ['"STOP"', 'possible_opt_out'],
    ['STOP STOP', 'possible_opt_out'],
    ['Please unsubscribe me', 'possible_opt_out'],
    ['unsubscribe me', 'possible_opt_out'],
    ['Remove me from your list', 'possible_opt_out'],
    ["Don't text me again", 'possible_opt_out'],
    ['Do not text this number', 'possible_opt_out'],
    ['Stop. Thanks', 'possible_opt_out'],
    ['Why don’t you stop texting me', 'possible_opt_out'],
    ['Take me off this list', 'possible_opt_out'],
    ['No more texts please', 'possible_opt_out'],
    ['wrong number', 'possible_opt_out'],
    ['cancel please', 'possible_opt_out'],
    ['END NOW', 'possible_opt_out'],
    ['Please cancel these texts', 'possible_opt_out'],
    ['quit messaging me', 'possible_opt_out'],
    ['I want to opt-out', 'possible_opt_out'],
    ['I revoke my consent', 'possible_opt_out'],
    ['Make that stop!', 'possible_opt_out'],
    // not opt-out requests
    ["Don't stop", 'none'],
    ['Never stop improving!', 'none'],
    ["I'll stop by tomorrow", 'none'],
    ['Next stop: the office', 'none'],
    ['Meet me at the bus stop', 'none'],
    ['Can I cancel my appointment?', 'none'],
    ['See you at the end of May', 'none'],
    ['Nonstop flights only', 'none'],
    ['non-stop', 'none'],
    ['Unstoppable', 'none'],
    ['Yes please', 'none'],
    ['START NOW', 'none'],
    ['Help me choose a colour', 'none'],
    ['Sounds good', 'none'],
    ['', 'none'],
    ['   ', 'none'],
    ['👍', 'none'],
  ])('%j -> %s', (body, kind) => {
    expect(classifyInbound(body)).toBe(kind);
    expect(classifyInbound(body, null)).toBe(kind);
  });
});

describe('classifyInbound when the company reads any opt-out word as an opt-out', () => {
  it.each<[string, InboundKind, InboundKind]>([
    // body, with 'any', with 'exact'
    ['please stop texting me', 'opt_out', 'possible_opt_out'],
    ['STOP NOW', 'opt_out', 'possible_opt_out'],
    ['I want to opt out', 'opt_out', 'possible_opt_out'],
    ['I want to opt-out', 'opt_out', 'possible_opt_out'],
    ['Cancel my appointment please', 'opt_out', 'none'],
    ['see you at the end of May', 'opt_out', 'none'],
    ["Don't stop", 'opt_out', 'none'],
    ['Unsubscribe!!! now', 'opt_out', 'possible_opt_out'],
    ['ok.STOP', 'opt_out', 'possible_opt_out'],
    ['ST\u200BOP please', 'opt_out', 'possible_opt_out'], // an invisible character inside the word
    ['\uFF53\uFF54\uFF4F\uFF50 it', 'opt_out', 'possible_opt_out'], // full-width, NFKC
    // exact keywords keep their kind; opt-in and HELP still need the whole reply
    ['STOP', 'opt_out', 'opt_out'],
    ['START', 'opt_in', 'opt_in'],
    ['YES', 'opt_in', 'opt_in'],
    ['help', 'help', 'help'],
    ['Yes please', 'none', 'none'],
    ['START NOW', 'none', 'none'],
    ['yes, stop', 'opt_out', 'possible_opt_out'],
    ['help me stop these', 'opt_out', 'possible_opt_out'],
    // no opt-out word as a whole word
    ['stopwatch', 'none', 'none'],
    ['Unstoppable', 'none', 'none'],
    ['non-stop', 'none', 'none'],
    ['Nonstop flights only', 'none', 'none'],
    ['the endgame', 'none', 'none'],
    ['optout-ish', 'none', 'none'],
    ['Remove me from your list', 'possible_opt_out', 'possible_opt_out'],
    ['Thanks!', 'none', 'none'],
    ['', 'none', 'none'],
  ])('%j -> %s with any, %s with exact', (body, any, exact) => {
    expect(classifyInbound(body, null, 'any')).toBe(any);
    expect(classifyInbound(body, null, 'exact')).toBe(exact);
    expect(classifyInbound(body)).toBe(exact);
  });

  it('still lets Twilio’s OptOutType win', () => {
    expect(classifyInbound('please stop', 'START', 'any')).toBe('opt_in');
  });

  it.each<[string, boolean]>([
    ['stop', true],
    ['opt out', true],
    ['OPT-OUT', true],
    ['please, STOP ALL of it', true],
    ['opt', false],
    ['out', false],
    ['opt in or out', false],
    ["stop's", false],
    ['stop-gap', false],
    ['-stop-', true],
    ['', false],
  ])('containsOptOutWord(%j) -> %s', (body, expected) => {
    expect(containsOptOutWord(body)).toBe(expected);
  });
});

describe('classifyInbound with Twilio’s OptOutType', () => {
  it.each<[string, string, InboundKind]>([
    ['arret', 'STOP', 'opt_out'], // a keyword added in Advanced Opt-Out
    ['STOP NOW', 'STOP', 'opt_out'],
    ['Thanks', 'stop', 'opt_out'],
    ['STOP', 'START', 'opt_in'], // Twilio's word wins over our own reading
    ['ayuda', 'HELP', 'help'],
    ['STOP', '', 'opt_out'],
    ['STOP', 'SOMETHING_NEW', 'opt_out'], // unknown values are ignored
    ['Thanks', 'OTHER', 'none'],
  ])('%j with %j -> %s', (body, optOutType, kind) => {
    expect(classifyInbound(body, optOutType)).toBe(kind);
  });
});

describe('providerHandlesKeyword', () => {
  it.each<[string, boolean]>([
    ['STOP', true],
    ['stop', true],
    ['Stop.', true],
    ['STOPALL', true],
    ['UNSUBSCRIBE', true],
    ['CANCEL', true],
    ['END', true],
    ['QUIT', true],
    ['REVOKE', true],
    ['OPTOUT', true],
    ['START', true],
    ['YES', true],
    ['UNSTOP', true],
    ['HELP', true],
    ['INFO', true],
    // Twilio matches single words only: the app must answer these itself.
    ['STOP ALL', false],
    ['stop all', false],
    ['OPT OUT', false],
    ['opt-out', false],
    ['STOP NOW', false],
    ['please stop', false],
    ['Thanks', false],
  ])('%j -> %s', (body, expected) => {
    expect(providerHandlesKeyword(body)).toBe(expected);
  });

  it('trusts OptOutType when present', () => {
    expect(providerHandlesKeyword('arret', 'STOP')).toBe(true);
    expect(providerHandlesKeyword('STOP ALL', null)).toBe(false);
  });
});

describe('keyword texts', () => {
  it('has the exact opt-out confirmation Twilio sends', () => {
    expect(OPT_OUT_CONFIRMATION).toBe(
      'You have successfully been unsubscribed. You will not receive any more messages from this number. Reply START to resubscribe.',
    );
  });

  it.each<[string | null | undefined, string]>([
    ['Acme Roofing', 'Acme Roofing: reply STOP to opt out, START to opt back in. Msg&data rates may apply.'],
    ['  Acme  ', 'Acme: reply STOP to opt out, START to opt back in. Msg&data rates may apply.'],
    ['', 'Reply STOP to opt out, START to opt back in. Msg&data rates may apply.'],
    [null, 'Reply STOP to opt out, START to opt back in. Msg&data rates may apply.'],
  ])('defaultHelpText(%j)', (name, expected) => {
    expect(defaultHelpText(name)).toBe(expected);
  });

  it('normalises: trimmed, inner whitespace collapsed, trailing . and ! dropped, upper case', () => {
    expect(normaliseKeyword('  stop \t all !. ')).toBe('STOP ALL');
    expect(looksLikeOptOut('stopwatch')).toBe(false);
  });
});
