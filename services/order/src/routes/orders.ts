import { Type } from '@sinclair/typebox';
import { ORDER_STATUSES, MAX_AMOUNT } from '@shopflow/contracts';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import { problemResponses, type HttpServer } from '@shopflow/platform/http';
import { toView } from '../domain/order.js';
import type { Orders } from '../orders.js';

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
const Status = Type.Union(ORDER_STATUSES.map((s) => Type.Literal(s)));

const OrderView = Type.Object(
  {
    id: Type.String(),
    customer_id: Type.String(),
    product_id: Type.String(),
    quantity: Type.Integer(),
    amount: Type.Number(),
    status: Status,
    created_at: Type.String(),
    updated_at: Type.String(),
    status_reason: Type.Optional(Type.String()),
  },
  { $id: 'Order' },
);

const CreateOrder = Type.Object(
  {
    customer_id: Id,
    product_id: Id,
    quantity: Type.Integer({ minimum: 1, maximum: 10_000 }),
    amount: Type.Number({ minimum: 0, maximum: MAX_AMOUNT }),
  },
  { additionalProperties: false },
);

const OrderParams = Type.Object({ order_id: Type.String({ minLength: 1, maxLength: 64 }) });

/** The seed's order API plus a listing: thin handlers over the order use cases. */
export function orderRoutes(app: HttpServer, orders: Orders): void {
  app.addSchema(OrderView);

  app.post(
    '/orders',
    {
      schema: {
        summary: 'Place an order (PENDING); the saga takes it from there',
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
        body: CreateOrder,
        response: { 201: Type.Ref(OrderView), ...problemResponses(400, 422, 503) },
      },
    },
    async (request, reply) => {
      const { order, replayed } = await orders.place(request.body, request.headers['idempotency-key']);
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(201).header('location', `/orders/${order.id}`).send(toView(order));
    },
  );

  app.get(
    '/orders/:order_id',
    {
      schema: { summary: 'Get an order', params: OrderParams, response: { 200: Type.Ref(OrderView), ...problemResponses(404) } },
    },
    async (request) => {
      const order = await orders.get(request.params.order_id);
      if (!order) throw new AppError(ErrorCode.NotFound, `order ${request.params.order_id} not found`);
      return toView(order);
    },
  );

  app.get(
    '/orders',
    {
      schema: {
        summary: "List orders, newest first (a customer's with customer_id)",
        querystring: Type.Object(
          {
            customer_id: Type.Optional(Id),
            status: Type.Optional(Status),
            limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ orders: Type.Array(Type.Ref(OrderView)) }), ...problemResponses(400) },
      },
    },
    async (request) => {
      const limit = Math.min(Number(request.query.limit ?? 100), 1000);
      const list = await orders.list({
        ...(request.query.customer_id ? { customerId: request.query.customer_id } : {}),
        ...(request.query.status ? { status: request.query.status } : {}),
        limit,
      });
      return { orders: list.map(toView) };
    },
  );

  app.post(
    '/orders/:order_id/status',
    {
      schema: {
        summary: 'Move an order along its state machine (body: a JSON string such as "CONFIRMED")',
        params: OrderParams,
        body: Status,
        response: { 200: Type.Ref(OrderView), ...problemResponses(400, 404, 409) },
      },
    },
    async (request) => toView(await orders.requestStatus(request.params.order_id, request.body)),
  );
}
