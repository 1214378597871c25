import type { Migration } from '@shopflow/platform/db';

export const migrations: readonly Migration[] = [
  {
    id: '001_notifications',
    // order_id is UNIQUE: the database itself holds "exactly one notification per terminal order".
    sql: `
      CREATE TABLE IF NOT EXISTS notifications (
        id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL UNIQUE,
        customer_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('ORDER_COMPLETED', 'ORDER_CANCELLED', 'ORDER_FAILED')),
        order_status TEXT NOT NULL,
        channel TEXT NOT NULL,
        message TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS notifications_customer_idx ON notifications (customer_id, created_at);`,
  },
  {
    id: '002_notifications_page_index',
    // A page of a customer's list is one range of (customer_id, created_at, id); the old index lacked the tie-breaker.
    sql: `
      DROP INDEX IF EXISTS notifications_customer_idx;
      CREATE INDEX IF NOT EXISTS notifications_customer_page_idx ON notifications (customer_id, created_at, id);`,
  },
  {
    id: '003_notification_delivery',
    // Delivery state, durable, so that sending survives restarts and a send is never repeated
    // (see delivery-runner.ts). due_at (epoch ms) is when the sender must look at a row next: its
    // next attempt while PENDING, the end of its claim while SENDING, NULL once final; the partial
    // index keeps "what is due" one short range however many notifications were sent.
    // Rows from before this migration were delivered (to the log) when they were recorded: SENT.
    sql: `
      ALTER TABLE notifications ADD COLUMN delivery_status TEXT NOT NULL DEFAULT 'SENT'
        CHECK (delivery_status IN ('PENDING', 'SENDING', 'SENT', 'FAILED', 'UNKNOWN'));
      ALTER TABLE notifications ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE notifications ADD COLUMN due_at BIGINT;
      ALTER TABLE notifications ADD COLUMN sent_at TEXT;
      ALTER TABLE notifications ADD COLUMN last_error TEXT;
      UPDATE notifications SET sent_at = created_at;
      CREATE INDEX IF NOT EXISTS notifications_due_idx ON notifications (due_at) WHERE due_at IS NOT NULL;`,
  },
  {
    id: '004_notification_trace',
    // The trace of the event that made the notification: its sending, later and maybe after a
    // restart, joins the order's trace.
    sql: 'ALTER TABLE notifications ADD COLUMN traceparent TEXT;',
  },
];
