import { Type } from '@sinclair/typebox';
import { ReservationStatus } from '@shopflow/contracts';

/** Product and order ids: what fits in a URL path segment unescaped. */
export const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' });

/** A quantity one call may reserve. */
export const Quantity = Type.Integer({ minimum: 1, maximum: 1_000_000 });

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

/** What every reservation call answers with. */
export const ReservationView = Type.Object(
  {
    order_id: Type.String(),
    // Null only in a tombstone: a release recorded before any reserve.
    product_id: Type.Union([Type.String(), Type.Null()]),
    quantity: Type.Integer(),
    status: Type.Union(Object.values(ReservationStatus).map((s) => Type.Literal(s))),
  },
  { $id: 'Reservation' },
);
