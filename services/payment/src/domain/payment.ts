import { MAX_AMOUNT, PaymentStatus, toMinorUnits } from '@shopflow/contracts';
import { AppError } from '@shopflow/platform/errors';

/** A payment as the payment service stores it; money in minor units. One row per order. */
export interface Payment {
  id: string;
  orderId: string;
  /** Empty for a VOIDED tombstone: nobody was charged. */
  customerId: string;
  amountMinor: number;
  status: PaymentStatus;
  /** What the caller that created or last changed the row was told. */
  message: string;
  refundReason: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A validated ProcessPayment request. */
export interface Charge {
  orderId: string;
  customerId: string;
  amountMinor: number;
}

/** What ProcessPayment answers, first time or on a retry. */
export interface ChargeResult {
  payment: Payment;
  success: boolean;
  message: string;
}

/** What RefundPayment answers. */
export interface RefundResult {
  payment: Payment;
  /** True when money went back (or had already gone back) to the customer. */
  refunded: boolean;
  message: string;
}

/** Decides whether a new charge goes through; injected so tests can fix the outcome. */
export type Decider = () => boolean;

/** The seed's simulated card network: each charge succeeds with probability `successRate` (0..1). */
export function randomDecider(successRate: number, random: () => number = Math.random): Decider {
  if (!(successRate >= 0 && successRate <= 1)) throw new RangeError(`success rate ${successRate} is not in [0, 1]`);
  // random() is in [0, 1): a rate of 1 always succeeds and a rate of 0 never does.
  return () => random() < successRate;
}

export const Messages = {
  // The seed's wording, which seed clients may show.
  charged: 'Payment processed successfully',
  declined: 'Payment failed',
  voided: 'voided: the order was compensated before it was charged',
} as const;

export const ID_MAX_LENGTH = 128;
export const REASON_MAX_LENGTH = 1000;

/** Throws an INVALID_ARGUMENT naming `field` unless `value` is a usable id. */
export function requireId(field: string, value: string): string {
  if (value.length === 0) throw AppError.invalid(field, 'is required');
  if (value.length > ID_MAX_LENGTH) throw AppError.invalid(field, `must be at most ${ID_MAX_LENGTH} characters`);
  return value;
}

/** Validates a ProcessPayment request (proto3 sends '' and 0 for absent fields). */
export function parseCharge(request: { orderId: string; customerId: string; amount: number }): Charge {
  const orderId = requireId('order_id', request.orderId);
  const customerId = requireId('customer_id', request.customerId);
  const amountMinor = toMinorUnits(request.amount);
  if (amountMinor === undefined) {
    throw AppError.invalid('amount', `must be a finite number from 0 to ${MAX_AMOUNT} with at most two decimal places`);
  }
  return { orderId, customerId, amountMinor };
}

/** Validates a refund reason; an empty reason is allowed. */
export function parseReason(reason: string): string {
  if (reason.length > REASON_MAX_LENGTH) throw AppError.invalid('reason', `must be at most ${REASON_MAX_LENGTH} characters`);
  return reason;
}

/** A new payment for a charge the decider has ruled on. */
export function newPayment(id: string, charge: Charge, success: boolean, at: string): Payment {
  return {
    id,
    ...charge,
    status: success ? PaymentStatus.Success : PaymentStatus.Failed,
    message: success ? Messages.charged : Messages.declined,
    refundReason: null,
    createdAt: at,
    updatedAt: at,
  };
}

/**
 * The tombstone a refund leaves for an order that was never charged: the saga compensated before
 * its charge arrived, so the charge, if it comes late, must find the order closed.
 */
export function voidedPayment(id: string, orderId: string, reason: string, at: string): Payment {
  return {
    id,
    orderId,
    customerId: '',
    amountMinor: 0,
    status: PaymentStatus.Voided,
    message: Messages.voided,
    refundReason: reason || null,
    createdAt: at,
    updatedAt: at,
  };
}

/** What a charge returns for an order that already has a payment: the first outcome, never a second charge. */
export function replayCharge(payment: Payment): ChargeResult {
  return { payment, success: payment.status === PaymentStatus.Success, message: payment.message };
}

export type RefundDecision =
  /** Money goes back: the payment becomes REFUNDED and a refunded event is published. */
  | { kind: 'refund'; message: string }
  /** Nothing changes; `refunded` says whether the customer has their money back. */
  | { kind: 'unchanged'; refunded: boolean; message: string };

/** What a refund does to a payment in each status. Refunds are retried by the saga, so each is idempotent. */
export function decideRefund(status: PaymentStatus, reason: string): RefundDecision {
  switch (status) {
    case PaymentStatus.Success:
      return { kind: 'refund', message: reason ? `refunded: ${reason}` : 'refunded' };
    case PaymentStatus.Refunded:
      return { kind: 'unchanged', refunded: true, message: 'already refunded' };
    case PaymentStatus.Failed:
      return { kind: 'unchanged', refunded: false, message: 'nothing to refund: the charge was declined' };
    case PaymentStatus.Voided:
      return { kind: 'unchanged', refunded: false, message: 'nothing to refund: the order was voided before it was charged' };
  }
}

/** The payment after a refund decided by decideRefund. */
export function refunded(payment: Payment, message: string, reason: string, at: string): Payment {
  return { ...payment, status: PaymentStatus.Refunded, message, refundReason: reason || null, updatedAt: at };
}
