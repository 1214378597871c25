import { randomUUID } from 'node:crypto';
import {
  EventType,
  OrderStatus,
  Subject,
  type OrderCancelledEvent,
  type OrderCompletedEvent,
  type OrderFailedEvent,
  type OrderTerminalEvent,
} from '@shopflow/contracts';

/** The subject each terminal event is published on. */
export const SUBJECT_OF = {
  COMPLETED: Subject.OrderCompleted,
  CANCELLED: Subject.OrderCancelled,
  FAILED: Subject.OrderFailed,
} as const;

/** A terminal order event of `status`, as the order service publishes it. */
export function terminal(status: 'COMPLETED', orderId: string, customerId: string): OrderCompletedEvent;
export function terminal(status: 'CANCELLED', orderId: string, customerId: string, reason?: string): OrderCancelledEvent;
export function terminal(status: 'FAILED', orderId: string, customerId: string, reason?: string): OrderFailedEvent;
export function terminal(
  status: OrderTerminalEvent['status'],
  orderId: string,
  customerId: string,
  reason?: string,
): OrderTerminalEvent {
  const base = {
    event_id: randomUUID(),
    order_id: orderId,
    customer_id: customerId,
    product_id: 'PROD001',
    quantity: 2,
    amount: 99.99,
    occurred_at: new Date().toISOString(),
    ...(reason ? { reason } : {}),
  };
  switch (status) {
    case OrderStatus.Completed:
      return { ...base, event_type: EventType.OrderCompleted, status };
    case OrderStatus.Cancelled:
      return { ...base, event_type: EventType.OrderCancelled, status };
    case OrderStatus.Failed:
      return { ...base, event_type: EventType.OrderFailed, status };
  }
}
