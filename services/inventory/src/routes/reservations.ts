import { Type } from '@sinclair/typebox';
import { Id, Quantity } from '@shopflow/contracts/api';
import { AppError, httpStatusOf } from '@shopflow/platform/errors';
import { Problem, problem, problemOf, problemResponses, orNotFound, type HttpServer } from '@shopflow/platform/http';
import type { Inventory } from '../inventory.js';
import { ReservationView, toReservationView } from './schemas.js';

const OrderParams = Type.Object({ order_id: Id });

const CreateReservation = Type.Object({ order_id: Id, product_id: Id, quantity: Quantity }, { additionalProperties: false });

const Operation = Type.Union([
  Type.Object({ op: Type.Literal('reserve'), order_id: Id, product_id: Id, quantity: Quantity }, { additionalProperties: false }),
  Type.Object(
    { op: Type.Union([Type.Literal('commit'), Type.Literal('release'), Type.Literal('return')]), order_id: Id },
    { additionalProperties: false },
  ),
]);

const SETTLEMENT_SUMMARIES = {
  commit: 'Commit a reservation: reserved stock becomes sold (idempotent)',
  release: 'Release a reservation: reserved stock becomes available (idempotent; with no reservation, records a tombstone)',
  return: 'Return a committed reservation: sold stock becomes available (idempotent; compensates a commit)',
} as const;

/** The saga's reservation API, keyed by order id; every call is idempotent. */
export function reservationRoutes(app: HttpServer, inventory: Inventory): void {
  app.addSchema(ReservationView);
  const reservation = Type.Ref(ReservationView);

  app.post(
    '/reservations',
    {
      schema: {
        summary: "Reserve stock for an order (201), or answer a replay with the order's reservation (200)",
        body: CreateReservation,
        response: { 200: reservation, 201: reservation, ...problemResponses(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const { order_id, product_id, quantity } = request.body;
      const result = await inventory.reserve({ orderId: order_id, productId: product_id, quantity });
      if (result.created) reply.code(201).header('location', `/reservations/${order_id}`);
      return reply.send(toReservationView(result.reservation));
    },
  );

  app.get(
    '/reservations/:order_id',
    {
      schema: {
        summary: "An order's reservation",
        params: OrderParams,
        response: { 200: reservation, ...problemResponses(400, 404) },
      },
    },
    async (request) =>
      toReservationView(
        orNotFound(await inventory.getReservation(request.params.order_id), 'reservation of order', request.params.order_id),
      ),
  );

  app.post(
    '/reservations/batch',
    {
      schema: {
        summary:
          'Several reservation calls in one request, each answered as its own call would be (status and body). ' +
          'The saga gathers the calls of one moment here, which saves a request per order at high load.',
        body: Type.Object({ operations: Type.Array(Operation, { minItems: 1, maxItems: 256 }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            results: Type.Array(Type.Object({ status: Type.Integer(), body: Type.Union([reservation, Type.Ref(Problem)]) })),
          }),
          ...problemResponses(400),
        },
      },
    },
    async (request) => {
      // Each operation is its own transaction; the database commits those that meet in one group.
      // Operations on different orders run concurrently, but those on the same order run in the
      // order given: on PostgreSQL a release sent after a reserve must not overtake it.
      const tails = new Map<string, Promise<unknown>>();
      const results = await Promise.all(
        request.body.operations.map((op) => {
          const run = (tails.get(op.order_id) ?? Promise.resolve()).then(() => apply(op));
          tails.set(op.order_id, run);
          return run;
        }),
      );
      return { results };

      async function apply(op: (typeof request.body.operations)[number]) {
        try {
          if (op.op === 'reserve') {
            const r = await inventory.reserve({ orderId: op.order_id, productId: op.product_id, quantity: op.quantity });
            return { status: r.created ? 201 : 200, body: toReservationView(r.reservation) };
          }
          return { status: 200, body: toReservationView(await inventory[op.op](op.order_id)) };
        } catch (error) {
          if (error instanceof AppError) return { status: httpStatusOf[error.code], body: problemOf(error) };
          request.log.error({ err: error, op }, 'batched reservation call failed');
          return { status: 500, body: problem(500, 'internal') };
        }
      }
    },
  );

  for (const action of ['commit', 'release', 'return'] as const) {
    app.post(
      `/reservations/:order_id/${action}`,
      {
        schema: {
          summary: SETTLEMENT_SUMMARIES[action],
          params: OrderParams,
          response: { 200: reservation, ...problemResponses(400, 404, 409) },
        },
      },
      async (request) => toReservationView(await inventory[action](request.params.order_id)),
    );
  }
}
