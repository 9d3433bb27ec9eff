/**
 * Where a page of a report list ends: the (time, id) of its last row, and which list it belongs to. Handed to the
 * caller as an opaque token; the next page continues strictly after that row, so rows added meanwhile at the top
 * never shift or repeat a page.
 */
export type ListKind = 'messages' | 'replies';
export type CursorKey = { at: string; id: string };

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z$/;
const ROW_ID = /^[\w-]{1,64}$/;
const TAG: Record<ListKind, string> = { messages: 'm', replies: 'r' };

export function encodeCursor(kind: ListKind, key: CursorKey): string {
  return Buffer.from(JSON.stringify([TAG[kind], key.at, key.id])).toString('base64url');
}

/** The key a token stands for, or null for anything that is not a token of this list (tampered, truncated, the other list's). */
export function decodeCursor(kind: ListKind, token: string): CursorKey | null {
  if (token.length === 0 || token.length > 200) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length !== 3) return null;
  const [tag, at, id] = value as unknown[];
  if (tag !== TAG[kind] || typeof at !== 'string' || typeof id !== 'string') return null;
  if (!ISO_UTC.test(at) || Number.isNaN(Date.parse(at)) || !ROW_ID.test(id)) return null;
  return { at, id };
}
