import { Type, type Static } from '@sinclair/typebox';
import { MAX_AMOUNT } from '../money.js';
import { ORDER_STATUSES } from '../statuses.js';
import { problemResponses } from './problem.js';
import type { Api, ApiRoute } from './route.js';
import { Cursor, Limit, NextCursor, PathId } from './shared.js';

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

/**
 * The seed's `POST /orders` body. A customer may leave out `customer_id` (it is the token's
 * subject); `amount` may be left out for a product with a price (it is quantity × price).
 */
export const PlaceOrder = Type.Object(
  {
    customer_id: Type.Optional(CustomerOrProductId),
    product_id: CustomerOrProductId,
    quantity: Type.Integer({ minimum: 1, maximum: 10_000 }),
    amount: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: MAX_AMOUNT })),
  },
  { additionalProperties: false },
);
export type PlaceOrder = Static<typeof PlaceOrder>;

/** How many orders are in each status: every status is present, zero included. */
const StatusCounts = Type.Object(Object.fromEntries(ORDER_STATUSES.map((s) => [s, Type.Integer({ minimum: 0 })])));

/** `GET /orders/stats`: counts by status over all orders, and over those placed in the last `window_s` seconds. */
export const OrderStatsView = Type.Object(
  {
    counts: StatusCounts,
    recent: Type.Object({
      window_s: Type.Integer({ description: 'the window, in seconds, ending at as_of' }),
      placed: Type.Integer({ description: 'orders placed in the window' }),
      /** The orders placed in the window, by their current status. */
      counts: StatusCounts,
    }),
    as_of: Type.String({ description: 'RFC 3339' }),
  },
  { $id: 'OrderStats' },
);
export type OrderStatsView = Static<typeof OrderStatsView>;

/** The stats window when `window_s` is absent, and at most. */
export const STATS_WINDOW_S = { default: 60, max: 3600 } as const;

const OrderParams = Type.Object({ order_id: PathId });
const order = Type.Ref(OrderView);

/** The order service's public API: the seed's order routes plus a listing. */
export const OrdersApi = {
  schemas: [OrderView, OrderStatsView],
  routes: {
    place: {
      method: 'POST',
      url: '/orders',
      access: 'customer',
      schema: {
        summary: 'Place an order (PENDING); the saga takes it from there',
        description:
          'A customer places orders for itself only (another customer_id is 403). For a product with a price the amount is quantity × price (another amount is 422). Idempotency-Key is scoped per customer.',
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
        body: PlaceOrder,
        response: { 201: order, ...problemResponses(400, 403, 422, 503) },
      },
    },
    list: {
      method: 'GET',
      url: '/orders',
      access: 'customer',
      schema: {
        summary: "List orders, newest first (a customer's with customer_id), a page at a time",
        description: "A customer lists its own orders only: customer_id defaults to it, and another customer's is 403.",
        querystring: Type.Object(
          {
            customer_id: Type.Optional(CustomerOrProductId),
            status: Type.Optional(Status),
            limit: Type.Optional(Limit),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ orders: Type.Array(order), next_cursor: NextCursor }), ...problemResponses(400, 403) },
      },
    },
    stats: {
      method: 'GET',
      url: '/orders/stats',
      access: 'admin',
      schema: {
        summary: 'How many orders are in each status, overall and among those placed recently',
        description: `window_s: the recent window in seconds (default ${STATS_WINDOW_S.default}; larger values are capped at ${STATS_WINDOW_S.max}).`,
        querystring: Type.Object(
          { window_s: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}$', description: 'seconds' })) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Ref(OrderStatsView), ...problemResponses(400, 403) },
      },
    },
    get: {
      method: 'GET',
      url: '/orders/:order_id',
      access: 'customer',
      schema: {
        summary: "Get an order (another customer's is 404)",
        params: OrderParams,
        response: { 200: order, ...problemResponses(404) },
      },
    },
    setStatus: {
      method: 'POST',
      url: '/orders/:order_id/status',
      access: 'customer',
      schema: {
        summary: 'Move an order along its state machine (body: a JSON string such as "CONFIRMED")',
        description: 'A customer may only cancel its own orders: any other status is 403, and an order of someone else 404.',
        params: OrderParams,
        body: Status,
        response: { 200: order, ...problemResponses(400, 403, 404, 409) },
      },
    },
  } satisfies Record<string, ApiRoute>,
} satisfies Api;
