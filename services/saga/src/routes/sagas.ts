import { Type } from '@sinclair/typebox';
import { SAGA_STATES, fromMinorUnits } from '@shopflow/contracts';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import { problemResponses, type HttpServer } from '@shopflow/platform/http';
import type { Saga } from '../domain/saga.js';
import type { Sagas } from '../sagas.js';

const SagaView = Type.Object(
  {
    order_id: Type.String(),
    customer_id: Type.String(),
    product_id: Type.String(),
    quantity: Type.Integer(),
    amount: Type.Number(),
    state: Type.Union(SAGA_STATES.map((s) => Type.Literal(s))),
    action: Type.Union([Type.String(), Type.Null()], {
      description: 'the action running or due next; the one that failed when parked',
    }),
    attempt: Type.Integer(),
    compensations: Type.Array(Type.String(), { description: 'compensations still to run after `action`' }),
    outcome: Type.Union([Type.String(), Type.Null()]),
    parked: Type.Boolean(),
    reason: Type.Union([Type.String(), Type.Null()]),
    payment_id: Type.Union([Type.String(), Type.Null()]),
    next_run_at: Type.String(),
    created_at: Type.String(),
    updated_at: Type.String(),
  },
  { $id: 'Saga' },
);

const Step = Type.Object({
  at: Type.String(),
  action: Type.String(),
  result: Type.String(),
  detail: Type.Union([Type.String(), Type.Null()]),
});
const Params = Type.Object({ order_id: Type.String({ minLength: 1, maxLength: 64 }) });

function toView(s: Saga) {
  return {
    order_id: s.orderId,
    customer_id: s.customerId,
    product_id: s.productId,
    quantity: s.quantity,
    amount: fromMinorUnits(s.amountMinor),
    state: s.state,
    action: s.action,
    attempt: s.attempt,
    compensations: s.compensations,
    outcome: s.outcome,
    parked: s.parked,
    reason: s.reason,
    payment_id: s.paymentId,
    next_run_at: new Date(s.nextRunAt).toISOString(),
    created_at: new Date(s.createdAt).toISOString(),
    updated_at: new Date(s.updatedAt).toISOString(),
  };
}

/** The saga read API (and an operator's retry of a parked saga). */
export function sagaRoutes(app: HttpServer, sagas: Sagas): void {
  app.addSchema(SagaView);

  app.get(
    '/sagas',
    {
      schema: {
        summary: 'List sagas, most recently changed first',
        querystring: Type.Object(
          {
            state: Type.Optional(Type.Union(SAGA_STATES.map((s) => Type.Literal(s)))),
            parked: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
            limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ sagas: Type.Array(Type.Ref(SagaView)) }), ...problemResponses(400) },
      },
    },
    async (request) => {
      const { state, parked, limit } = request.query;
      const list = await sagas.list({
        ...(state ? { state } : {}),
        ...(parked ? { parked: parked === 'true' } : {}),
        limit: Math.min(Number(limit ?? 100), 1000),
      });
      return { sagas: list.map(toView) };
    },
  );

  app.get(
    '/sagas/summary',
    {
      schema: {
        summary: 'How many sagas are in each state',
        response: { 200: Type.Object({ states: Type.Record(Type.String(), Type.Integer()) }) },
      },
    },
    async () => ({ states: await sagas.summary() }),
  );

  app.get(
    '/sagas/:order_id',
    {
      schema: {
        summary: "An order's saga with its step log",
        params: Params,
        response: { 200: Type.Object({ saga: Type.Ref(SagaView), steps: Type.Array(Step) }), ...problemResponses(404) },
      },
    },
    async (request) => {
      const saga = await sagas.get(request.params.order_id);
      if (!saga) throw new AppError(ErrorCode.NotFound, `saga ${request.params.order_id} not found`);
      return { saga: toView(saga), steps: saga.steps.map((s) => ({ ...s, at: new Date(s.at).toISOString() })) };
    },
  );

  app.post(
    '/sagas/:order_id/retry',
    {
      schema: {
        summary: "Resume a parked saga's compensations",
        params: Params,
        response: { 200: Type.Ref(SagaView), ...problemResponses(404, 409) },
      },
    },
    async (request) => toView(await sagas.retry(request.params.order_id)),
  );
}
