import { Type, type Static } from '@sinclair/typebox';
import { ReservationStatus } from '@shopflow/contracts';
import type { Reservation } from '../domain/reservation.js';

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
export type ReservationView = Static<typeof ReservationView>;

/** A reservation as the HTTP API shows it. */
export function toReservationView(r: Reservation): ReservationView {
  return { order_id: r.orderId, product_id: r.productId, quantity: r.quantity, status: r.status };
}
