import { fromMinorUnits } from '@shopflow/contracts';
import { OrdersApi, type OrderView } from '@shopflow/contracts/api';
import { listLimit, orNotFound, type HttpServer } from '@shopflow/platform/http';
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
  const { place, get, list, setStatus } = OrdersApi.routes;

  app.route({
    ...place,
    async handler(request, reply) {
      const { order, replayed } = await orders.place(request.body, request.headers['idempotency-key']);
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(201).header('location', `/orders/${order.id}`).send(toOrderView(order));
    },
  });

  app.route({
    ...get,
    handler: async (request) =>
      toOrderView(orNotFound(await orders.get(request.params.order_id), 'order', request.params.order_id)),
  });

  app.route({
    ...list,
    async handler(request) {
      const { customer_id, status, limit } = request.query;
      const found = await orders.list({
        ...(customer_id ? { customerId: customer_id } : {}),
        ...(status ? { status } : {}),
        limit: listLimit(limit),
      });
      return { orders: found.map(toOrderView) };
    },
  });

  app.route({
    ...setStatus,
    handler: async (request) => toOrderView(await orders.requestStatus(request.params.order_id, request.body)),
  });
}
