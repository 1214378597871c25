import { describe, expect, it } from 'vitest';
import { NotificationChannel, NotificationKind, OrderStatus } from '@shopflow/contracts';
import { addressIn, emailFor, isAddress, localPartOf, recipientFor } from './email.js';
import type { Notification } from './notification.js';

const notification: Notification = {
  id: '7d0c6a1e-0b7e-4a51-9d2a-3f1f4c1f0a11',
  orderId: 'o-1',
  customerId: 'CUST001',
  kind: NotificationKind.OrderCancelled,
  orderStatus: OrderStatus.Cancelled,
  channel: NotificationChannel.Email,
  message: 'Your order o-1 for 2 × PROD001 was cancelled: payment declined.',
  createdAt: '2024-01-01T00:00:00.000Z',
  delivery: { status: 'PENDING', attempts: 0, dueAt: 0, sentAt: null, lastError: null },
};
const addressing = { from: 'Shopflow <orders@shopflow.local>', to: '{customer_id}@customers.example' };

describe('emailFor', () => {
  it('writes to the customer from the configured sender, with the outcome and a Message-ID of the notification', () => {
    expect(emailFor(notification, addressing)).toEqual({
      from: 'Shopflow <orders@shopflow.local>',
      to: 'CUST001@customers.example',
      subject: 'Your order o-1 was cancelled',
      text:
        'Your order o-1 for 2 × PROD001 was cancelled: payment declined.\n\nOrder: o-1\nOutcome: CANCELLED\n\n' +
        'Shopflow (notification 7d0c6a1e-0b7e-4a51-9d2a-3f1f4c1f0a11)\n',
      messageId: '<7d0c6a1e-0b7e-4a51-9d2a-3f1f4c1f0a11@shopflow.local>',
      headers: {
        'Auto-Submitted': 'auto-generated',
        'X-Shopflow-Order-Id': 'o-1',
        'X-Shopflow-Notification-Id': '7d0c6a1e-0b7e-4a51-9d2a-3f1f4c1f0a11',
      },
    });
  });

  it('names each outcome in the subject', () => {
    const subject = (orderStatus: Notification['orderStatus']) => emailFor({ ...notification, orderStatus }, addressing).subject;
    expect(subject(OrderStatus.Completed)).toBe('Your order o-1 is complete');
    expect(subject(OrderStatus.Failed)).toBe('Your order o-1 could not be completed');
  });

  it('takes the Message-ID domain from a bare sender address too', () => {
    expect(emailFor(notification, { ...addressing, from: 'noreply@mail.example.com' }).messageId).toBe(
      '<7d0c6a1e-0b7e-4a51-9d2a-3f1f4c1f0a11@mail.example.com>',
    );
  });
});

describe('recipients', () => {
  it('puts the customer id in the pattern, percent-encoding what an address cannot hold', () => {
    expect(recipientFor('{customer_id}@customers.example', 'CUST001')).toBe('CUST001@customers.example');
    expect(recipientFor('orders+{customer_id}@example.com', 'a.b_c-d')).toBe('orders+a.b_c-d@example.com');
    expect(localPartOf('tenant:42')).toBe('tenant%3A42');
    expect(localPartOf('é')).toBe('%C3%A9');
    expect(localPartOf('a b@c')).toBe('a%20b%40c');
  });

  it('encodes dots only where a local part may not have them', () => {
    expect(localPartOf('.lead')).toBe('%2Elead');
    expect(localPartOf('trail.')).toBe('trail%2E');
    expect(localPartOf('a..b')).toBe('a%2E%2Eb');
  });

  it('tells an address from what is not one', () => {
    expect(addressIn('Shopflow <orders@shopflow.local>')).toBe('orders@shopflow.local');
    expect(addressIn('orders@shopflow.local')).toBe('orders@shopflow.local');
    expect(addressIn('Shopflow')).toBeUndefined();
    expect(isAddress('a%3Ab@x.example')).toBe(true);
    expect(isAddress('a b@x.example')).toBe(false);
    expect(isAddress('a@-x.example')).toBe(false);
    expect(isAddress('a@x.example\r\nBcc: z@evil.example')).toBe(false);
  });
});
