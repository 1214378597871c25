import { createHash, randomUUID } from 'node:crypto';
import {
  EventType,
  MAX_AMOUNT,
  ORDER_STATUSES,
  OrderStatus,
  Subject,
  fromMinorUnits,
  isTerminalOrderStatus,
  toMinorUnits,
  type OrderStatusCommand,
  type TerminalOrderStatus,
} from '@shopflow/contracts';
import { Role, type PlaceOrder, type Principal } from '@shopflow/contracts/api';
import type { Db, Queryable } from '@shopflow/platform/db';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import { ownedOrNotFound } from '@shopflow/platform/http';
import type { Outbox } from '@shopflow/platform/messaging';
import { toPage, type PageCursor } from '@shopflow/platform/pagination';
import { ordersRepository as repo, type OrderFilter } from './db/orders-repository.js';
import { decideRequestedTransition, decideSagaTransition, priceOrder, type Order } from './domain/order.js';
import type { Admission } from './admission.js';
import type { ProductCatalog } from './domain/ports.js';

/** A `POST /orders` body once the route has settled whose order it is. */
export type OrderRequest = PlaceOrder & { customer_id: string };

export interface PlaceOrderResult {
  order: Order;
  /** True when an earlier request with the same Idempotency-Key already created this order. */
  replayed: boolean;
}

export interface OrdersDeps {
  db: Db;
  outbox: Outbox;
  catalog: ProductCatalog;
  /** Bounds the backlog of unsettled orders; everything is admitted without it. */
  admission?: Admission;
}

