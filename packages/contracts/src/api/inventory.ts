import { Type, type Static } from '@sinclair/typebox';
import { MAX_AMOUNT } from '../money.js';
import { problemResponses } from './problem.js';
import type { Api, ApiRoute } from './route.js';
import { Id, Quantity } from './shared.js';

const productFields = {
  product_id: Type.String(),
  product_name: Type.String(),
  available_quantity: Type.Integer(),
  reserved_quantity: Type.Integer(),
  sold_quantity: Type.Integer(),
  price: Type.Optional(Type.Number({ description: 'unit price in decimal units; absent when the product has none' })),
};

/** `GET /inventory/:product_id`: the seed's shape plus `sold_quantity`, and `price` when the product has one. */
export const ProductView = Type.Object(productFields, { $id: 'InventoryItem' });
export type ProductView = Static<typeof ProductView>;

/** The seed's manual reserve and its release: the product's stock after the call, and which reservation it was. */
export const ManualReservationView = Type.Object(
  { ...productFields, reservation_id: Type.String({ description: 'release it with POST …/reservations/:id/release' }) },
  { $id: 'ManualReservation' },
);
export type ManualReservationView = Static<typeof ManualReservationView>;

/** A unit price: decimal units with at most two fraction digits, more than zero. */
export const Price = Type.Number({ exclusiveMinimum: 0, maximum: MAX_AMOUNT });

/** The inventory's problem types beyond the platform's codes (`urn:shopflow:problem:<type>`). */
export const InventoryProblem = {
  /** Not enough available stock: 400 on the seed's reserve, 409 on the saga's reservation API. */
  InsufficientStock: 'insufficient-stock',
} as const;

const ProductParams = Type.Object({ product_id: Id });
const product = Type.Ref(ProductView);
const manualReservation = Type.Ref(ManualReservationView);

/** The inventory service's public API: the seed's stock routes plus create/restock. */
export const InventoryApi = {
  schemas: [ProductView, ManualReservationView],
  routes: {
    get: {
      method: 'GET',
      url: '/inventory/:product_id',
      access: 'anonymous',
      schema: { summary: "A product's stock", params: ProductParams, response: { 200: product, ...problemResponses(400, 404) } },
    },
    put: {
      method: 'PUT',
      url: '/inventory/:product_id',
      access: 'admin',
      schema: {
        summary: 'Create a product (201) or rename and restock it (200): available stock is set to the given value',
        description:
          'Every answer about a product carries its version as an ETag. Send it back in If-Match and the restock ' +
          'applies only if the stock has not moved since (412 otherwise), so reservations made meanwhile are never ' +
          'overwritten. Without If-Match the value is set whatever happened in between. price: set it, null removes ' +
          'it, absent keeps it.',
        params: ProductParams,
        headers: Type.Object({ 'if-match': Type.Optional(Type.String({ maxLength: 200 })) }),
        body: Type.Object(
          {
            product_name: Type.String({ minLength: 1, maxLength: 200 }),
            available_quantity: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }),
            price: Type.Optional(Type.Union([Price, Type.Null()])),
          },
          { additionalProperties: false },
        ),
        response: { 200: product, 201: product, ...problemResponses(400, 412) },
      },
    },
    reserve: {
      method: 'POST',
      url: '/inventory/:product_id/reserve',
      access: 'admin',
      schema: {
        summary: 'Reserve stock for no particular order (body: the quantity as a bare JSON integer, e.g. 2)',
        description: 'Answers with the stock and the reservation_id that releases it.',
        params: ProductParams,
        body: Quantity,
        response: { 200: manualReservation, ...problemResponses(400, 404) },
      },
    },
    release: {
      method: 'POST',
      url: '/inventory/:product_id/reservations/:reservation_id/release',
      access: 'admin',
      schema: {
        summary: 'Release a manual reservation: its stock becomes available again (idempotent)',
        params: Type.Object({ product_id: Id, reservation_id: Id }),
        response: { 200: manualReservation, ...problemResponses(400, 404, 409) },
      },
    },
  } satisfies Record<string, ApiRoute>,
} satisfies Api;
