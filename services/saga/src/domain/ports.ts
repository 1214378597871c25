/** What a step call needs to know of the saga's order. */
export interface SagaOrder {
  orderId: string;
  customerId: string;
  productId: string;
  quantity: number;
  amountMinor: number;
  /** Why the saga is unwinding, once it is. */
  reason: string | null;
}

/** A step's answer. A rejection is the callee saying "no" for a business reason: never retried. */
export type StepResult =
  { kind: 'ok'; paymentId?: string; detail?: string } | { kind: 'rejected'; nonRetryable: true; reason: string };

/**
 * Stock in the inventory service, keyed by order id so every call is safe to repeat.
 * Technical failures are thrown as AppErrors; isTransient() tells whether to retry.
 */
export interface StockPort {
  /** Rejected when the stock is short, the product unknown, or the order's reservation already released. */
  reserve(order: SagaOrder): Promise<StepResult>;
  /** Reserved stock becomes sold; rejected when the reservation is no longer RESERVED. */
  commit(order: SagaOrder): Promise<StepResult>;
  /** Undoes the order's reservation and fences off a late reserve; rejected when the stock was sold (committed). */
  release(order: SagaOrder): Promise<StepResult>;
  /** Gives sold stock back; rejected when nothing was sold (no reservation, or one never committed). */
  return(order: SagaOrder): Promise<StepResult>;
}

/** The payment service, keyed by order id: a repeated charge returns the first result. */
export interface PaymentPort {
  charge(order: SagaOrder): Promise<StepResult>;
  /** Refunds a charge, or voids the order so a charge still in flight is declined. */
  refund(order: SagaOrder): Promise<StepResult>;
}

/** Everything the saga's steps call through. */
export interface SagaPorts {
  stock: StockPort;
  payments: PaymentPort;
}
