import type { OrderCreatedEvent, OrderEndedByApiEvent } from '@shopflow/contracts';
import type { Db, Queryable } from '@shopflow/platform/db';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import { orNotFound } from '@shopflow/platform/http';
import { toPage, type PageCursor } from '@shopflow/platform/pagination';
import { traceHeaders } from '@shopflow/platform/tracing';
import { sagaRepository as repo, type SagaFilter } from './db/saga-repository.js';
import { abort, afterTransition, endedBeforeStart, resume, startSaga, type Saga, type Transition } from './domain/saga.js';
import type { SagaRunner } from './runner.js';

/** The orchestrator's use cases: react to order events, serve and resume sagas. */
export function createSagas(db: Db, runner: SagaRunner) {
  async function apply(tx: Queryable, before: Saga, t: Transition): Promise<void> {
    const after = afterTransition(before, t);
    // This instance takes the saga over (another may have been driving it): it is the one told.
    if (!(await repo.update(tx, after, before.version, runner.instanceId)))
      throw new AppError(ErrorCode.Conflict, `saga ${before.orderId} changed concurrently`);
    // No saga handed over here: the runner may be driving this one, so it reads what is stored.
    tx.afterCommit(() => runner.kick(after.orderId));
  }

  return {
    /** orders.created: start the order's saga (once, however often the event arrives). */
    async onOrderCreated(tx: Queryable, event: OrderCreatedEvent): Promise<void> {
      // The consumer's span of this event: every step of the saga hangs under it, even after a restart.
      const { traceparent } = traceHeaders();
      const saga = startSaga(
        {
          orderId: event.order_id,
          customerId: event.customer_id,
          productId: event.product_id,
          quantity: event.quantity,
          amountMinor: event.amount_minor,
        },
        Date.now(),
        traceparent ?? null,
      );
      if (await repo.insert(tx, saga, runner.instanceId)) tx.afterCommit(() => runner.kick(saga.orderId, saga));
    },

    /** orders.ended-by-api: the order was cancelled or failed through the API; undo what the saga did. */
    async onOrderEndedByApi(tx: Queryable, event: OrderEndedByApiEvent): Promise<void> {
      let saga = await repo.find(tx, event.order_id, { lock: true });
      const now = Date.now();
      if (!saga) {
        // The order ended before its orders.created reached us: record a finished saga so that
        // the late orders.created starts nothing.
        const order = {
          orderId: event.order_id,
          customerId: event.customer_id,
          productId: event.product_id,
          quantity: event.quantity,
          amountMinor: event.amount_minor,
        };
        if (await repo.insert(tx, endedBeforeStart(order, event.status, now), runner.instanceId)) return;
        // orders.created was being applied at the same moment (PostgreSQL let our insert wait for
        // it): its saga exists now, and it is that saga that must be unwound.
        saga = await repo.find(tx, event.order_id, { lock: true });
        if (!saga) throw new AppError(ErrorCode.Internal, `saga ${event.order_id} neither inserted nor found`);
      }
      const t = abort(saga, event.status, now);
      if (t.log.length > 0) await apply(tx, saga, t);
    },

    get: (orderId: string) => repo.find(db, orderId),
    /** A page of sagas, newest first. */
    async list(filter: SagaFilter, limit: number, after: PageCursor<number> | undefined) {
      const rows = await repo.list(db, filter, limit + 1, after);
      return toPage(rows, limit, (s) => ({ key: s.createdAt, id: s.orderId }));
    },
    summary: () => repo.countByState(db),

    /** Resumes a parked saga's compensations (an operator's retry). */
    async retry(orderId: string): Promise<Saga> {
      return db.transaction(async (tx) => {
        const saga = orNotFound(await repo.find(tx, orderId, { lock: true }), 'saga', orderId);
        const t = resume(saga, Date.now());
        if (!t) throw new AppError(ErrorCode.Conflict, `saga ${orderId} is not parked (state ${saga.state})`);
        await apply(tx, saga, t);
        return afterTransition(saga, t);
      });
    },
  };
}
export type Sagas = ReturnType<typeof createSagas>;
