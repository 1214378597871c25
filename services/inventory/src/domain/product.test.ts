import { describe, expect, it } from 'vitest';
import { etagOf, parseIfMatch } from './product.js';

describe('If-Match on a product', () => {
  it('reads strong ETags and *, and nothing else as a version', () => {
    expect(parseIfMatch(undefined)).toBeUndefined();
    expect(parseIfMatch('*')).toEqual({ any: true });
    expect(parseIfMatch(etagOf({ version: 7 }))).toEqual({ any: false, versions: [7] });
    expect(parseIfMatch('"3", W/"4" , "5"')).toEqual({ any: false, versions: [3, 5] });
    expect(parseIfMatch('7')).toEqual({ any: false, versions: [] });
  });
});
