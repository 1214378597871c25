import type { Migration } from '@shopflow/platform/db';

export const migrations: readonly Migration[] = [
  {
    id: '001_orders',
    sql: `
      CREATE TABLE IF NOT EXISTS orders (
        id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        product_id TEXT NOT NULL,
        quantity INTEGER NOT NULL CHECK (quantity > 0),
        amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
        status TEXT NOT NULL,
        status_reason TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS orders_customer_idx ON orders (customer_id, created_at);
      CREATE INDEX IF NOT EXISTS orders_status_idx ON orders (status);
      CREATE TABLE IF NOT EXISTS idempotency_keys (
        key TEXT PRIMARY KEY,
        request_hash TEXT NOT NULL,
        order_id TEXT NOT NULL,
        created_at TEXT NOT NULL
      );`,
  },
  {
    // Idempotency keys expire (see IDEMPOTENCY_KEY_TTL_HOURS): pruning walks this index.
    id: '010_idempotency_keys_expiry',
    sql: 'CREATE INDEX IF NOT EXISTS idempotency_keys_created_idx ON idempotency_keys (created_at);',
  },
];
