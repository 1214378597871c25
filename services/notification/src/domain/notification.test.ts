import { describe, expect, it } from 'vitest';
import {
  EventType,
  NotificationChannel,
  NotificationKind,
  OrderStatus,
  type OrderCancelledEvent,
  type OrderCompletedEvent,
  type OrderFailedEvent,
} from '@shopflow/contracts';
import { composeMessage, judgeRepeat, kindOf, notificationFor } from './notification.js';

const base = {
  event_id: 'e-1',
  order_id: 'o-1',
  customer_id: 'c-1',
  product_id: 'PROD001',
  quantity: 2,
  amount: 99.99,
  occurred_at: '2024-01-01T00:00:00.000Z',
};
const completed: OrderCompletedEvent = { ...base, event_type: EventType.OrderCompleted, status: OrderStatus.Completed };
const cancelled: OrderCancelledEvent = {
  ...base,
  event_type: EventType.OrderCancelled,
  status: OrderStatus.Cancelled,
  reason: 'payment declined',
};
const failed: OrderFailedEvent = {
  ...base,
  event_type: EventType.OrderFailed,
  status: OrderStatus.Failed,
  reason: 'payment service unreachable.',
};

describe('kindOf', () => {
  it('maps each terminal status to its own kind', () => {
    expect(kindOf(OrderStatus.Completed)).toBe(NotificationKind.OrderCompleted);
    expect(kindOf(OrderStatus.Cancelled)).toBe(NotificationKind.OrderCancelled);
    expect(kindOf(OrderStatus.Failed)).toBe(NotificationKind.OrderFailed);
  });
});

describe('composeMessage', () => {
  it('tells a completed order with its quantity, product and amount in two decimals', () => {
    expect(composeMessage(completed)).toBe('Your order o-1 for 2 × PROD001 is complete (99.99).');
    expect(composeMessage({ ...completed, amount: 100 })).toBe('Your order o-1 for 2 × PROD001 is complete (100.00).');
  });

  it('gives the reason for a cancelled order', () => {
    expect(composeMessage(cancelled)).toBe('Your order o-1 for 2 × PROD001 was cancelled: payment declined.');
  });

  it('gives the reason for a failed order without doubling its full stop', () => {
    expect(composeMessage(failed)).toBe('Your order o-1 for 2 × PROD001 could not be completed: payment service unreachable.');
  });

  it('leaves the reason out when there is none', () => {
    expect(composeMessage({ ...base, event_type: EventType.OrderCancelled, status: OrderStatus.Cancelled })).toBe(
      'Your order o-1 for 2 × PROD001 was cancelled.',
    );
    expect(composeMessage({ ...failed, reason: '  ' })).toBe('Your order o-1 for 2 × PROD001 could not be completed.');
  });
});

describe('notificationFor', () => {
  it('builds an email notification from the event, with the given id and time, due for sending at once', () => {
    const n = notificationFor(cancelled, 'n-1', '2024-01-02T00:00:00.000Z');
    expect(n).toEqual({
      id: 'n-1',
      orderId: 'o-1',
      customerId: 'c-1',
      kind: NotificationKind.OrderCancelled,
      orderStatus: OrderStatus.Cancelled,
      channel: NotificationChannel.Email,
      message: 'Your order o-1 for 2 × PROD001 was cancelled: payment declined.',
      createdAt: '2024-01-02T00:00:00.000Z',
      delivery: { status: 'PENDING', attempts: 0, dueAt: Date.parse('2024-01-02T00:00:00.000Z'), sentAt: null, lastError: null },
    });
  });
});

describe('judgeRepeat', () => {
  it('calls the same kind again a duplicate and a different kind a conflict', () => {
    expect(judgeRepeat({ kind: NotificationKind.OrderCompleted }, { kind: NotificationKind.OrderCompleted })).toBe('duplicate');
    expect(judgeRepeat({ kind: NotificationKind.OrderCompleted }, { kind: NotificationKind.OrderCancelled })).toBe('conflict');
    expect(judgeRepeat({ kind: NotificationKind.OrderFailed }, { kind: NotificationKind.OrderCancelled })).toBe('conflict');
  });
});
