import { DeliveryStatus, type NotificationChannel, type NotificationKind, type TerminalOrderStatus } from '@shopflow/contracts';
import type { Queryable } from '@shopflow/platform/db';
import { afterCursor, type PageCursor } from '@shopflow/platform/pagination';
import type { DeliveryChange } from '../domain/delivery.js';
import type { Notification } from '../domain/notification.js';

interface NotificationRow {
  id: string;
  order_id: string;
  customer_id: string;
  kind: NotificationKind;
  order_status: TerminalOrderStatus;
  channel: NotificationChannel;
  message: string;
  created_at: string;
  delivery_status: DeliveryStatus;
  attempts: number;
  // BIGINT: a string from PostgreSQL, a number from SQLite.
  due_at: number | string | null;
  sent_at: string | null;
  last_error: string | null;
  traceparent: string | null;
}

const COLUMNS =
  'id, order_id, customer_id, kind, order_status, channel, message, created_at, delivery_status, attempts, due_at, sent_at, last_error, traceparent';

// An error can be a whole SMTP transcript; the row keeps its start.
const MAX_ERROR_LENGTH = 500;

function toNotification(r: NotificationRow): Notification {
  return {
    id: r.id,
    orderId: r.order_id,
    customerId: r.customer_id,
    kind: r.kind,
    orderStatus: r.order_status,
    channel: r.channel,
    message: r.message,
    createdAt: r.created_at,
    delivery: {
      status: r.delivery_status,
      attempts: Number(r.attempts),
      dueAt: r.due_at === null ? null : Number(r.due_at),
      sentAt: r.sent_at,
      lastError: r.last_error,
    },
    traceparent: r.traceparent,
  };
}

/** SQL for notifications; every function takes the connection or transaction it runs in. */
export const notificationsRepository = {
  /** Inserts unless the order already has a notification; true when this call inserted it. */
  async insert(q: Queryable, n: Notification): Promise<boolean> {
    const d = n.delivery;
    const inserted = await q.execute(
      `INSERT INTO notifications (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (order_id) DO NOTHING`,
      [
        n.id,
        n.orderId,
        n.customerId,
        n.kind,
        n.orderStatus,
        n.channel,
        n.message,
        n.createdAt,
        d.status,
        d.attempts,
        d.dueAt,
        d.sentAt,
        d.lastError,
        n.traceparent ?? null,
      ],
    );
    return inserted === 1;
  },

  async find(q: Queryable, id: string): Promise<Notification | undefined> {
    const rows = await q.query<NotificationRow>(`SELECT ${COLUMNS} FROM notifications WHERE id = $1`, [id]);
    return rows[0] && toNotification(rows[0]);
  },

  async findByOrder(q: Queryable, orderId: string): Promise<Notification | undefined> {
    const rows = await q.query<NotificationRow>(`SELECT ${COLUMNS} FROM notifications WHERE order_id = $1`, [orderId]);
    return rows[0] && toNotification(rows[0]);
  },

  /** Up to `limit` of a customer's notifications after `after`, newest first: one range of the customer index. */
  async listByCustomer(q: Queryable, customerId: string, limit: number, after: PageCursor | undefined): Promise<Notification[]> {
    const params: unknown[] = [customerId];
    const rows = await q.query<NotificationRow>(
      `SELECT ${COLUMNS} FROM notifications
       WHERE customer_id = $1${after ? ` AND ${afterCursor(after, 'created_at', 'id', params)}` : ''}
       ORDER BY created_at DESC, id DESC LIMIT $${params.push(limit)}`,
      params,
    );
    return rows.map(toNotification);
  },

  /** Up to `limit` notifications the sender must look at by `now`, earliest first: PENDING ones to send, SENDING ones whose claim ran out. */
  async due(q: Queryable, now: number, limit: number): Promise<Notification[]> {
    const rows = await q.query<NotificationRow>(
      `SELECT ${COLUMNS} FROM notifications WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY due_at, id LIMIT $2`,
      [now, limit],
    );
    return rows.map(toNotification);
  },

  /** When the earliest notification falls due (epoch ms), or undefined when none waits. */
  async nextDue(q: Queryable): Promise<number | undefined> {
    const [row] = await q.query<{ at: number | string | null }>(
      'SELECT MIN(due_at) AS at FROM notifications WHERE due_at IS NOT NULL',
    );
    return row?.at === null || row?.at === undefined ? undefined : Number(row.at);
  },

  /**
   * Claims a due PENDING notification for one attempt, until `leaseUntil`: the attempt is counted
   * before it is made. Returns the attempt's number, or undefined when someone else claimed it first.
   */
  async claim(q: Queryable, id: string, now: number, leaseUntil: number): Promise<number | undefined> {
    const [row] = await q.query<{ attempts: number }>(
      `UPDATE notifications SET delivery_status = '${DeliveryStatus.Sending}', attempts = attempts + 1, due_at = $2
       WHERE id = $1 AND delivery_status = '${DeliveryStatus.Pending}' AND due_at <= $3 RETURNING attempts`,
      [id, leaseUntil, now],
    );
    return row && Number(row.attempts);
  },

  /**
   * Records how attempt `attempt` ended, if the row still shows that claim. A send that went out
   * is recorded even over an UNKNOWN that a lapsed claim left: it is known now.
   */
  async settle(q: Queryable, id: string, attempt: number, change: DeliveryChange): Promise<boolean> {
    const from =
      change.status === DeliveryStatus.Sent
        ? `delivery_status IN ('${DeliveryStatus.Sending}', '${DeliveryStatus.Unknown}')`
        : `delivery_status = '${DeliveryStatus.Sending}'`;
    return (
      (await q.execute(
        `UPDATE notifications SET delivery_status = $3, due_at = $4, sent_at = $5, last_error = $6 WHERE id = $1 AND attempts = $2 AND ${from}`,
        [id, attempt, ...changeValues(change)],
      )) === 1
    );
  },

  /** Applies `change` to a SENDING notification whose claim ran out by `now`; false when it did not (any more). */
  async lapse(q: Queryable, id: string, now: number, change: DeliveryChange): Promise<boolean> {
    return (
      (await q.execute(
        `UPDATE notifications SET delivery_status = $3, due_at = $4, sent_at = $5, last_error = $6
         WHERE id = $1 AND delivery_status = '${DeliveryStatus.Sending}' AND due_at <= $2`,
        [id, now, ...changeValues(change)],
      )) === 1
    );
  },
};

/** delivery_status, due_at, sent_at and last_error after `change`. */
function changeValues(change: DeliveryChange): [DeliveryStatus, number | null, string | null, string | null] {
  switch (change.status) {
    case DeliveryStatus.Sent:
      return [change.status, null, change.sentAt, null];
    case DeliveryStatus.Pending:
      return [change.status, change.dueAt, null, change.lastError.slice(0, MAX_ERROR_LENGTH)];
    default:
      return [change.status, null, null, change.lastError.slice(0, MAX_ERROR_LENGTH)];
  }
}
