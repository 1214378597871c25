import type { Saga } from './saga.js';

/** A step's answer. A rejection is the callee saying "no" for a business reason: never retried. */
export type StepResult =
  { kind: 'ok'; paymentId?: string; detail?: string } | { kind: 'rejected'; nonRetryable: true; reason: string };

/**
 * Stock in the inventory service, keyed by order id so every call is safe to repeat.
 * Technical failures are thrown as AppErrors; isTransient() tells whether to retry.
 */
export interface StockPort {
  reserve(saga: Saga): Promise<StepResult>;
  commit(saga: Saga): Promise<StepResult>;
  /** Undoes the order's reservation, or returns its stock if it was committed; fences off a late reserve. */
  release(saga: Saga): Promise<StepResult>;
}

/** The payment service, keyed by order id: a repeated charge returns the first result. */
export interface PaymentPort {
  charge(saga: Saga): Promise<StepResult>;
  /** Refunds a charge, or voids the order so a charge still in flight is declined. */
  refund(saga: Saga): Promise<StepResult>;
}
