import { InventoryApi, type ProductView } from '@shopflow/contracts/api';
import { orNotFound, type HttpServer } from '@shopflow/platform/http';
import type { Product } from '../domain/product.js';
import type { Inventory } from '../inventory.js';

/** A product as the HTTP API shows it. */
export function toProductView(p: Product): ProductView {
  return {
    product_id: p.productId,
    product_name: p.productName,
    available_quantity: p.available,
    reserved_quantity: p.reserved,
    sold_quantity: p.sold,
  };
}

/** The seed's stock API plus create/restock (routes declared in contracts): thin handlers over the inventory use cases. */
export function inventoryRoutes(app: HttpServer, inventory: Inventory): void {
  for (const schema of InventoryApi.schemas) app.addSchema(schema);
  const { get, put, reserve } = InventoryApi.routes;

  app.route({
    ...get,
    handler: async (request) =>
      toProductView(orNotFound(await inventory.getProduct(request.params.product_id), 'product', request.params.product_id)),
  });

  app.route({
    ...put,
    async handler(request, reply) {
      const { product_name, available_quantity } = request.body;
      const { product, created } = await inventory.putProduct(request.params.product_id, product_name, available_quantity);
      return reply.code(created ? 201 : 200).send(toProductView(product));
    },
  });

  app.route({
    ...reserve,
    handler: async (request) => toProductView(await inventory.reserveManually(request.params.product_id, request.body)),
  });
}
