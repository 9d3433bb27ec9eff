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

// `{{path}}` or `{{ path | fallback }}`; spaces around the path and the fallback are not part of them. The fallback
// runs to the closing braces, so it may itself contain "|".
const MERGE_TAG = /\{\{\s*([^{}|]*?)\s*(?:\|\s*([^{}]*?)\s*)?\}\}/gu;

const KNOWN: ReadonlySet<string> = new Set(MERGE_FIELDS);

export function isMergeField(field: string): field is MergeField {
  return KNOWN.has(field);
}

export function parseMergeTags(template: string): MergeTag[] {
  return Array.from(template.matchAll(MERGE_TAG), (match) => ({
    raw: match[0],
    field: match[1] ?? '',
    fallback: match[2] ?? null,
    index: match.index,
  }));
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
 */
export function renderTemplate(template: string, ctx: MergeContext): string {
  return template.replace(MERGE_TAG, (raw: string, field: string, fallback: string | undefined) => {
    if (!isMergeField(field)) return raw;
    const value = mergeValue(field, ctx);
    return value !== '' ? value : (fallback ?? '');
  });
}
