import type { Migration } from '@shopflow/platform/db';

export const migrations: readonly Migration[] = [
  {
    id: '001_payments',
    sql: `
      CREATE TABLE IF NOT EXISTS payments (
        id TEXT PRIMARY KEY,
        -- One payment per order: the unique key is what makes a charge idempotent.
        order_id TEXT NOT NULL UNIQUE,
        customer_id TEXT NOT NULL,
        amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
        status TEXT NOT NULL CHECK (status IN ('SUCCESS', 'FAILED', 'REFUNDED', 'VOIDED')),
        message TEXT NOT NULL,
        refund_reason TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );`,
  },
];
