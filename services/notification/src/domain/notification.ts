import {
  DeliveryStatus,
  NotificationChannel,
  NotificationKind,
  OrderStatus,
  type OrderTerminalEvent,
  type TerminalOrderStatus,
} from '@shopflow/contracts';

/** How far a notification's delivery got (see `delivery.ts` for how it moves). */
export interface Delivery {
  status: DeliveryStatus;
  /** Attempts claimed so far, the one in flight included. */
  attempts: number;
  /** Epoch ms at which the sender must look at it next: its (next) attempt while PENDING, the end of its claim while SENDING; null once final. */
  dueAt: number | null;
  sentAt: string | null;
  /** Why the last attempt did not send it; kept for operators, not shown to customers. */
  lastError: string | null;
}

/** One customer notification; the service records at most one per order. */
export interface Notification {
  id: string;
  orderId: string;
  customerId: string;
  kind: NotificationKind;
  orderStatus: TerminalOrderStatus;
  channel: NotificationChannel;
  message: string;
  createdAt: string;
  delivery: Delivery;
  /** W3C trace context of the event that made it: its sending joins the order's trace. */
  traceparent?: string | null;
}

const KIND_OF: Readonly<Record<TerminalOrderStatus, NotificationKind>> = {
  COMPLETED: NotificationKind.OrderCompleted,
  CANCELLED: NotificationKind.OrderCancelled,
  FAILED: NotificationKind.OrderFailed,
};

/** The notification kind for the status an order ended in. */
export function kindOf(status: TerminalOrderStatus): NotificationKind {
  return KIND_OF[status];
}

/** The customer-facing text for a terminal order event, e.g. "Your order o-1 for 2 × PROD001 is complete (99.99)." */
export function composeMessage(event: OrderTerminalEvent): string {
  const order = `Your order ${event.order_id} for ${event.quantity} × ${event.product_id}`;
  // A trailing full stop in the reason would double the one the sentence ends with.
  const reason = event.reason?.trim().replace(/[.\s]+$/, '');
  const because = reason ? `: ${reason}` : '';
  switch (event.status) {
    case OrderStatus.Completed:
      return `${order} is complete (${event.amount.toFixed(2)}).`;
    case OrderStatus.Cancelled:
      return `${order} was cancelled${because}.`;
    case OrderStatus.Failed:
      return `${order} could not be completed${because}.`;
  }
}

/** Builds the notification an event calls for, due for sending at once; the id and clock come from the caller so this stays pure. */
export function notificationFor(event: OrderTerminalEvent, id: string, createdAt: string): Notification {
  return {
    id,
    orderId: event.order_id,
    customerId: event.customer_id,
    kind: kindOf(event.status),
    orderStatus: event.status,
    channel: NotificationChannel.Email,
    message: composeMessage(event),
    createdAt,
    delivery: { status: DeliveryStatus.Pending, attempts: 0, dueAt: Date.parse(createdAt), sentAt: null, lastError: null },
  };
}

/**
 * What to do with an event for an order that already has a notification. The same kind again is a
 * re-published event (nothing to say); a different kind contradicts "one terminal state per order",
 * so the first notification stands and the contradiction is reported.
 */
export function judgeRepeat(
  existing: Pick<Notification, 'kind'>,
  incoming: Pick<Notification, 'kind'>,
): 'duplicate' | 'conflict' {
  return existing.kind === incoming.kind ? 'duplicate' : 'conflict';
}
