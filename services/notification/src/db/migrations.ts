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
];
