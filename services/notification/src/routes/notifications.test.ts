import { describe, expect, it } from 'vitest';
import { DeliveryStatus, NotificationChannel, NotificationKind, OrderStatus } from '@shopflow/contracts';
import { toNotificationView } from './notifications.js';

describe('the notification view', () => {
  it('shows a notification in snake_case, with how its delivery went but not why it failed', () => {
    const view = toNotificationView({
      id: 'n-2',
      orderId: 'o-2',
      customerId: 'c-2',
      kind: NotificationKind.OrderCompleted,
      orderStatus: OrderStatus.Completed,
      channel: NotificationChannel.Email,
      message: 'Your order o-2 for 1 × PROD001 is complete (5.00).',
      createdAt: '2024-01-03T00:00:00.000Z',
      delivery: {
        status: DeliveryStatus.Pending,
        attempts: 2,
        dueAt: 1_704_240_000_000,
        sentAt: null,
        lastError: '451 try again later (mx.internal.example)',
      },
    });
    expect(view).toEqual({
      id: 'n-2',
      order_id: 'o-2',
      customer_id: 'c-2',
      kind: 'ORDER_COMPLETED',
      order_status: 'COMPLETED',
      channel: 'email',
      message: 'Your order o-2 for 1 × PROD001 is complete (5.00).',
      created_at: '2024-01-03T00:00:00.000Z',
      delivery: { status: 'PENDING', attempts: 2, sent_at: null },
    });
  });
});
