import { fromMinorUnits } from '@shopflow/contracts';
import { OrdersApi, Role, STATS_WINDOW_S, type OrderView } from '@shopflow/contracts/api';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import { customerScope, listLimit, requestPrincipal, type HttpServer } from '@shopflow/platform/http';
import { decodeCursor } from '@shopflow/platform/pagination';
import type { Order } from '../domain/order.js';
import type { Orders } from '../orders.js';

/** An order as the HTTP API shows it: the seed's JSON shape, money in decimal units. */
export function toOrderView(order: Order): OrderView {
  return {
    id: order.id,
    customer_id: order.customerId,
    product_id: order.productId,
    quantity: order.quantity,
    amount: fromMinorUnits(order.amountMinor),
    status: order.status,
    created_at: order.createdAt,
    updated_at: order.updatedAt,
    ...(order.statusReason ? { status_reason: order.statusReason } : {}),
  };
}

/** The seed's order API plus a listing (routes declared in contracts): thin handlers over the order use cases. */
export function orderRoutes(app: HttpServer, orders: Orders): void {
  for (const schema of OrdersApi.schemas) app.addSchema(schema);
  const { place, get, list, setStatus, stats } = OrdersApi.routes;

  app.route({
    ...place,
    async handler(request, reply) {
      const customerId = customerScope(requestPrincipal(request), request.body.customer_id);
      if (customerId === undefined) throw AppError.invalid('customer_id', 'is required');
      const { order, replayed } = await orders.place(
        { ...request.body, customer_id: customerId },
        request.headers['idempotency-key'],
      );
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(201).header('location', `/orders/${order.id}`).send(toOrderView(order));
    },
  });

  app.route({
    ...stats,
    async handler(request) {
      // The gateway lets only admins through; a customer's principal that got here anyway is refused.
      if (requestPrincipal(request)?.role === Role.Customer)
        throw new AppError(ErrorCode.Forbidden, 'order stats are for operators');
      const windowS = Math.min(Number(request.query.window_s ?? STATS_WINDOW_S.default), STATS_WINDOW_S.max);
      return orders.stats(windowS);
    },
  });

  app.route({
    ...get,
    handler: async (request) => toOrderView(await orders.get(request.params.order_id, requestPrincipal(request))),
  });

  app.route({
    ...list,
    async handler(request) {
      const { status, limit, cursor } = request.query;
      const customerId = customerScope(requestPrincipal(request), request.query.customer_id);
      const page = await orders.list(
        { ...(customerId ? { customerId } : {}), ...(status ? { status } : {}) },
        listLimit(limit),
        decodeCursor(cursor, 'string'),
      );
      return { orders: page.items.map(toOrderView), next_cursor: page.nextCursor };
    },
  });

  app.route({
    ...setStatus,
    handler: async (request) =>
      toOrderView(await orders.requestStatus(request.params.order_id, request.body, requestPrincipal(request))),
  });
}