/** The order service's use cases; each one is a single transaction with its events. */
export function createOrders({ db, outbox, catalog, admission }: OrdersDeps) {
  /**
   * Writes the terminal event that tells the notification service (and anyone else) the order ended.
   * An ending asked for through the API is also told to the saga alone, on its own subject: the saga
   * then hears of the endings it must unwind and not of those it commanded itself.
   */
  async function emitTerminal(
    tx: Queryable,
    order: Order,
    status: TerminalOrderStatus,
    reason: string | null,
    byApi: boolean,
  ): Promise<void> {
    const base = {
      event_id: randomUUID(),
      order_id: order.id,
      customer_id: order.customerId,
      product_id: order.productId,
      quantity: order.quantity,
      amount: fromMinorUnits(order.amountMinor),
      amount_minor: order.amountMinor,
      occurred_at: new Date().toISOString(),
      ...(reason ? { reason } : {}),
    };
    switch (status) {
      case OrderStatus.Completed:
        return outbox.enqueue(tx, Subject.OrderCompleted, { ...base, event_type: EventType.OrderCompleted, status });
      case OrderStatus.Cancelled:
        await outbox.enqueue(tx, Subject.OrderCancelled, { ...base, event_type: EventType.OrderCancelled, status });
        break;
      case OrderStatus.Failed:
        await outbox.enqueue(tx, Subject.OrderFailed, { ...base, event_type: EventType.OrderFailed, status });
        break;
    }
    if (byApi) {
      const event = { ...base, event_id: randomUUID(), event_type: EventType.OrderEndedByApi, status };
      await outbox.enqueue(tx, Subject.OrderEndedByApi, event);
    }
  }

  async function changeStatus(
    tx: Queryable,
    order: Order,
    status: OrderStatus,
    reason: string | null,
    byApi: boolean,
  ): Promise<Order> {
    const at = new Date().toISOString();
    await repo.updateStatus(tx, order.id, status, reason, at);
    const updated = { ...order, status, statusReason: reason, updatedAt: at };
    if (isTerminalOrderStatus(status)) await emitTerminal(tx, updated, status, reason, byApi);
    return updated;
  }

  /** The order's amount in minor units: the client's, or quantity × the product's price. */
  async function amountOf(input: OrderRequest): Promise<number> {
    const clientMinor = input.amount === undefined ? undefined : toMinorUnits(input.amount);
    if (clientMinor === undefined && input.amount !== undefined) {
      throw AppError.invalid('amount', 'must be a positive amount with at most two decimal places');
    }
    const product = await catalog.lookup(input.product_id);
    if (!product) throw AppError.invalid('product_id', `unknown product ${input.product_id}`, ErrorCode.Unprocessable);
    const pricing = priceOrder(input.quantity, clientMinor, product.priceMinor);
    switch (pricing.kind) {
      case 'priced':
        if (pricing.amountMinor > MAX_AMOUNT * 100) {
          throw AppError.invalid('quantity', `makes the order cost more than ${MAX_AMOUNT}`, ErrorCode.Unprocessable);
        }
        return pricing.amountMinor;
      case 'missing':
        throw AppError.invalid('amount', `is required: product ${input.product_id} has no price`);
      case 'mismatch':
        throw AppError.invalid(
          'amount',
          `must be quantity × price = ${fromMinorUnits(pricing.expectedMinor)} (or left out)`,
          ErrorCode.Unprocessable,
        );
    }
  }

  /** The order an earlier request with this customer's key made, or undefined; the key with another body is a 422. */
  async function replay(q: Queryable, customerId: string, key: string, requestHash: string): Promise<Order | undefined> {
    const earlier = await repo.findKey(q, customerId, key);
    if (!earlier) return undefined;
    if (earlier.request_hash !== requestHash) {
      throw new AppError(ErrorCode.Unprocessable, 'Idempotency-Key was used before with a different request body', {
        errors: [{ field: 'Idempotency-Key', reason: 'was used before with a different request body' }],
      });
    }
    const existing = await repo.find(q, earlier.order_id);
    if (!existing) throw new AppError(ErrorCode.Internal, `idempotency key points at missing order ${earlier.order_id}`);
    return existing;
  }

  async function create(input: OrderRequest, idempotencyKey: string | undefined, requestHash: string): Promise<PlaceOrderResult> {
    const amountMinor = await amountOf(input);
    const now = new Date().toISOString();
    const order: Order = {
      id: randomUUID(),
      customerId: input.customer_id,
      productId: input.product_id,
      quantity: input.quantity,
      amountMinor,
      status: OrderStatus.Pending,
      statusReason: null,
      createdAt: now,
      updatedAt: now,
    };
    return db.transaction(async (tx) => {
      if (idempotencyKey && !(await repo.claimKey(tx, order.customerId, idempotencyKey, requestHash, order.id, now))) {
        // Another request with this key committed after our first look.
        const existing = await replay(tx, order.customerId, idempotencyKey, requestHash);
        if (!existing) throw new AppError(ErrorCode.Internal, `idempotency key ${idempotencyKey} was claimed but is missing`);
        return { order: existing, replayed: true };
      }
      await repo.insert(tx, order);
      await outbox.enqueue(tx, Subject.OrderCreated, {
        event_id: randomUUID(),
        event_type: EventType.OrderCreated,
        order_id: order.id,
        customer_id: order.customerId,
        product_id: order.productId,
        quantity: order.quantity,
        amount: fromMinorUnits(amountMinor),
        amount_minor: amountMinor,
        occurred_at: now,
      });
      return { order, replayed: false };
    });
  }

  return {
    /**
     * Places an order (PENDING) and its `orders.created` event in one transaction. An Idempotency-Key
     * is the customer's own: the same key from two customers makes two orders.
     */
    async place(input: OrderRequest, idempotencyKey?: string): Promise<PlaceOrderResult> {
      const requestHash = idempotencyKey ? hashRequest(input) : '';
      // A replay answers with the first order before anything else is judged again (the price may have changed since).
      if (idempotencyKey) {
        const replayed = await replay(db, input.customer_id, idempotencyKey, requestHash);
        if (replayed) return { order: replayed, replayed: true };
      }
      // Past capacity a new order is refused at once, rather than taken and left to wait (503, Retry-After).
      const admitted = admission?.admit();
      let placed = false;
      try {
        const result = await create(input, idempotencyKey, requestHash);
        placed = !result.replayed;
        return result;
      } finally {
        admitted?.(placed);
      }
    },

    /** An order the caller may see; someone else's is the same 404 as a missing one. */
    get: async (id: string, principal: Principal | undefined) => ownedOrNotFound(await repo.find(db, id), principal, 'order', id),

    /** A page of orders, newest first; a customer's filter is settled by the route. */
    async list(filter: OrderFilter, limit: number, after: PageCursor<string> | undefined) {
      const rows = await repo.list(db, filter, limit + 1, after);
      return toPage(rows, limit, (o) => ({ key: o.createdAt, id: o.id }));
    },

    /**
     * Counts by status, over every order and over those placed in the last `windowS` seconds (by
     * their current status), for the operators' dashboard.
     */
    async stats(windowS: number, now = new Date()) {
      const since = new Date(now.getTime() - windowS * 1000).toISOString();
      const [all, recent] = await Promise.all([repo.countByStatus(db), repo.countByStatus(db, since)]);
      const counts = (m: Map<OrderStatus, number>) => Object.fromEntries(ORDER_STATUSES.map((s) => [s, m.get(s) ?? 0]));
      const placed = [...recent.values()].reduce((sum, n) => sum + n, 0);
      return {
        counts: counts(all),
        recent: { window_s: windowS, placed, counts: counts(recent) },
        as_of: now.toISOString(),
      };
    },

    /**
     * `POST /orders/:id/status`: a legal transition of the state machine, or a Conflict. A customer
     * may only cancel (anything else is 403), and only its own order (someone else's is 404).
     */
    async requestStatus(id: string, status: OrderStatus, principal: Principal | undefined): Promise<Order> {
      if (principal?.role === Role.Customer && status !== OrderStatus.Cancelled) {
        throw new AppError(ErrorCode.Forbidden, `a customer may only set an order ${OrderStatus.Cancelled}`, {
          errors: [{ field: 'status', reason: `a customer may only set ${OrderStatus.Cancelled}` }],
        });
      }
      return db.transaction(async (tx) => {
        const order = ownedOrNotFound(await repo.find(tx, id, { lock: true }), principal, 'order', id);
        const decision = decideRequestedTransition(order.status, status);
        if (decision.kind === 'unchanged') return order;
        if (decision.kind === 'rejected') {
          throw new AppError(ErrorCode.Conflict, decision.reason, { errors: [{ field: 'status', reason: decision.reason }] });
        }
        return changeStatus(tx, order, status, 'requested through the API', true);
      });
    },

    /** Applies a saga command inside the consumer's transaction; stale commands change nothing. */
    async applySagaCommand(tx: Queryable, command: OrderStatusCommand): Promise<void> {
      const order = await repo.find(tx, command.order_id, { lock: true });
      if (!order) {
        throw new AppError(ErrorCode.NotFound, `saga command for unknown order ${command.order_id}`);
      }
      if (decideSagaTransition(order.status, command.status).kind !== 'apply') return;
      await changeStatus(tx, order, command.status, command.reason ?? null, false);
    },
  };
}
export type Orders = ReturnType<typeof createOrders>;

/** Stable across key order and formatting, so a retried request hashes the same. */
function hashRequest(input: OrderRequest): string {
  // The same canonical form as before keys were scoped per customer, so keys stored then still match.
  const canonical = JSON.stringify([input.customer_id, input.product_id, input.quantity, input.amount ?? null]);
  return createHash('sha256').update(canonical).digest('hex');
}
