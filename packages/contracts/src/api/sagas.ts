import { Type, type Static } from '@sinclair/typebox';
import { SAGA_STATES } from '../statuses.js';
import { problemResponses } from './problem.js';
import type { Api, ApiRoute } from './route.js';
import { Cursor, Limit, NextCursor, PathId } from './shared.js';

const State = Type.Union(SAGA_STATES.map((s) => Type.Literal(s)));

/** An order's saga as the orchestrator serves it; times in RFC 3339. */
export const SagaView = Type.Object(
  {
    order_id: Type.String(),
    customer_id: Type.String(),
    product_id: Type.String(),
    quantity: Type.Integer(),
    amount: Type.Number(),
    state: State,
    action: Type.Union([Type.String(), Type.Null()], {
      description: 'the action running or due next; the one that failed when parked',
    }),
    attempt: Type.Integer(),
    compensations: Type.Array(Type.String(), { description: 'compensations still to run after `action`' }),
    outcome: Type.Union([Type.String(), Type.Null()]),
    parked: Type.Boolean(),
    reason: Type.Union([Type.String(), Type.Null()]),
    payment_id: Type.Union([Type.String(), Type.Null()]),
    trace_id: Type.Union([Type.String(), Type.Null()], {
      description: 'the W3C trace id of the request that placed the order; every step of the saga joins that trace',
    }),
    next_run_at: Type.String(),
    created_at: Type.String(),
    updated_at: Type.String(),
  },
  { $id: 'Saga' },
);
export type SagaView = Static<typeof SagaView>;

/** One line of a saga's step log. */
export const SagaStepView = Type.Object({
  at: Type.String(),
  action: Type.String(),
  result: Type.String(),
  detail: Type.Union([Type.String(), Type.Null()]),
});
export type SagaStepView = Static<typeof SagaStepView>;

const SagaParams = Type.Object({ order_id: PathId });
const saga = Type.Ref(SagaView);

/** The saga orchestrator's public API: reading sagas, and an operator's retry of a parked one. */
export const SagasApi = {
  schemas: [SagaView],
  routes: {
    list: {
      method: 'GET',
      url: '/sagas',
      access: 'admin',
      schema: {
        summary: 'List sagas, newest first, a page at a time',
        querystring: Type.Object(
          {
            state: Type.Optional(State),
            parked: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
            limit: Type.Optional(Limit),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ sagas: Type.Array(saga), next_cursor: NextCursor }), ...problemResponses(400) },
      },
    },
    get: {
      method: 'GET',
      url: '/sagas/:order_id',
      access: 'admin',
      schema: {
        summary: "An order's saga with its step log",
        params: SagaParams,
        response: { 200: Type.Object({ saga, steps: Type.Array(SagaStepView) }), ...problemResponses(404) },
      },
    },
    retry: {
      method: 'POST',
      url: '/sagas/:order_id/retry',
      access: 'admin',
      schema: {
        summary: "Resume a parked saga's compensations",
        params: SagaParams,
        response: { 200: saga, ...problemResponses(404, 409) },
      },
    },
  } satisfies Record<string, ApiRoute>,
} satisfies Api;
