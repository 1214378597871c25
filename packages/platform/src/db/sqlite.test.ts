import { describe, expect, it } from 'vitest';
import { translatePlaceholders } from './sqlite.js';

describe('translatePlaceholders', () => {
  it('turns $n into ? and remembers which parameter each takes, repeats included', () => {
    expect(translatePlaceholders('UPDATE t SET a = $2, b = $1 WHERE id = $1 AND n = $10')).toEqual({
      sql: 'UPDATE t SET a = ?, b = ? WHERE id = ? AND n = ?',
      order: [1, 0, 0, 9],
    });
  });

  it('leaves dollars inside string literals and bare dollars alone', () => {
    expect(translatePlaceholders(`SELECT '$1', "x$2", 'it''s $3', $ FROM t WHERE a = $1`)).toEqual({
      sql: `SELECT '$1', "x$2", 'it''s $3', $ FROM t WHERE a = ?`,
      order: [0],
    });
  });
});
