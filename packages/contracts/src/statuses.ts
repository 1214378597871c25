/** Order statuses, spelled as in the seed (SCREAMING_SNAKE_CASE on the wire). */
export const OrderStatus = {
  Pending: 'PENDING',
  Confirmed: 'CONFIRMED',
  PaymentProcessing: 'PAYMENT_PROCESSING',
  Completed: 'COMPLETED',
  Cancelled: 'CANCELLED',
  Failed: 'FAILED',
} as const;
export type OrderStatus = (typeof OrderStatus)[keyof typeof OrderStatus];
export const ORDER_STATUSES = Object.values(OrderStatus);

/** The three statuses an order can end in; each produces exactly one notification. */
export const TERMINAL_ORDER_STATUSES = [OrderStatus.Completed, OrderStatus.Cancelled, OrderStatus.Failed] as const;
export type TerminalOrderStatus = (typeof TERMINAL_ORDER_STATUSES)[number];

export function isTerminalOrderStatus(status: string): status is TerminalOrderStatus {
  return (TERMINAL_ORDER_STATUSES as readonly string[]).includes(status);
}

/** Payment statuses as the payment service stores and reports them. */
export const PaymentStatus = {
  Success: 'SUCCESS',
  Failed: 'FAILED',
  Refunded: 'REFUNDED',
  Voided: 'VOIDED',
} as const;
export type PaymentStatus = (typeof PaymentStatus)[keyof typeof PaymentStatus];

/** A reservation's life in the inventory service. */
export const ReservationStatus = {
  Reserved: 'RESERVED',
  Committed: 'COMMITTED',
  Released: 'RELEASED',
  Returned: 'RETURNED',
} as const;
export type ReservationStatus = (typeof ReservationStatus)[keyof typeof ReservationStatus];

/** Saga lifecycle as the orchestrator stores and serves it. */
export const SagaState = {
  Running: 'RUNNING',
  Compensating: 'COMPENSATING',
  Completed: 'COMPLETED',
  Cancelled: 'CANCELLED',
  Failed: 'FAILED',
} as const;
export type SagaState = (typeof SagaState)[keyof typeof SagaState];
export const SAGA_STATES = Object.values(SagaState);

/** What a notification tells the customer: one kind per terminal order status. */
export const NotificationKind = {
  OrderCompleted: 'ORDER_COMPLETED',
  OrderCancelled: 'ORDER_CANCELLED',
  OrderFailed: 'ORDER_FAILED',
} as const;
export type NotificationKind = (typeof NotificationKind)[keyof typeof NotificationKind];
export const NOTIFICATION_KINDS = Object.values(NotificationKind);

/** Where a notification goes. Only email exists: sent over SMTP when `SMTP_URL` is set, else written to the log. */
export const NotificationChannel = { Email: 'email' } as const;
export type NotificationChannel = (typeof NotificationChannel)[keyof typeof NotificationChannel];

/**
 * Where a notification's delivery stands. PENDING waits for its (next) attempt; SENDING is claimed
 * by a sender; SENT, FAILED (refused too often, or for good) and UNKNOWN (the sender may or may
 * not have delivered it, so it is not sent again: an operator decides) are final.
 */
export const DeliveryStatus = {
  Pending: 'PENDING',
  Sending: 'SENDING',
  Sent: 'SENT',
  Failed: 'FAILED',
  Unknown: 'UNKNOWN',
} as const;
export type DeliveryStatus = (typeof DeliveryStatus)[keyof typeof DeliveryStatus];
export const DELIVERY_STATUSES = Object.values(DeliveryStatus);
