import { OrderStatus, isTerminalOrderStatus } from '@shopflow/contracts';

/** An order as the order service stores it; money in minor units. */
export interface Order {
  id: string;
  customerId: string;
  productId: string;
  quantity: number;
  amountMinor: number;
  status: OrderStatus;
  statusReason: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The order state machine: every status and where it may go next. Terminal statuses go nowhere. */
export const TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  PENDING: [OrderStatus.Confirmed, OrderStatus.Cancelled, OrderStatus.Failed],
  CONFIRMED: [OrderStatus.PaymentProcessing, OrderStatus.Cancelled, OrderStatus.Failed],
  PAYMENT_PROCESSING: [OrderStatus.Completed, OrderStatus.Cancelled, OrderStatus.Failed],
  COMPLETED: [],
  CANCELLED: [],
  FAILED: [],
};

const RANK: Readonly<Record<OrderStatus, number>> = {
  PENDING: 0,
  CONFIRMED: 1,
  PAYMENT_PROCESSING: 2,
  COMPLETED: 3,
  CANCELLED: 3,
  FAILED: 3,
};

export type TransitionDecision = { kind: 'apply' } | { kind: 'unchanged' } | { kind: 'rejected'; reason: string };

/**
 * A status change asked for through the API (`POST /orders/:id/status`). Only edges of the state
 * machine are allowed, and COMPLETED is not one a caller may take: only the saga knows that the
 * charge and the stock are settled. Asking for the current status again changes nothing.
 */
export function decideRequestedTransition(from: OrderStatus, to: OrderStatus): TransitionDecision {
  if (from === to) return { kind: 'unchanged' };
  if (to === OrderStatus.Completed) {
    return { kind: 'rejected', reason: 'COMPLETED is set by the order saga once payment and stock are settled' };
  }
  if (!TRANSITIONS[from].includes(to)) {
    return { kind: 'rejected', reason: `an order in ${from} cannot move to ${to}` };
  }
  return { kind: 'apply' };
}

/**
 * A status the saga sends. Commands can arrive late or twice (redelivery), so a command is
 * applied only when it moves the order forward; a terminal order never changes again.
 */
export function decideSagaTransition(from: OrderStatus, to: OrderStatus): TransitionDecision {
  if (from === to) return { kind: 'unchanged' };
  if (isTerminalOrderStatus(from) || RANK[to] <= RANK[from]) {
    return { kind: 'rejected', reason: `stale: order is already ${from}` };
  }
  return { kind: 'apply' };
}

export type PricingDecision =
  | { kind: 'priced'; amountMinor: number }
  /** The product has no price and the client sent no amount. */
  | { kind: 'missing' }
  /** The client's amount is not quantity × price. */
  | { kind: 'mismatch'; expectedMinor: number };

/**
 * What an order is charged, in minor units. A product's price is the server's to apply: the amount
 * is quantity × price, and a client amount must equal it. Without a price, the client's amount stands.
 */
export function priceOrder(quantity: number, clientAmountMinor: number | undefined, priceMinor: number | null): PricingDecision {
  if (priceMinor === null)
    return clientAmountMinor === undefined ? { kind: 'missing' } : { kind: 'priced', amountMinor: clientAmountMinor };
  const expectedMinor = quantity * priceMinor;
  if (clientAmountMinor !== undefined && clientAmountMinor !== expectedMinor) return { kind: 'mismatch', expectedMinor };
  return { kind: 'priced', amountMinor: expectedMinor };
}
