import { describe, expect, it } from 'vitest';
import { OrderStatus } from '@shopflow/contracts';
import { toOrderView } from './orders.js';

describe('the order view', () => {
  it("shows an order in the seed's shape, money as a decimal", () => {
    const view = toOrderView({
      id: 'o1',
      customerId: 'CUST001',
      productId: 'PROD001',
      quantity: 2,
      amountMinor: 9999,
      status: OrderStatus.Pending,
      statusReason: null,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    });
    expect(view).toEqual({
      id: 'o1',
      customer_id: 'CUST001',
      product_id: 'PROD001',
      quantity: 2,
      amount: 99.99,
      status: 'PENDING',
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-01T00:00:00.000Z',
    });
  });
});
