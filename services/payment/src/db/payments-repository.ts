import type { PaymentStatus } from '@shopflow/contracts';
import { sqlFragments, type Queryable } from '@shopflow/platform/db';
import type { Payment } from '../domain/payment.js';

interface PaymentRow {
  id: string;
  order_id: string;
  customer_id: string;
  amount_minor: number;
  status: PaymentStatus;
  message: string;
  refund_reason: string | null;
  created_at: string;
  updated_at: string;
}

const COLUMNS = 'id, order_id, customer_id, amount_minor, status, message, refund_reason, created_at, updated_at';

function toPayment(r: PaymentRow): Payment {
  return {
    id: r.id,
    orderId: r.order_id,
    customerId: r.customer_id,
    amountMinor: Number(r.amount_minor),
    status: r.status,
    message: r.message,
    refundReason: r.refund_reason,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** SQL for payments; every function takes the transaction it runs in. */
export const paymentsRepository = {
  /**
   * Inserts the order's payment unless the order has one; false when it had. On PostgreSQL an
   * insert racing an uncommitted one for the same order waits for it and then yields.
   */
  async insertIfAbsent(q: Queryable, p: Payment): Promise<boolean> {
    const n = await q.execute(
      `INSERT INTO payments (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (order_id) DO NOTHING`,
      [p.id, p.orderId, p.customerId, p.amountMinor, p.status, p.message, p.refundReason, p.createdAt, p.updatedAt],
    );
    return n === 1;
  },

  async findById(q: Queryable, id: string): Promise<Payment | undefined> {
    const rows = await q.query<PaymentRow>(`SELECT ${COLUMNS} FROM payments WHERE id = $1`, [id]);
    return rows[0] && toPayment(rows[0]);
  },

  async findByOrder(q: Queryable, orderId: string, { lock = false } = {}): Promise<Payment | undefined> {
    const rows = await q.query<PaymentRow>(
      `SELECT ${COLUMNS} FROM payments WHERE order_id = $1${lock ? sqlFragments.forUpdate(q) : ''}`,
      [orderId],
    );
    return rows[0] && toPayment(rows[0]);
  },

  async update(q: Queryable, p: Payment): Promise<void> {
    await q.execute('UPDATE payments SET status = $2, message = $3, refund_reason = $4, updated_at = $5 WHERE id = $1', [
      p.id,
      p.status,
      p.message,
      p.refundReason,
      p.updatedAt,
    ]);
  },
};
