import { Type, type Static } from '@sinclair/typebox';
import { ReservationStatus } from './statuses.js';

// The internal saga → inventory API (`POST /reservations/batch`), not the seed's: one schema per
// shape, used by the inventory route to validate and answer and by the saga to call and read.

/** Order and product ids: what fits in a URL path segment unescaped. */
const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' });

/** One reservation call, keyed by order id; each is idempotent. */
export const ReservationOperation = Type.Union([
  Type.Object(
    { op: Type.Literal('reserve'), order_id: Id, product_id: Id, quantity: Type.Integer({ minimum: 1, maximum: 1_000_000 }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { op: Type.Union([Type.Literal('commit'), Type.Literal('release'), Type.Literal('return')]), order_id: Id },
    { additionalProperties: false },
  ),
]);
export type ReservationOperation = Static<typeof ReservationOperation>;

/** Several calls in one request; those on the same order run in the order given. */
export const ReservationBatchRequest = Type.Object(
  { operations: Type.Array(ReservationOperation, { minItems: 1, maxItems: 256 }) },
  { additionalProperties: false },
);
export type ReservationBatchRequest = Static<typeof ReservationBatchRequest>;

/** Why the inventory said no: a business answer, the same however often the call is repeated. */
export const ReservationRejectionCode = Type.Union([
  /** A reserve asked for more than is available. */
  Type.Literal('insufficient-stock'),
  /** No such product (reserve) or no reservation for the order (commit, return). */
  Type.Literal('not-found'),
  /** A reserve for an order whose reservation was already released or returned. */
  Type.Literal('released'),
  /** The reservation is in a status the call cannot start from (e.g. release of a COMMITTED one). */
  Type.Literal('conflict'),
]);
export type ReservationRejectionCode = Static<typeof ReservationRejectionCode>;

/** An order's reservation after a call; `product_id` is null only in a release's tombstone. */
export const ReservationState = Type.Object({
  order_id: Type.String(),
  product_id: Type.Union([Type.String(), Type.Null()]),
  quantity: Type.Integer(),
  status: Type.Union(Object.values(ReservationStatus).map((s) => Type.Literal(s))),
});
export type ReservationState = Static<typeof ReservationState>;

/** The answer to one operation of a batch, in the batch's order. */
export const ReservationResult = Type.Union([
  Type.Object({
    outcome: Type.Literal('ok'),
    /** True only for a reserve that took stock; false for a replay and for every settlement. */
    created: Type.Boolean(),
    reservation: ReservationState,
  }),
  Type.Object({ outcome: Type.Literal('rejected'), code: ReservationRejectionCode, detail: Type.String() }),
  /** The inventory failed to answer this operation (a fault, not a "no"): worth trying again. */
  Type.Object({ outcome: Type.Literal('error'), detail: Type.String() }),
]);
export type ReservationResult = Static<typeof ReservationResult>;

export const ReservationBatchResponse = Type.Object({ results: Type.Array(ReservationResult) });
export type ReservationBatchResponse = Static<typeof ReservationBatchResponse>;
