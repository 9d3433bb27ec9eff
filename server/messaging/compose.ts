import { normaliseLookalikes } from './gsm.js';
import { measureText, type Encoding } from './segments.js';
import { findShortenerHosts } from './shorteners.js';
import { ensureStopClause } from './stop-clause.js';
import { findUnknownFields, MERGE_FIELDS, renderTemplate, type MergeContext } from './template.js';

export type SkipReason =
  | 'no_consent'
  | 'opted_out'
  | 'missing_phone'
  | 'invalid_phone'
  | 'too_long'
  | 'link_shortener'
  | 'unknown_field';

export type ComposeOptions = { maxSegments: number };

export type ComposeProblem = 'too_long' | 'link_shortener' | 'unknown_field';

export type ComposedMessage =
  | { ok: true; body: string; encoding: Encoding; segments: number; characters: number }
  | {
      ok: false;
      reason: ComposeProblem;
      body: string;
      encoding: Encoding;
      segments: number;
      characters: number;
      detail?: string;
    };

export type TemplateProblemCode = ComposeProblem | 'empty';

export type TemplateValidation = {
  ok: boolean;
  problems: Array<{ code: TemplateProblemCode; message: string }>;
  segments: number;
  encoding: Encoding;
  characters: number;
  body: string;
};

export type TemplatePreview = {
  body: string;
  encoding: Encoding;
  segments: number;
  characters: number;
  maxSegments: number;
  problems: TemplateProblemCode[];
};

// Twilio refuses a Body over 1,600 characters (error 21617) whatever the company's segment setting says.
export const MAX_BODY_CHARACTERS = 1600;

function assertMaxSegments(maxSegments: number): void {
  if (!Number.isInteger(maxSegments) || maxSegments < 1) {
    throw new RangeError(`maxSegments must be a positive integer, got ${String(maxSegments)}`);
  }
}

// A merged text longer than this is too long to send (only a text mostly of characters that normalising removes or
// composes could shrink back under the limit), so merging stops there: 106 tags of a 1,600-character value would
// otherwise make 170,000 characters to normalise, scan and segment on the shared event loop.
const MAX_MERGED_CHARACTERS = 2 * MAX_BODY_CHARACTERS;

/** The text exactly as it would be sent: merged, trimmed, look-alikes replaced, STOP clause ensured. */
export function finalBody(template: string, ctx: MergeContext): string {
  return ensureStopClause(normaliseLookalikes(renderTemplate(template, ctx, MAX_MERGED_CHARACTERS)).trim());
}

type Measured = { body: string; encoding: Encoding; segments: number; characters: number };

function measureBody(body: string): Measured {
  return { body, ...measureText(body) };
}

function isTooLong(measured: Measured, maxSegments: number): boolean {
  return measured.segments > maxSegments || measured.characters > MAX_BODY_CHARACTERS;
}

function describeLength(measured: Measured, maxSegments: number): string {
  const unit = measured.encoding === 'GSM-7' ? 'GSM-7 characters' : 'UCS-2 characters';
  const parts = `${measured.segments} segment${measured.segments === 1 ? '' : 's'}`;
  const max = `${maxSegments} segment${maxSegments === 1 ? '' : 's'}`;
  return `${parts} (${measured.characters} ${unit}), more than the maximum of ${max}`;
}

/**
 * Merges one message for one recipient. The checks run on the final text, so a merged value carrying a shortener
 * link or pushing the text over the limit is caught here, not only at save time. When several problems apply, the
 * reason is the first of unknown_field, link_shortener, too_long (a broken template before a bad link before length).
 */
export function composeMessage(template: string, ctx: MergeContext, options: ComposeOptions): ComposedMessage {
  assertMaxSegments(options.maxSegments);
  const measured = measureBody(finalBody(template, ctx));
  const unknown = findUnknownFields(template);
  if (unknown.length > 0) {
    return { ok: false, reason: 'unknown_field', ...measured, detail: unknownFieldsMessage(unknown) };
  }
  const hosts = findShortenerHosts(measured.body);
  if (hosts.length > 0) {
    return { ok: false, reason: 'link_shortener', ...measured, detail: shortenerMessage(hosts) };
  }
  if (isTooLong(measured, options.maxSegments)) {
    const detail = `The message measures ${describeLength(measured, options.maxSegments)}.`;
    return { ok: false, reason: 'too_long', ...measured, detail };
  }
  return { ok: true, ...measured };
}

function unknownFieldsMessage(fields: readonly string[]): string {
  const named = fields.map((field) => `{{${field}}}`).join(', ');
  return `Unknown merge field${fields.length === 1 ? '' : 's'} ${named}. Available: ${AVAILABLE_FIELDS}.`;
}

function shortenerMessage(hosts: readonly string[]): string {
  return (
    `Links on public shorteners (${hosts.join(', ')}) are filtered by carriers; ` +
    'use the full link or a shortener on your own domain.'
  );
}

const AVAILABLE_FIELDS = MERGE_FIELDS.map((field) => `{{${field}}}`).join(', ');

/**
 * Save-time check. The template is measured with every merge field at its fallback (or empty), the shortest the
 * message can get: if even that does not fit, no recipient's message will.
 */
export function validateTemplate(template: string, options: ComposeOptions): TemplateValidation {
  assertMaxSegments(options.maxSegments);
  const measured = measureBody(finalBody(template, {}));
  const problems: TemplateValidation['problems'] = [];
  if (template.trim() === '') {
    problems.push({ code: 'empty', message: 'The message is empty.' });
  }
  const unknown = findUnknownFields(template);
  if (unknown.length > 0) {
    problems.push({ code: 'unknown_field', message: unknownFieldsMessage(unknown) });
  }
  // The template itself and its rendering are both checked: a look-alike-written link ("ｂｉｔ.ｌｙ") only shows
  // after normalisation, and a fallback can carry a link too.
  const hosts = [...new Set([...findShortenerHosts(template), ...findShortenerHosts(measured.body)])];
  if (hosts.length > 0) {
    problems.push({ code: 'link_shortener', message: shortenerMessage(hosts) });
  }
  if (isTooLong(measured, options.maxSegments)) {
    problems.push({
      code: 'too_long',
      message: `Even with empty merge fields the message measures ${describeLength(measured, options.maxSegments)}.`,
    });
  }
  return { ok: problems.length === 0, problems, ...measured };
}

/**
 * The settings page's live counter, in the preview's stable response shape. Without a sample, merge fields render their
 * fallback or empty; with one, the sample is merged. Problem codes are listed in the order empty, unknown_field,
 * link_shortener, too_long.
 */
export function previewTemplate(
  template: string,
  sample: MergeContext | undefined,
  options: ComposeOptions,
): TemplatePreview {
  assertMaxSegments(options.maxSegments);
  const measured = measureBody(finalBody(template, sample ?? {}));
  const problems: TemplateProblemCode[] = [];
  if (template.trim() === '') problems.push('empty');
  if (findUnknownFields(template).length > 0) problems.push('unknown_field');
  if (findShortenerHosts(template).length > 0 || findShortenerHosts(measured.body).length > 0) {
    problems.push('link_shortener');
  }
  if (isTooLong(measured, options.maxSegments)) problems.push('too_long');
  return {
    body: measured.body,
    encoding: measured.encoding,
    segments: measured.segments,
    characters: measured.characters,
    maxSegments: options.maxSegments,
    problems,
  };
}
