import { describe, expect, it } from 'vitest';
import { AppError, ErrorCode } from '../errors.js';
import { listLimit, orNotFound } from './handlers.js';

describe('listLimit', () => {
  it('takes the default without a limit, the given number below the cap, and the cap above it', () => {
    expect(listLimit(undefined)).toBe(100);
    expect(listLimit('5')).toBe(5);
    expect(listLimit('0')).toBe(0);
    expect(listLimit('1000')).toBe(1000);
    expect(listLimit('9999')).toBe(1000);
  });
});

describe('orNotFound', () => {
  it('hands back what a lookup found, falsy values included', () => {
    const order = { id: 'o-1' };
    expect(orNotFound(order, 'order', 'o-1')).toBe(order);
    expect(orNotFound(0, 'count', 'c')).toBe(0);
  });

  it('throws a NOT_FOUND AppError naming the entity when the lookup found nothing', () => {
    for (const missing of [null, undefined]) {
      let thrown: unknown;
      try {
        orNotFound(missing, 'reservation of order', 'o-9');
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(AppError);
      expect(thrown).toMatchObject({ code: ErrorCode.NotFound, message: 'reservation of order o-9 not found' });
    }
  });
});
