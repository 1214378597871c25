import { createHash, randomUUID } from 'node:crypto';
import {
  EventType,
  OrderStatus,
  Subject,
  fromMinorUnits,
  isTerminalOrderStatus,
  toMinorUnits,
  type OrderStatusCommand,
  type TerminalOrderStatus,
} from '@shopflow/contracts';
import type { PlaceOrder } from '@shopflow/contracts/api';
import type { Db, Queryable } from '@shopflow/platform/db';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import { orNotFound } from '@shopflow/platform/http';
import type { Outbox } from '@shopflow/platform/messaging';
import { ordersRepository as repo } from './db/orders-repository.js';
import { decideRequestedTransition, decideSagaTransition, type Order } from './domain/order.js';
import type { ProductCatalog } from './domain/ports.js';

export interface PlaceOrderResult {
  order: Order;
  /** True when an earlier request with the same Idempotency-Key already created this order. */
  replayed: boolean;
}

export interface OrdersDeps {
  db: Db;
  outbox: Outbox;
  catalog: ProductCatalog;
}

/** The order service's use cases; each one is a single transaction with its events. */
export function createOrders({ db, outbox, catalog }: OrdersDeps) {
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

  return {
    /** Places an order (PENDING) and its `orders.created` event in one transaction. */
    async place(input: PlaceOrder, idempotencyKey?: string): Promise<PlaceOrderResult> {
      const amountMinor = toMinorUnits(input.amount);
      if (amountMinor === undefined)
        throw AppError.invalid('amount', 'must be a non-negative amount with at most two decimal places');
      if (!(await catalog.exists(input.product_id))) {
        throw AppError.invalid('product_id', `unknown product ${input.product_id}`, ErrorCode.Unprocessable);
      }
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
      const requestHash = idempotencyKey ? hashRequest(input) : '';
      return db.transaction(async (tx) => {
        if (idempotencyKey && !(await repo.claimKey(tx, idempotencyKey, requestHash, order.id, now))) {
          const earlier = await repo.findKey(tx, idempotencyKey);
          if (earlier?.request_hash !== requestHash) {
            throw new AppError(ErrorCode.Unprocessable, 'Idempotency-Key was used before with a different request body', {
              errors: [{ field: 'Idempotency-Key', reason: 'was used before with a different request body' }],
            });
          }
          const existing = await repo.find(tx, earlier.order_id);
          if (!existing) throw new AppError(ErrorCode.Internal, `idempotency key points at missing order ${earlier.order_id}`);
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
    },

    get: (id: string) => repo.find(db, id),

    list: (filter: { customerId?: string; status?: string; limit: number }) => repo.list(db, filter),

    /** `POST /orders/:id/status`: a legal transition of the state machine, or a Conflict. */
    async requestStatus(id: string, status: OrderStatus): Promise<Order> {
      return db.transaction(async (tx) => {
        const order = orNotFound(await repo.find(tx, id, { lock: true }), 'order', id);
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
function hashRequest(input: PlaceOrder): string {
  const canonical = JSON.stringify([input.customer_id, input.product_id, input.quantity, input.amount]);
  return createHash('sha256').update(canonical).digest('hex');
}
