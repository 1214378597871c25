import { Type } from '@sinclair/typebox';
import { problemResponses, notFound, type HttpServer } from '@shopflow/platform/http';
import { toProductView } from '../domain/product.js';
import type { Inventory } from '../inventory.js';
import { Id, ProductView, Quantity } from './schemas.js';

const ProductParams = Type.Object({ product_id: Id });

const PutProduct = Type.Object(
  {
    product_name: Type.String({ minLength: 1, maxLength: 200 }),
    available_quantity: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }),
  },
  { additionalProperties: false },
);

/** The seed's stock API plus create/restock: thin handlers over the inventory use cases. */
export function inventoryRoutes(app: HttpServer, inventory: Inventory): void {
  app.addSchema(ProductView);

  app.get(
    '/inventory/:product_id',
    {
      schema: {
        summary: "A product's stock",
        params: ProductParams,
        response: { 200: Type.Ref(ProductView), ...problemResponses(400, 404) },
      },
    },
    async (request) => {
      const product = await inventory.getProduct(request.params.product_id);
      if (!product) notFound('product', request.params.product_id);
      return toProductView(product);
    },
  );

  app.put(
    '/inventory/:product_id',
    {
      schema: {
        summary: 'Create a product (201) or rename and restock it (200): available stock is set to the given value',
        params: ProductParams,
        body: PutProduct,
        response: { 200: Type.Ref(ProductView), 201: Type.Ref(ProductView), ...problemResponses(400) },
      },
    },
    async (request, reply) => {
      const { product_name, available_quantity } = request.body;
      const { product, created } = await inventory.putProduct(request.params.product_id, product_name, available_quantity);
      return reply.code(created ? 201 : 200).send(toProductView(product));
    },
  );

  app.post(
    '/inventory/:product_id/reserve',
    {
      schema: {
        summary: 'Reserve stock for no particular order (body: the quantity as a bare JSON integer, e.g. 2)',
        params: ProductParams,
        body: Quantity,
        response: { 200: Type.Ref(ProductView), ...problemResponses(400, 404) },
      },
    },
    async (request) => toProductView(await inventory.reserveManually(request.params.product_id, request.body)),
  );
}
