import { describe, expect, it } from 'vitest';
import { AppError } from './errors.js';
import { afterCursor, decodeCursor, encodeCursor, toPage } from './pagination.js';

describe('keyset pages', () => {
  it('gives back the position a cursor was made from, and refuses any other text', () => {
    const cursor = encodeCursor({ key: '2026-01-01T00:00:00.000Z', id: 'o-1' });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, 'string')).toEqual({ key: '2026-01-01T00:00:00.000Z', id: 'o-1' });
    expect(decodeCursor(undefined, 'string')).toBeUndefined();
    for (const bad of [cursor.slice(0, -3), 'AAAA', encodeCursor({ key: 5, id: 'o' })]) {
      expect(() => decodeCursor(bad, 'string')).toThrow(AppError);
    }
    expect(decodeCursor(encodeCursor({ key: 5, id: 'o' }), 'number')).toEqual({ key: 5, id: 'o' });
  });

  it('cuts a LIMIT n+1 result into a page and the cursor of its last row', () => {
    const rows = [1, 2, 3, 4].map((n) => ({ at: n, id: `r${n}` }));
    const cursorOf = (r: { at: number; id: string }) => ({ key: r.at, id: r.id });
    expect(toPage(rows, 4, cursorOf)).toEqual({ items: rows, nextCursor: null });
    const page = toPage(rows, 3, cursorOf);
    expect(page.items).toEqual(rows.slice(0, 3));
    expect(decodeCursor(page.nextCursor!, 'number')).toEqual({ key: 3, id: 'r3' });
  });

  it('bounds the key first, so the condition is an index range', () => {
    const params: unknown[] = ['c'];
    expect(afterCursor({ key: 'k', id: 'i' }, 'created_at', 'id', params)).toBe(
      'created_at <= $2 AND (created_at < $2 OR id < $3)',
    );
    expect(params).toEqual(['c', 'k', 'i']);
  });
});
