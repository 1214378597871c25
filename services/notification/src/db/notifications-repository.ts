import type { NotificationChannel, NotificationKind, TerminalOrderStatus } from '@shopflow/contracts';
import type { Queryable } from '@shopflow/platform/db';
import { afterCursor, type PageCursor } from '@shopflow/platform/pagination';
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
}

const COLUMNS = 'id, order_id, customer_id, kind, order_status, channel, message, created_at';

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
  };
}

/** SQL for notifications; every function takes the connection or transaction it runs in. */
export const notificationsRepository = {
  /** Inserts unless the order already has a notification; true when this call inserted it. */
  async insert(q: Queryable, n: Notification): Promise<boolean> {
    const inserted = await q.execute(
      `INSERT INTO notifications (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (order_id) DO NOTHING`,
      [n.id, n.orderId, n.customerId, n.kind, n.orderStatus, n.channel, n.message, n.createdAt],
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
};
