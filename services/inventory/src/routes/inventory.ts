import { fromMinorUnits, toMinorUnits } from '@shopflow/contracts';
import { InventoryApi, type ManualReservationView, type ProductView } from '@shopflow/contracts/api';
import { AppError } from '@shopflow/platform/errors';
import { orNotFound, type HttpServer } from '@shopflow/platform/http';
import { etagOf, parseIfMatch, type Product } from '../domain/product.js';
import type { Inventory, ManualReservation } from '../inventory.js';

/** A product as the HTTP API shows it. */
export function toProductView(p: Product): ProductView {
  return {
    product_id: p.productId,
    product_name: p.productName,
    available_quantity: p.available,
    reserved_quantity: p.reserved,
    sold_quantity: p.sold,
    ...(p.priceMinor === null ? {} : { price: fromMinorUnits(p.priceMinor) }),
  };
}

function toManualReservationView({ product, reservationId }: ManualReservation): ManualReservationView {
  return { ...toProductView(product), reservation_id: reservationId };
}

/** `price` of a PUT body in minor units: undefined keeps the price, null removes it. */
function priceMinorOf(price: number | null | undefined): number | null | undefined {
  if (price === undefined || price === null) return price;
  const minor = toMinorUnits(price);
  if (minor === undefined || minor === 0)
    throw AppError.invalid('price', 'must be a positive amount with at most two decimal places');
  return minor;
}

/** The seed's stock API plus create/restock (routes declared in contracts): thin handlers over the inventory use cases. */
export function inventoryRoutes(app: HttpServer, inventory: Inventory): void {
  for (const schema of InventoryApi.schemas) app.addSchema(schema);
  const { get, put, reserve, release } = InventoryApi.routes;

  app.route({
    ...get,
    async handler(request, reply) {
      const product = orNotFound(await inventory.getProduct(request.params.product_id), 'product', request.params.product_id);
      return reply.header('etag', etagOf(product)).send(toProductView(product));
    },
  });

  app.route({
    ...put,
    async handler(request, reply) {
      const { product_name, available_quantity, price } = request.body;
      const { product, created } = await inventory.putProduct(
        request.params.product_id,
        { name: product_name, available: available_quantity, priceMinor: priceMinorOf(price) },
        parseIfMatch(request.headers['if-match']),
      );
      return reply
        .code(created ? 201 : 200)
        .header('etag', etagOf(product))
        .send(toProductView(product));
    },
  });

  app.route({
    ...reserve,
    handler: async (request) => toManualReservationView(await inventory.reserveManually(request.params.product_id, request.body)),
  });

  app.route({
    ...release,
    handler: async (request) =>
      toManualReservationView(await inventory.releaseManually(request.params.product_id, request.params.reservation_id)),
  });
}
