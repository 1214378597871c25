import { describe, expect, it } from 'vitest';
import { fromMinorUnits, toMinorUnits } from './money.js';

describe('money', () => {
  it('converts the seed amount 99.99 to 9999 minor units and back', () => {
    expect(toMinorUnits(99.99)).toBe(9999);
    expect(fromMinorUnits(9999)).toBe(99.99);
  });
  it('tolerates binary floating point noise', () => {
    expect(toMinorUnits(0.1 + 0.2)).toBe(30);
    expect(toMinorUnits(19.9)).toBe(1990); // 19.9 * 100 is 1989.9999999999998 in binary
  });
  it('rejects negative, non-finite and sub-cent amounts', () => {
    expect(toMinorUnits(-1)).toBeUndefined();
    expect(toMinorUnits(Number.NaN)).toBeUndefined();
    expect(toMinorUnits(Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(toMinorUnits(1.234)).toBeUndefined();
  });
});
