import { describe, expect, it } from 'vitest';
import { ORDER_STATUSES, type OrderStatus as Status } from '@shopflow/contracts';
import { TRANSITIONS, decideRequestedTransition, decideSagaTransition, priceOrder } from './order.js';

describe('the order state machine', () => {
  it('lets PENDING, CONFIRMED and PAYMENT_PROCESSING move on, and terminal statuses nowhere', () => {
    expect(TRANSITIONS.PENDING).toEqual(['CONFIRMED', 'CANCELLED', 'FAILED']);
    expect(TRANSITIONS.PAYMENT_PROCESSING).toContain('COMPLETED');
    for (const terminal of ['COMPLETED', 'CANCELLED', 'FAILED'] as const) expect(TRANSITIONS[terminal]).toEqual([]);
  });

  it('allows exactly the edges of the machine through the API, except COMPLETED', () => {
    for (const from of ORDER_STATUSES) {
      for (const to of ORDER_STATUSES) {
        const kind = decideRequestedTransition(from, to).kind;
        const expected = from === to ? 'unchanged' : to !== 'COMPLETED' && TRANSITIONS[from].includes(to) ? 'apply' : 'rejected';
        expect(kind, `${from} -> ${to}`).toBe(expected);
      }
    }
    expect(decideRequestedTransition('PAYMENT_PROCESSING', 'COMPLETED')).toMatchObject({
      kind: 'rejected',
      reason: expect.stringMatching(/saga/),
    });
  });

  it('applies saga commands only forwards, however late or often they arrive', () => {
    const apply = (from: Status, to: Status) => decideSagaTransition(from, to).kind;
    expect(apply('PENDING', 'PAYMENT_PROCESSING')).toBe('apply'); // CONFIRMED may arrive later, or not at all
    expect(apply('PAYMENT_PROCESSING', 'CONFIRMED')).toBe('rejected');
    expect(apply('PAYMENT_PROCESSING', 'COMPLETED')).toBe('apply');
    expect(apply('COMPLETED', 'COMPLETED')).toBe('unchanged');
    expect(apply('CANCELLED', 'FAILED')).toBe('rejected'); // a terminal order never changes again
    expect(apply('FAILED', 'COMPLETED')).toBe('rejected');
  });
});

describe('pricing an order', () => {
  it("takes the client's amount for a product without a price, and needs one", () => {
    expect(priceOrder(2, 9999, null)).toEqual({ kind: 'priced', amountMinor: 9999 });
    expect(priceOrder(2, undefined, null)).toEqual({ kind: 'missing' });
  });

  it('charges quantity × price, and refuses a client amount that differs', () => {
    expect(priceOrder(3, undefined, 250)).toEqual({ kind: 'priced', amountMinor: 750 });
    expect(priceOrder(3, 750, 250)).toEqual({ kind: 'priced', amountMinor: 750 });
    expect(priceOrder(3, 1, 250)).toEqual({ kind: 'mismatch', expectedMinor: 750 });
  });
});
