import { Type } from '@sinclair/typebox';
import { fromMinorUnits } from '@shopflow/contracts';
import { SagasApi, type SagaStepView, type SagaView } from '@shopflow/contracts/api';
import { listLimit, orNotFound, type HttpServer } from '@shopflow/platform/http';
import { decodeCursor } from '@shopflow/platform/pagination';
import { parseTraceparent } from '@shopflow/platform/tracing';
import type { Saga, StepRecord } from '../domain/saga.js';
import type { Sagas } from '../sagas.js';

/** A saga as the HTTP API shows it; epoch milliseconds become RFC 3339. */
export function toSagaView(s: Saga): SagaView {
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
    trace_id: parseTraceparent(s.traceparent ?? undefined)?.traceId ?? null,
    next_run_at: new Date(s.nextRunAt).toISOString(),
    created_at: new Date(s.createdAt).toISOString(),
    updated_at: new Date(s.updatedAt).toISOString(),
  };
}

/** One line of the step log as the HTTP API shows it. */
export function toSagaStepView(step: StepRecord): SagaStepView {
  return { ...step, at: new Date(step.at).toISOString() };
}

/** The saga read API and an operator's retry (routes declared in contracts), plus a count by state. */
export function sagaRoutes(app: HttpServer, sagas: Sagas): void {
  for (const schema of SagasApi.schemas) app.addSchema(schema);
  const { list, get, retry } = SagasApi.routes;

  app.route({
    ...list,
    async handler(request) {
      const { state, parked, limit, cursor } = request.query;
      const page = await sagas.list(
        { ...(state ? { state } : {}), ...(parked ? { parked: parked === 'true' } : {}) },
        listLimit(limit),
        decodeCursor(cursor, 'number'),
      );
      return { sagas: page.items.map(toSagaView), next_cursor: page.nextCursor };
    },
  });

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

  app.route({
    ...get,
    async handler(request) {
      const saga = orNotFound(await sagas.get(request.params.order_id), 'saga', request.params.order_id);
      return { saga: toSagaView(saga), steps: saga.steps.map(toSagaStepView) };
    },
  });

  app.route({
    ...retry,
    handler: async (request) => toSagaView(await sagas.retry(request.params.order_id)),
  });
}
