import { AppError } from './errors.js';

/** Where a keyset page starts: the sort key and id of the last item the page before showed. */
export interface PageCursor<K extends string | number = string | number> {
  key: K;
  id: string;
}

/** One page of a list, newest first, and the opaque cursor of the next page (null on the last one). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** The opaque `next_cursor` a list answers with: base64url of the (key, id) pair. */
export function encodeCursor({ key, id }: PageCursor): string {
  return Buffer.from(JSON.stringify([key, id])).toString('base64url');
}

/**
 * The position a `?cursor=` names, or undefined without one. A cursor this kind of list did not
 * give out (another key type, tampered, truncated) is a 400 naming the field.
 */
export function decodeCursor<K extends 'string' | 'number'>(
  text: string | undefined,
  keyType: K,
): PageCursor<K extends 'string' ? string : number> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== keyType || typeof value[1] !== 'string') {
    throw AppError.invalid('cursor', 'is not a cursor this list answered with');
  }
  return { key: value[0] as K extends 'string' ? string : number, id: value[1] };
}

/**
 * The SQL condition for rows after `cursor` in `ORDER BY <key> DESC, <id> DESC`, its values pushed
 * onto `params`. Written as a bound on the key first, so an index on (…, key, id) reads a range.
 */
export function afterCursor(cursor: PageCursor, keyColumn: string, idColumn: string, params: unknown[]): string {
  const key = params.push(cursor.key);
  const id = params.push(cursor.id);
  return `${keyColumn} <= $${key} AND (${keyColumn} < $${key} OR ${idColumn} < $${id})`;
}

/**
 * Cuts the rows of a query made with `LIMIT limit + 1` into a page: the extra row only tells that
 * another page follows, whose cursor is the last row shown.
 */
export function toPage<T>(rows: T[], limit: number, cursorOf: (row: T) => PageCursor): Page<T> {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  return { items, nextCursor: encodeCursor(cursorOf(items[items.length - 1]!)) };
}
