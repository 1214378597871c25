import { randomUUID } from 'node:crypto';
import { ReservationStatus } from '@shopflow/contracts';
import { InventoryProblem } from '@shopflow/contracts/api';
import type { Db, Queryable } from '@shopflow/platform/db';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import { notFound, orNotFound } from '@shopflow/platform/http';
import { inventoryRepository as repo } from './db/inventory-repository.js';
import type { Product, VersionCondition } from './domain/product.js';
import {
  SETTLEMENTS,
  decideReplay,
  decideSettlement,
  reserveMove,
  type ReserveRequest,
  type Reservation,
  type Settlement,
} from './domain/reservation.js';

export interface InventoryDeps {
  db: Db;
}

export interface PutProductResult {
  product: Product;
  /** False when the product existed and was restocked. */
  created: boolean;
}

/** What `PUT /inventory/:id` asks for; `priceMinor` undefined keeps the price, null removes it. */
export interface ProductChange {
  name: string;
  available: number;
  priceMinor: number | null | undefined;
}

/** The seed's manual reserve or its release: the product's stock after it, and the reservation's id. */
export interface ManualReservation {
  product: Product;
  reservationId: string;
}

const MANUAL_PREFIX = 'manual-';

export interface ReserveResult {
  reservation: Reservation;
  /** False for a replay: the order already held this reservation and nothing more was taken. */
  created: boolean;
}

/**
 * The inventory service's use cases. Each call is one transaction of as few statements as it can
 * be: the stock moves are conditional updates, so concurrent calls never oversell.
 */
