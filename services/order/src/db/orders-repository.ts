import type { Queryable } from '@shopflow/platform/db';
import { sqlFragments } from '@shopflow/platform/db';
import type { OrderStatus } from '@shopflow/contracts';
import { afterCursor, type PageCursor } from '@shopflow/platform/pagination';
import type { Order } from '../domain/order.js';

/** Which orders a list shows. */
export interface OrderFilter {
  customerId?: string;
  status?: OrderStatus;
}

interface OrderRow {
  id: string;
  customer_id: string;
  product_id: string;
  quantity: number;
  amount_minor: number;
  status: OrderStatus;
  status_reason: string | null;
  created_at: string;
  updated_at: string;
}

const COLUMNS = 'id, customer_id, product_id, quantity, amount_minor, status, status_reason, created_at, updated_at';

function toOrder(r: OrderRow): Order {
  return {
    id: r.id,
    customerId: r.customer_id,
    productId: r.product_id,
    quantity: Number(r.quantity),
    amountMinor: Number(r.amount_minor),
    status: r.status,
    statusReason: r.status_reason,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** SQL for orders and idempotency keys; every function takes the transaction it runs in. */
export const ordersRepository = {
  async insert(q: Queryable, o: Order): Promise<void> {
    await q.write(`INSERT INTO orders (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [
      o.id,
      o.customerId,
      o.productId,
      o.quantity,
      o.amountMinor,
      o.status,
      o.statusReason,
      o.createdAt,
      o.updatedAt,
    ]);
  },

  async find(q: Queryable, id: string, { lock = false } = {}): Promise<Order | undefined> {
    const rows = await q.query<OrderRow>(`SELECT ${COLUMNS} FROM orders WHERE id = $1${lock ? sqlFragments.forUpdate(q) : ''}`, [
      id,
    ]);
    return rows[0] && toOrder(rows[0]);
  },

  /** Up to `limit` orders after `after`, newest first: a range of one of the (…, created_at, id) indexes. */
  async list(q: Queryable, filter: OrderFilter, limit: number, after: PageCursor | undefined): Promise<Order[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.customerId) where.push(`customer_id = $${params.push(filter.customerId)}`);
    if (filter.status) where.push(`status = $${params.push(filter.status)}`);
    if (after) where.push(afterCursor(after, 'created_at', 'id', params));
    const rows = await q.query<OrderRow>(
      `SELECT ${COLUMNS} FROM orders ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, id DESC LIMIT $${params.push(limit)}`,
      params,
    );
    return rows.map(toOrder);
  },

  /**
   * How many orders are in each status, over every order or over those created at or after
   * `since` (a range of the (created_at, id) index). Statuses without orders are absent.
   */
  async countByStatus(q: Queryable, since?: string): Promise<Map<OrderStatus, number>> {
    const rows = await q.query<{ status: OrderStatus; n: number | string }>(
      `SELECT status, COUNT(*) AS n FROM orders ${since === undefined ? '' : 'WHERE created_at >= $1'} GROUP BY status`,
      since === undefined ? [] : [since],
    );
    // PostgreSQL's COUNT is a bigint, which pg hands over as a string.
    return new Map(rows.map((r) => [r.status, Number(r.n)]));
  },

  async updateStatus(q: Queryable, id: string, status: OrderStatus, reason: string | null, at: string): Promise<void> {
    await q.write('UPDATE orders SET status = $2, status_reason = $3, updated_at = $4 WHERE id = $1', [id, status, reason, at]);
  },

  /** Claims a customer's idempotency key; false when that customer used the key before (then see findKey). */
  async claimKey(
    q: Queryable,
    customerId: string,
    key: string,
    requestHash: string,
    orderId: string,
    at: string,
  ): Promise<boolean> {
    const n = await q.execute(
      `INSERT INTO customer_idempotency_keys (customer_id, key, request_hash, order_id, created_at)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [customerId, key, requestHash, orderId, at],
    );
    return n === 1;
  },

  async findKey(q: Queryable, customerId: string, key: string): Promise<{ request_hash: string; order_id: string } | undefined> {
    const rows = await q.query<{ request_hash: string; order_id: string }>(
      'SELECT request_hash, order_id FROM customer_idempotency_keys WHERE customer_id = $1 AND key = $2',
      [customerId, key],
    );
    return rows[0];
  },
};
