import { describe, expect, it } from 'vitest';
import { PaymentStatus } from '@shopflow/contracts';
import { AppError } from '@shopflow/platform/errors';
import {
  Messages,
  decideRefund,
  newPayment,
  parseCharge,
  parseReason,
  randomDecider,
  refunded,
  replayCharge,
  requireId,
  voidedPayment,
} from './payment.js';

const at = '2024-01-01T00:00:00.000Z';
const charge = { orderId: 'o-1', customerId: 'c-1', amountMinor: 1999 };

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError) return `${error.code} ${error.errors[0]?.field}`;
    throw error;
  }
  return undefined;
}

describe('parseCharge', () => {
  it('converts the decimal amount to minor units', () => {
    expect(parseCharge({ orderId: 'o', customerId: 'c', amount: 19.99 })).toEqual({
      orderId: 'o',
      customerId: 'c',
      amountMinor: 1999,
    });
    expect(parseCharge({ orderId: 'o', customerId: 'c', amount: 0.1 + 0.2 }).amountMinor).toBe(30);
    expect(parseCharge({ orderId: 'o', customerId: 'c', amount: 0 }).amountMinor).toBe(0);
  });

  it.each([
    [{ orderId: '', customerId: 'c', amount: 1 }, 'INVALID_ARGUMENT order_id'],
    [{ orderId: 'x'.repeat(129), customerId: 'c', amount: 1 }, 'INVALID_ARGUMENT order_id'],
    [{ orderId: 'o', customerId: '', amount: 1 }, 'INVALID_ARGUMENT customer_id'],
    [{ orderId: 'o', customerId: 'c', amount: -0.01 }, 'INVALID_ARGUMENT amount'],
    [{ orderId: 'o', customerId: 'c', amount: 1.005 }, 'INVALID_ARGUMENT amount'],
    [{ orderId: 'o', customerId: 'c', amount: Number.NaN }, 'INVALID_ARGUMENT amount'],
    [{ orderId: 'o', customerId: 'c', amount: Number.POSITIVE_INFINITY }, 'INVALID_ARGUMENT amount'],
  ])('rejects %o naming the field', (request, expected) => {
    expect(fieldOf(() => parseCharge(request))).toBe(expected);
  });

  it('accepts ids of exactly 128 characters', () => {
    expect(requireId('order_id', 'x'.repeat(128))).toHaveLength(128);
  });
});

describe('parseReason', () => {
  it('allows an empty reason and rejects one over 1000 characters', () => {
    expect(parseReason('')).toBe('');
    expect(parseReason('r'.repeat(1000))).toHaveLength(1000);
    expect(fieldOf(() => parseReason('r'.repeat(1001)))).toBe('INVALID_ARGUMENT reason');
  });
});

describe('randomDecider', () => {
  it('succeeds when the draw is below the rate', () => {
    expect(randomDecider(0.9, () => 0.89)()).toBe(true);
    expect(randomDecider(0.9, () => 0.9)()).toBe(false);
  });

  it('always succeeds at rate 1 and never at rate 0', () => {
    const draws = [0, 0.5, 0.999999];
    expect(draws.map((d) => randomDecider(1, () => d)())).toEqual([true, true, true]);
    expect(draws.map((d) => randomDecider(0, () => d)())).toEqual([false, false, false]);
  });

  it('refuses a rate outside [0, 1]', () => {
    expect(() => randomDecider(1.5)).toThrow(RangeError);
    expect(() => randomDecider(Number.NaN)).toThrow(RangeError);
  });
});

describe('newPayment and replayCharge', () => {
  it('records the decision with the seed messages', () => {
    expect(newPayment('p', charge, true, at)).toMatchObject({ status: 'SUCCESS', message: Messages.charged, amountMinor: 1999 });
    expect(newPayment('p', charge, false, at)).toMatchObject({ status: 'FAILED', message: Messages.declined });
  });

  it.each([
    [PaymentStatus.Success, true],
    [PaymentStatus.Failed, false],
    [PaymentStatus.Refunded, false],
    [PaymentStatus.Voided, false],
  ])('a retried charge of a %s payment answers success=%s with the stored payment', (status, success) => {
    const payment = { ...newPayment('p', charge, true, at), status, message: `stored ${status}` };
    expect(replayCharge(payment)).toEqual({ payment, success, message: `stored ${status}` });
  });

  it('a charge after a void is declined with an explanation', () => {
    const result = replayCharge(voidedPayment('v', 'o-1', 'out of stock', at));
    expect(result).toMatchObject({ success: false, message: 'voided: the order was compensated before it was charged' });
    expect(result.payment).toMatchObject({ status: 'VOIDED', amountMinor: 0, customerId: '', refundReason: 'out of stock' });
  });
});

describe('decideRefund', () => {
  it('refunds a successful charge, carrying the reason', () => {
    expect(decideRefund(PaymentStatus.Success, 'stock lost')).toEqual({ kind: 'refund', message: 'refunded: stock lost' });
    expect(decideRefund(PaymentStatus.Success, '')).toEqual({ kind: 'refund', message: 'refunded' });
  });

  it.each([
    [PaymentStatus.Refunded, true],
    [PaymentStatus.Failed, false],
    [PaymentStatus.Voided, false],
  ])('leaves a %s payment unchanged with refunded=%s', (status, wasRefunded) => {
    expect(decideRefund(status, 'again')).toMatchObject({ kind: 'unchanged', refunded: wasRefunded });
  });

  it('a refunded payment keeps its identity and amount', () => {
    const before = newPayment('p', charge, true, at);
    const after = refunded(before, 'refunded: x', 'x', '2024-01-02T00:00:00.000Z');
    expect(after).toEqual({
      ...before,
      status: 'REFUNDED',
      message: 'refunded: x',
      refundReason: 'x',
      updatedAt: '2024-01-02T00:00:00.000Z',
    });
  });
});
