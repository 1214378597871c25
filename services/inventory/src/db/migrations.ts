import type { Migration } from '@shopflow/platform/db';

/** The inventory schema and the seed's Widget; main.ts and the tests apply them before wiring the app. */
export const migrations: readonly Migration[] = [
  {
    id: '001_inventory',
    // Stock columns are BIGINT so repeated restocks cannot overflow; SQLite's INTEGER is 64-bit anyway.
    // No foreign key from reservations to products: the stock update in the same transaction
    // already proves the product exists, and the hot path skips the extra lookup.
    sql: `
      CREATE TABLE IF NOT EXISTS products (
        product_id TEXT PRIMARY KEY,
        product_name TEXT NOT NULL,
        available BIGINT NOT NULL CHECK (available >= 0),
        reserved BIGINT NOT NULL CHECK (reserved >= 0),
        sold BIGINT NOT NULL CHECK (sold >= 0),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS reservations (
        order_id TEXT PRIMARY KEY,
        product_id TEXT,
        quantity INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('RESERVED', 'COMMITTED', 'RELEASED', 'RETURNED')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        -- A real reservation holds a positive quantity of a product; a tombstone (a release
        -- that came before any reserve) holds nothing and names no product.
        CHECK ((product_id IS NOT NULL AND quantity > 0)
            OR (product_id IS NULL AND quantity = 0 AND status = 'RELEASED'))
      );`,
  },
  {
    id: '002_seed_widget',
    // The seed's product. A migration runs once, so a restocked Widget is never reset.
    sql: {
      postgres: `
        INSERT INTO products (product_id, product_name, available, reserved, sold, created_at, updated_at)
        SELECT 'PROD001', 'Widget', 100, 0, 0, t, t
        FROM (SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS t) AS now_utc
        ON CONFLICT DO NOTHING;`,
      sqlite: `
        INSERT INTO products (product_id, product_name, available, reserved, sold, created_at, updated_at)
        SELECT 'PROD001', 'Widget', 100, 0, 0, t, t
        FROM (SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now') AS t)
        WHERE true -- without a WHERE, SQLite reads the ON CONFLICT as a join's ON
        ON CONFLICT DO NOTHING;`,
    },
  },
  {
    id: '003_product_price_and_version',
    // version grows with every change of a product's row, stock moves included: a restock sent
    // with If-Match applies only if nothing moved since the operator read it.
    sql: `
      ALTER TABLE products ADD COLUMN price_minor BIGINT CHECK (price_minor > 0);
      ALTER TABLE products ADD COLUMN version BIGINT NOT NULL DEFAULT 0;`,
  },
];