export function createInventory({ db }: InventoryDeps) {
  /**
   * A transaction of its own, never grouped with others (see the PostgreSQL adapter): every order
   * updates its product's row, so groups of different turns would lock the same few rows in
   * different orders and deadlock, and a refused reservation would roll a whole group back.
   */
  const transaction = <T>(fn: (tx: Queryable) => Promise<T>): Promise<T> => db.transaction(fn, { alone: true });
  /**
   * Moves `quantity` of a product from available to reserved, or throws (rolling `tx` back).
   * Short stock is an `insufficient-stock` problem: the seed's 400 on its own endpoint, a 409 on the saga's.
   */
  async function take(
    tx: Queryable,
    productId: string,
    quantity: number,
    at: string,
    shortCode: typeof ErrorCode.InvalidArgument | typeof ErrorCode.Conflict = ErrorCode.InvalidArgument,
  ): Promise<Product> {
    const product = await repo.moveStock(tx, productId, reserveMove(quantity), at);
    if (product) return product;
    // Only the failure path pays for telling "no such product" from "not enough of it".
    const current = orNotFound(await repo.findProduct(tx, productId), 'product', productId);
    throw new AppError(shortCode, `insufficient stock of ${productId}: ${current.available} available, ${quantity} requested`, {
      errors: [{ field: 'quantity', reason: `exceeds the ${current.available} available` }],
      type: InventoryProblem.InsufficientStock,
    });
  }

  /** Runs a settlement inside `tx`; see SETTLEMENTS for what each one may do. */
  async function settle(tx: Queryable, action: Settlement, orderId: string, at: string): Promise<Reservation> {
    const rule = SETTLEMENTS[action];
    // Round two exists for one race on PostgreSQL: a reserve for this order committing between our
    // statements. The second round sees its row, so a third is never needed.
    for (let round = 1; ; round++) {
      // The common case in one statement: the reservation is in the status this action starts from.
      const changed = await repo.changeStatus(tx, orderId, rule.from, rule.to, at);
      if (changed) {
        if (changed.productId === null || !(await repo.moveStock(tx, changed.productId, rule.move(changed.quantity), at))) {
          throw new AppError(ErrorCode.Internal, `stock of ${changed.productId} cannot take the ${action} of order ${orderId}`);
        }
        return changed;
      }
      // Otherwise decide on the locked row, which no concurrent call can change under us.
      const current = await repo.findReservation(tx, orderId, { lock: true });
      const decision = decideSettlement(action, current?.status);
      switch (decision.kind) {
        case 'unchanged':
          return current!;
        case 'missing':
          throw new AppError(ErrorCode.NotFound, `no reservation for order ${orderId}`);
        case 'rejected':
          throw new AppError(ErrorCode.Conflict, decision.reason, { errors: [{ field: 'order_id', reason: decision.reason }] });
        case 'tombstone': {
          const tombstone: Reservation = {
            orderId,
            productId: null,
            quantity: 0,
            status: ReservationStatus.Released,
            createdAt: at,
            updatedAt: at,
          };
          if (await repo.insertReservation(tx, tombstone)) return tombstone;
          break;
        }
        case 'apply':
          // A reserve committed after our first statement; the row is locked now, so round two cannot miss it.
          break;
      }
      if (round === 2) throw new AppError(ErrorCode.Internal, `reservation of order ${orderId} kept changing during ${action}`);
    }
  }

  return {
    getProduct: (productId: string) => repo.findProduct(db, productId),

    /**
     * Creates a product, or renames it and sets its available stock (reserved and sold stay). With
     * a version condition (If-Match) it only restocks, and only a product still at that version:
     * otherwise a 412, so that stock reserved since the caller read it is never overwritten.
     */
    async putProduct(productId: string, change: ProductChange, condition?: VersionCondition): Promise<PutProductResult> {
      const at = new Date().toISOString();
      const stale = () =>
        new AppError(ErrorCode.PreconditionFailed, `product ${productId} is not at the version If-Match names`, {
          errors: [{ field: 'If-Match', reason: 'the product changed since it was read, or does not exist' }],
        });
      // Each statement is atomic and products are never deleted, so no transaction is needed.
      if (condition === undefined) {
        const created = await repo.createProduct(db, {
          productId,
          productName: change.name,
          available: change.available,
          reserved: 0,
          sold: 0,
          priceMinor: change.priceMinor ?? null,
          version: 1,
          createdAt: at,
          updatedAt: at,
        });
        if (created) return { product: created, created: true };
      } else if (!condition.any && condition.versions.length === 0) {
        throw stale();
      }
      const product = await repo.restock(db, productId, change, condition, at);
      if (!product) {
        if (condition) throw stale();
        throw new AppError(ErrorCode.Internal, `product ${productId} vanished while being restocked`);
      }
      return { product, created: false };
    },

    /**
     * The seed's `POST /inventory/:id/reserve`: reserves stock for no order. It is recorded as a
     * reservation of its own (`manual-<uuid>`), whose id releases it again.
     */
    async reserveManually(productId: string, quantity: number): Promise<ManualReservation> {
      const at = new Date().toISOString();
      const reservation: Reservation = {
        orderId: `${MANUAL_PREFIX}${randomUUID()}`,
        productId,
        quantity,
        status: ReservationStatus.Reserved,
        createdAt: at,
        updatedAt: at,
      };
      return transaction(async (tx) => {
        await repo.insertReservation(tx, reservation);
        return { product: await take(tx, productId, quantity, at), reservationId: reservation.orderId };
      });
    },

    /** Releases a manual reservation of this product (a replay changes nothing); an order's reservation is not one (404). */
    async releaseManually(productId: string, reservationId: string): Promise<ManualReservation> {
      return transaction(async (tx) => {
        const found = await repo.findReservation(tx, reservationId);
        if (!reservationId.startsWith(MANUAL_PREFIX) || found?.productId !== productId) {
          notFound(`manual reservation of ${productId}`, reservationId);
        }
        await settle(tx, 'release', reservationId, new Date().toISOString());
        const product = orNotFound(await repo.findProduct(tx, productId), 'product', productId);
        return { product, reservationId };
      });
    },

    /** Reserves stock for an order; a repeated call answers with the same reservation and takes nothing. */
    async reserve(request: ReserveRequest): Promise<ReserveResult> {
      const at = new Date().toISOString();
      const reservation: Reservation = { ...request, status: ReservationStatus.Reserved, createdAt: at, updatedAt: at };
      return transaction(async (tx) => {
        // The insert is the idempotency gate: only the call that creates the row takes stock.
        if (await repo.insertReservation(tx, reservation)) {
          await take(tx, request.productId, request.quantity, at, ErrorCode.Conflict);
          return { reservation, created: true };
        }
        const existing = await repo.findReservation(tx, request.orderId);
        if (!existing)
          throw new AppError(ErrorCode.Internal, `reservation of order ${request.orderId} conflicted but is missing`);
        const decision = decideReplay(existing, request);
        switch (decision.kind) {
          case 'replay':
            return { reservation: existing, created: false };
          case 'released':
            throw new AppError(ErrorCode.Conflict, `the reservation of order ${request.orderId} was already released`, {
              errors: [{ field: 'order_id', reason: 'reservation was released' }],
              type: 'reservation-released',
            });
          case 'mismatch':
            throw new AppError(ErrorCode.Conflict, decision.reason, { errors: [{ field: 'order_id', reason: decision.reason }] });
        }
      });
    },

    /** Reserved stock becomes sold. */
    commit: (orderId: string) => transaction((tx) => settle(tx, 'commit', orderId, new Date().toISOString())),

    /** Reserved stock becomes available again; with no reservation, records a tombstone that refuses a late reserve. */
    release: (orderId: string) => transaction((tx) => settle(tx, 'release', orderId, new Date().toISOString())),

    /** Compensates a commit: sold stock becomes available again. */
    return: (orderId: string) => transaction((tx) => settle(tx, 'return', orderId, new Date().toISOString())),

    getReservation: (orderId: string) => repo.findReservation(db, orderId),
  };
}
export type Inventory = ReturnType<typeof createInventory>;
