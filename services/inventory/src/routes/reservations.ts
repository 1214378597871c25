import { Type } from '@sinclair/typebox';
import {
  ReservationBatchRequest,
  ReservationBatchResponse,
  type ReservationOperation,
  type ReservationRejectionCode,
  type ReservationResult,
} from '@shopflow/contracts';
import { Id, Quantity } from '@shopflow/contracts/api';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import { problemResponses, orNotFound, type HttpServer } from '@shopflow/platform/http';
import type { Inventory } from '../inventory.js';
import { ReservationView, toReservationView } from './schemas.js';

const OrderParams = Type.Object({ order_id: Id });

const CreateReservation = Type.Object({ order_id: Id, product_id: Id, quantity: Quantity }, { additionalProperties: false });

const SETTLEMENT_SUMMARIES = {
  commit: 'Commit a reservation: reserved stock becomes sold (idempotent)',
  release: 'Release a reservation: reserved stock becomes available (idempotent; with no reservation, records a tombstone)',
  return: 'Return a committed reservation: sold stock becomes available (idempotent; compensates a commit)',
} as const;

/** The business "no" an error stands for in a batch answer; undefined for a fault. */
function rejectionOf(error: unknown): ReservationResult | undefined {
  if (!(error instanceof AppError)) return undefined;
  const code: ReservationRejectionCode | undefined =
    error.type === 'insufficient-stock'
      ? 'insufficient-stock'
      : error.type === 'reservation-released'
        ? 'released'
        : error.code === ErrorCode.NotFound
          ? 'not-found'
          : error.code === ErrorCode.Conflict
            ? 'conflict'
            : undefined;
  return code && { outcome: 'rejected', code, detail: error.message };
}

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
          'Several reservation calls in one request, each answered with a typed outcome (ok, rejected with a code, or error). ' +
          'The saga gathers the calls of one moment here, which saves a request per order at high load.',
        body: ReservationBatchRequest,
        response: { 200: ReservationBatchResponse, ...problemResponses(400) },
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

      async function apply(op: ReservationOperation): Promise<ReservationResult> {
        try {
          if (op.op === 'reserve') {
            const r = await inventory.reserve({ orderId: op.order_id, productId: op.product_id, quantity: op.quantity });
            return { outcome: 'ok', created: r.created, reservation: toReservationView(r.reservation) };
          }
          return { outcome: 'ok', created: false, reservation: toReservationView(await inventory[op.op](op.order_id)) };
        } catch (error) {
          const rejected = rejectionOf(error);
          if (rejected) return rejected;
          request.log.error({ err: error, op }, 'batched reservation call failed');
          // Like a 5xx body: no internals.
          return { outcome: 'error', detail: error instanceof AppError ? error.code : 'internal' };
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
