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
    id: '002_idempotency_keys_per_customer',
    // A key is the customer's own: two customers choosing the same key make two orders.
    sql: `
      CREATE TABLE IF NOT EXISTS customer_idempotency_keys (
        customer_id TEXT NOT NULL,
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        order_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (customer_id, key)
      );
      INSERT INTO customer_idempotency_keys (customer_id, key, request_hash, order_id, created_at)
        SELECT o.customer_id, k.key, k.request_hash, k.order_id, k.created_at
        FROM idempotency_keys k JOIN orders o ON o.id = k.order_id;
      DROP TABLE idempotency_keys;`,
  },
  {
    id: '003_order_list_indexes',
    // Every list is newest first by (created_at, id); with the filter's column in front, a page is
    // one range of an index. These replace the indexes that lacked the id tie-breaker.
    sql: `
      DROP INDEX IF EXISTS orders_customer_idx;
      DROP INDEX IF EXISTS orders_status_idx;
      CREATE INDEX IF NOT EXISTS orders_customer_page_idx ON orders (customer_id, created_at, id);
      CREATE INDEX IF NOT EXISTS orders_status_page_idx ON orders (status, created_at, id);
      CREATE INDEX IF NOT EXISTS orders_page_idx ON orders (created_at, id);`,
  },
  {
    // Idempotency keys expire (see IDEMPOTENCY_KEY_TTL_HOURS): pruning walks this index.
    id: '010_idempotency_keys_expiry',
    sql: 'CREATE INDEX IF NOT EXISTS customer_idempotency_keys_created_idx ON customer_idempotency_keys (created_at);',
  },
];
