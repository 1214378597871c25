import { describe, expect, it } from 'vitest';
import { NotificationChannel, NotificationKind, OrderStatus } from '@shopflow/contracts';
import { toNotificationView } from './notifications.js';

describe('the notification view', () => {
  it('shows a notification in snake_case', () => {
    const view = toNotificationView({
      id: 'n-2',
      orderId: 'o-2',
      customerId: 'c-2',
      kind: NotificationKind.OrderCompleted,
      orderStatus: OrderStatus.Completed,
      channel: NotificationChannel.Email,
      message: 'Your order o-2 for 1 × PROD001 is complete (5.00).',
      createdAt: '2024-01-03T00:00:00.000Z',
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
    });
  });
});
