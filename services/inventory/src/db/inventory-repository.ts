import type { ReservationStatus } from '@shopflow/contracts';
import type { Queryable } from '@shopflow/platform/db';
import { sqlFragments } from '@shopflow/platform/db';
import type { Product, StockMove, VersionCondition } from '../domain/product.js';
import type { Reservation } from '../domain/reservation.js';

interface ProductRow {
  product_id: string;
  product_name: string;
  available: number;
  reserved: number;
  sold: number;
  price_minor: number | null;
  version: number;
  created_at: string;
  updated_at: string;
}

interface ReservationRow {
  order_id: string;
  product_id: string | null;
  quantity: number;
  status: ReservationStatus;
  created_at: string;
  updated_at: string;
}

const PRODUCT_COLUMNS = 'product_id, product_name, available, reserved, sold, price_minor, version, created_at, updated_at';
const RESERVATION_COLUMNS = 'order_id, product_id, quantity, status, created_at, updated_at';

function toProduct(r: ProductRow): Product {
  return {
    productId: r.product_id,
    productName: r.product_name,
    available: Number(r.available),
    reserved: Number(r.reserved),
    sold: Number(r.sold),
    priceMinor: r.price_minor === null ? null : Number(r.price_minor),
    version: Number(r.version),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toReservation(r: ReservationRow): Reservation {
  return {
    orderId: r.order_id,
    productId: r.product_id,
    quantity: Number(r.quantity),
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** SQL for products and reservations; every function takes the transaction it runs in. */
export const inventoryRepository = {
  async findProduct(q: Queryable, productId: string): Promise<Product | undefined> {
    const rows = await q.query<ProductRow>(`SELECT ${PRODUCT_COLUMNS} FROM products WHERE product_id = $1`, [productId]);
    return rows[0] && toProduct(rows[0]);
  },

  /** Inserts a product; undefined when it exists already (then restock it). */
  async createProduct(q: Queryable, p: Product): Promise<Product | undefined> {
    const rows = await q.query<ProductRow>(
      `INSERT INTO products (${PRODUCT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (product_id) DO NOTHING RETURNING ${PRODUCT_COLUMNS}`,
      [p.productId, p.productName, p.available, p.reserved, p.sold, p.priceMinor, p.version, p.createdAt, p.updatedAt],
    );
    return rows[0] && toProduct(rows[0]);
  },

  /**
   * Renames a product and sets its available stock, and its price unless `priceMinor` is undefined;
   * only when its version meets `condition`, if any. Undefined when no product matched.
   */
  async restock(
    q: Queryable,
    productId: string,
    change: { name: string; available: number; priceMinor: number | null | undefined },
    condition: VersionCondition | undefined,
    at: string,
  ): Promise<Product | undefined> {
    const params: unknown[] = [productId, change.name, change.available, at];
    const price = change.priceMinor === undefined ? '' : `, price_minor = $${params.push(change.priceMinor)}`;
    const versions =
      condition && !condition.any ? ` AND version IN (${condition.versions.map((v) => `$${params.push(v)}`).join(', ')})` : '';
    const rows = await q.query<ProductRow>(
      `UPDATE products SET product_name = $2, available = $3, updated_at = $4, version = version + 1${price}
       WHERE product_id = $1${versions} RETURNING ${PRODUCT_COLUMNS}`,
      params,
    );
    return rows[0] && toProduct(rows[0]);
  },

  /**
   * Applies a stock move in one conditional statement, so concurrent moves cannot oversell:
   * undefined when the product is missing or a column would go negative (nothing changes then).
   */
  async moveStock(q: Queryable, productId: string, m: StockMove, at: string): Promise<Product | undefined> {
    const rows = await q.query<ProductRow>(
      `UPDATE products
       SET available = available + $2, reserved = reserved + $3, sold = sold + $4, updated_at = $5, version = version + 1
       WHERE product_id = $1 AND available + $2 >= 0 AND reserved + $3 >= 0 AND sold + $4 >= 0
       RETURNING ${PRODUCT_COLUMNS}`,
      [productId, m.available, m.reserved, m.sold, at],
    );
    return rows[0] && toProduct(rows[0]);
  },

  /**
   * Inserts a reservation unless the order has one; false when it had (then see findReservation).
   * On PostgreSQL a concurrent insert of the same order is waited for, so the loser sees the winner's row.
   */
  async insertReservation(q: Queryable, r: Reservation): Promise<boolean> {
    const n = await q.execute(
      `INSERT INTO reservations (${RESERVATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (order_id) DO NOTHING`,
      [r.orderId, r.productId, r.quantity, r.status, r.createdAt, r.updatedAt],
    );
    return n === 1;
  },

  async findReservation(q: Queryable, orderId: string, { lock = false } = {}): Promise<Reservation | undefined> {
    const rows = await q.query<ReservationRow>(
      `SELECT ${RESERVATION_COLUMNS} FROM reservations WHERE order_id = $1${lock ? sqlFragments.forUpdate(q) : ''}`,
      [orderId],
    );
    return rows[0] && toReservation(rows[0]);
  },

  /** Moves a reservation from `from` to `to` atomically; undefined when it is not in `from`. */
  async changeStatus(
    q: Queryable,
    orderId: string,
    from: ReservationStatus,
    to: ReservationStatus,
    at: string,
  ): Promise<Reservation | undefined> {
    const rows = await q.query<ReservationRow>(
      `UPDATE reservations SET status = $3, updated_at = $4 WHERE order_id = $1 AND status = $2 RETURNING ${RESERVATION_COLUMNS}`,
      [orderId, from, to, at],
    );
    return rows[0] && toReservation(rows[0]);
  },
};
