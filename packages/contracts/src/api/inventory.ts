import { Type, type Static } from '@sinclair/typebox';
import { problemResponses } from './problem.js';
import type { Api, ApiRoute } from './route.js';
import { Id, Quantity } from './shared.js';

/** `GET /inventory/:product_id`: the seed's shape plus `sold_quantity`. */
export const ProductView = Type.Object(
  {
    product_id: Type.String(),
    product_name: Type.String(),
    available_quantity: Type.Integer(),
    reserved_quantity: Type.Integer(),
    sold_quantity: Type.Integer(),
  },
  { $id: 'InventoryItem' },
);
export type ProductView = Static<typeof ProductView>;

/** The inventory's problem types beyond the platform's codes (`urn:shopflow:problem:<type>`). */
export const InventoryProblem = {
  /** Not enough available stock: 400 on the seed's reserve, 409 on the saga's reservation API. */
  InsufficientStock: 'insufficient-stock',
} as const;

const ProductParams = Type.Object({ product_id: Id });
const product = Type.Ref(ProductView);

/** The inventory service's public API: the seed's stock routes plus create/restock. */
export const InventoryApi = {
  schemas: [ProductView],
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
        params: ProductParams,
        body: Type.Object(
          {
            product_name: Type.String({ minLength: 1, maxLength: 200 }),
            available_quantity: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: product, 201: product, ...problemResponses(400) },
      },
    },
    reserve: {
      method: 'POST',
      url: '/inventory/:product_id/reserve',
      access: 'admin',
      schema: {
        summary: 'Reserve stock for no particular order (body: the quantity as a bare JSON integer, e.g. 2)',
        params: ProductParams,
        body: Quantity,
        response: { 200: product, ...problemResponses(400, 404) },
      },
    },
  } satisfies Record<string, ApiRoute>,
} satisfies Api;
