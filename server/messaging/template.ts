export const MERGE_FIELDS = [
  'person.first_name',
  'person.last_name',
  'person.name',
  'deal.title',
  'user.name',
  'company.name',
] as const;

export type MergeField = (typeof MERGE_FIELDS)[number];

export type MergeContext = {
  person?: { first_name?: string | null; last_name?: string | null; name?: string | null } | null;
  deal?: { title?: string | null } | null;
  user?: { name?: string | null } | null;
  company?: { name?: string | null } | null;
};

export type MergeTag = { raw: string; field: string; fallback: string | null; index: number };


const KNOWN: ReadonlySet<string> = new Set(MERGE_FIELDS);

export function isMergeField(field: string): field is MergeField {
  return KNOWN.has(field);
}

/**
 * `{{path}}` or `{{ path | fallback }}`: "{{", text without braces, then "}}". Whitespace around the path and
 * the fallback is not part of them; the fallback runs from the first "|" to the closing braces, so it may itself
 * contain "|". A "{{" whose next brace is not "}}" is text, and the search goes on from its second brace (so
 * "{{{x}}}" holds the tag "{{x}}").
 *
 * A hand-written scan rather than a pattern: the pattern this replaces backtracked on whitespace runs, and one
 * 300-character template held the event loop for seconds. Each character is looked at a bounded number of times.
 */
export function parseMergeTags(template: string): MergeTag[] {
  const tags: MergeTag[] = [];
  let from = 0;
  for (;;) {
    const index = template.indexOf('{{', from);
    if (index === -1) return tags;
    const close = nextBrace(template, index + 2);
    if (close === -1 || !template.startsWith('}}', close)) {
      // Not a tag: the next one may start at the second brace. The stretch up to `close` holds no brace, so
      // indexOf crosses it once more at most and every character is still read a bounded number of times.
      from = index + 1;
      continue;
    }
    tags.push(toTag(template, index, close));
    from = close + 2;
  }
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

function nextBrace(text: string, from: number): number {
  for (let i = from; i < text.length; i += 1) {
    const char = text.charCodeAt(i);
    if (char === OPEN_BRACE || char === CLOSE_BRACE) return i;
  }
  return -1;
}

// trim() removes white space and line terminators, the characters \s stands for in a pattern.
function toTag(template: string, index: number, close: number): MergeTag {
  const inside = template.slice(index + 2, close);
  const bar = inside.indexOf('|');
  return {
    raw: template.slice(index, close + 2),
    field: (bar === -1 ? inside : inside.slice(0, bar)).trim(),
    fallback: bar === -1 ? null : inside.slice(bar + 1).trim(),
    index,
  };
}

/** Distinct unknown field names in order of appearance ("" for an empty `{{}}`); names are case-sensitive. */
export function findUnknownFields(template: string): string[] {
  const unknown = new Set<string>();
  for (const tag of parseMergeTags(template)) {
    if (!isMergeField(tag.field)) unknown.add(tag.field);
  }
  return [...unknown];
}

export function mergeValue(field: MergeField, ctx: MergeContext): string {
  const value = lookup(field, ctx);
  // Names copied into a CRM often carry stray spaces; a value of only spaces is as empty as none.
  return typeof value === 'string' ? value.trim() : '';
}

function lookup(field: MergeField, ctx: MergeContext): string | null | undefined {
  switch (field) {
    case 'person.first_name':
      return ctx.person?.first_name;
    case 'person.last_name':
      return ctx.person?.last_name;
    case 'person.name':
      return ctx.person?.name;
    case 'deal.title':
      return ctx.deal?.title;
    case 'user.name':
      return ctx.user?.name;
    case 'company.name':
      return ctx.company?.name;
  }
}

/**
 * Replaces known merge tags by their (trimmed) value, or by the fallback (else '') when the value is empty.
 * Unknown tags are left exactly as written, so a preview shows the mistake; composeMessage refuses to send them.
 * One pass: a value that itself looks like `{{deal.title}}` is inserted literally, never expanded.
 * With `maxLength`, the result is cut to that many UTF-16 units, and rendering stops there: a template of many
 * tags times a long value would otherwise build and measure a text a hundred times longer than any SMS.
 */
export function renderTemplate(template: string, ctx: MergeContext, maxLength = Number.POSITIVE_INFINITY): string {
  let out = '';
  let copied = 0;
  for (const tag of parseMergeTags(template)) {
    if (out.length >= maxLength) break;
    out += template.slice(copied, tag.index) + renderTag(tag, ctx);
    copied = tag.index + tag.raw.length;
  }
  if (out.length < maxLength) out += template.slice(copied);
  return out.length > maxLength ? out.slice(0, maxLength) : out;
}

function renderTag(tag: MergeTag, ctx: MergeContext): string {
  if (!isMergeField(tag.field)) return tag.raw;
  const value = mergeValue(tag.field, ctx);
  return value !== '' ? value : (tag.fallback ?? '');
}
