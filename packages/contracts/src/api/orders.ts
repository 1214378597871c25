import { Type, type Static } from '@sinclair/typebox';
import { MAX_AMOUNT } from '../money.js';
import { ORDER_STATUSES } from '../statuses.js';
import { problemResponses } from './problem.js';
import type { Api, ApiRoute } from './route.js';
import { Limit, PathId } from './shared.js';

const CustomerOrProductId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
const Status = Type.Union(ORDER_STATUSES.map((s) => Type.Literal(s)));

/** The seed's JSON shape of an order, plus when it last changed and why. */
export const OrderView = Type.Object(
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
export type OrderView = Static<typeof OrderView>;

/** The seed's `POST /orders` body. */
export const PlaceOrder = Type.Object(
  {
    customer_id: CustomerOrProductId,
    product_id: CustomerOrProductId,
    quantity: Type.Integer({ minimum: 1, maximum: 10_000 }),
    amount: Type.Number({ minimum: 0, maximum: MAX_AMOUNT }),
  },
  { additionalProperties: false },
);
export type PlaceOrder = Static<typeof PlaceOrder>;

const OrderParams = Type.Object({ order_id: PathId });
const order = Type.Ref(OrderView);

/** The order service's public API: the seed's order routes plus a listing. */
export const OrdersApi = {
  schemas: [OrderView],
  routes: {
    place: {
      method: 'POST',
      url: '/orders',
      access: 'customer',
      schema: {
        summary: 'Place an order (PENDING); the saga takes it from there',
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
        body: PlaceOrder,
        response: { 201: order, ...problemResponses(400, 422, 503) },
      },
    },
    list: {
      method: 'GET',
      url: '/orders',
      access: 'customer',
      schema: {
        summary: "List orders, newest first (a customer's with customer_id)",
        querystring: Type.Object(
          { customer_id: Type.Optional(CustomerOrProductId), status: Type.Optional(Status), limit: Type.Optional(Limit) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ orders: Type.Array(order) }), ...problemResponses(400) },
      },
    },
    get: {
      method: 'GET',
      url: '/orders/:order_id',
      access: 'customer',
      schema: { summary: 'Get an order', params: OrderParams, response: { 200: order, ...problemResponses(404) } },
    },
    setStatus: {
      method: 'POST',
      url: '/orders/:order_id/status',
      access: 'customer',
      schema: {
        summary: 'Move an order along its state machine (body: a JSON string such as "CONFIRMED")',
        params: OrderParams,
        body: Status,
        response: { 200: order, ...problemResponses(400, 404, 409) },
      },
    },
  } satisfies Record<string, ApiRoute>,
} satisfies Api;
