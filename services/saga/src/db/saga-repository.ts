import { OrderStatus, SagaState } from '@shopflow/contracts';
import { sqlFragments, type Dialect, type Queryable } from '@shopflow/platform/db';
import { AppError, ErrorCode } from '@shopflow/platform/errors';
import type { Saga, StepRecord } from '../domain/saga.js';
import { ORDER_SAGA, type CompensationName } from '../domain/steps.js';
import { afterCursor, type PageCursor } from '@shopflow/platform/pagination';

/** Which sagas a list shows. */
export interface SagaFilter {
  state?: SagaState;
  parked?: boolean;
}

interface SagaRow {
  order_id: string;
  customer_id: string;
  product_id: string;
  quantity: number;
  amount_minor: number;
  state: string;
  action: string | null;
  attempt: number;
  action_since: number;
  next_run_at: number;
  compensations: string;
  outcome: string | null;
  order_ended: number;
  parked: number;
  reason: string | null;
  payment_id: string | null;
  traceparent: string | null;
  steps: string;
  version: number;
  created_at: number;
  updated_at: number;
}

const COLUMNS =
  'order_id, customer_id, product_id, quantity, amount_minor, state, action, attempt, action_since, next_run_at, compensations, outcome, order_ended, parked, reason, payment_id, traceparent, steps, version, created_at, updated_at';

/**
 * The database's clock in epoch ms. Leases are set and compared on this one clock, so instances on
 * different hosts need not agree on the time.
 */
function dbNowMs(dialect: Dialect): string {
  return dialect === 'postgres'
    ? '(EXTRACT(EPOCH FROM statement_timestamp()) * 1000)::bigint'
    : "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";
}

function corrupt(r: SagaRow, why: string): AppError {
  return new AppError(ErrorCode.Internal, `saga ${r.order_id} is stored inconsistently: ${why}`);
}

/** The stored pending list, as is: names written by an earlier version are kept if the table still has them. */
function compensationsOf(r: SagaRow): CompensationName[] {
  const list = JSON.parse(r.compensations) as unknown;
  if (!Array.isArray(list)) throw corrupt(r, 'compensations is not a list');
  return list.map((name) => {
    if (typeof name !== 'string' || !ORDER_SAGA.isCompensation(name)) throw corrupt(r, `unknown compensation ${String(name)}`);
    return name;
  });
}

function compensationOf(r: SagaRow): CompensationName {
  if (r.action === null || !ORDER_SAGA.isCompensation(r.action)) throw corrupt(r, `${r.state} with action ${r.action}`);
  return r.action;
}

/** Parses a row into the saga union, refusing a row whose fields contradict its state. */
function toSaga(r: SagaRow): Saga {
  const common = {
    orderId: r.order_id,
    customerId: r.customer_id,
    productId: r.product_id,
    quantity: Number(r.quantity),
    amountMinor: Number(r.amount_minor),
    attempt: Number(r.attempt),
    actionSince: Number(r.action_since),
    nextRunAt: Number(r.next_run_at),
    orderEnded: Number(r.order_ended) === 1,
    reason: r.reason,
    paymentId: r.payment_id,
    traceparent: r.traceparent,
    steps: JSON.parse(r.steps) as StepRecord[],
    version: Number(r.version),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
  const parked = Number(r.parked) === 1;
  const over = { ...common, action: null, compensations: [] as [], parked: false as const };
  switch (r.state) {
    case SagaState.Running:
      if (r.action === null || !ORDER_SAGA.isStep(r.action)) throw corrupt(r, `RUNNING with action ${r.action}`);
      return { ...common, state: r.state, action: r.action, compensations: [], outcome: null, parked: false };
    case SagaState.Compensating:
      if (r.outcome !== OrderStatus.Cancelled && r.outcome !== OrderStatus.Failed) throw corrupt(r, `unwinding to ${r.outcome}`);
      return {
        ...common,
        state: r.state,
        action: compensationOf(r),
        compensations: compensationsOf(r),
        outcome: r.outcome,
        parked: false,
      };
    case SagaState.Completed:
      return { ...over, state: r.state, outcome: OrderStatus.Completed };
    case SagaState.Cancelled:
      return { ...over, state: r.state, outcome: OrderStatus.Cancelled };
    case SagaState.Failed:
      if (!parked) return { ...over, state: r.state, outcome: OrderStatus.Failed };
      return {
        ...common,
        state: r.state,
        action: compensationOf(r),
        compensations: compensationsOf(r),
        outcome: OrderStatus.Failed,
        parked: true,
      };
    default:
      throw corrupt(r, `unknown state ${r.state}`);
  }
}

function values(s: Saga): unknown[] {
  return [
    s.orderId,
    s.customerId,
    s.productId,
    s.quantity,
    s.amountMinor,
    s.state,
    s.action,
    s.attempt,
    s.actionSince,
    s.nextRunAt,
    JSON.stringify(s.compensations),
    s.outcome,
    s.orderEnded ? 1 : 0,
    s.parked ? 1 : 0,
    s.reason,
    s.paymentId,
    s.traceparent,
    JSON.stringify(s.steps),
    s.version,
    s.createdAt,
    s.updatedAt,
  ];
}

/** SQL for sagas (their step log included); each function runs in the transaction it is given. */
export const sagaRepository = {
  /** Inserts a new saga, driven by instance `owner`; false when the order already has one (a redelivered orders.created). */
  async insert(q: Queryable, saga: Saga, owner: string): Promise<boolean> {
    const params = [...values(saga), owner];
    const placeholders = params.map((_, i) => `$${i + 1}`).join(', ');
    return (
      (await q.execute(`INSERT INTO sagas (${COLUMNS}, owner) VALUES (${placeholders}) ON CONFLICT DO NOTHING`, params)) === 1
    );
  },

  /**
   * Writes `saga` if nobody changed the row since `expectedVersion` was read; false otherwise.
   * The writer becomes its owner: an instance that changes a saga (an abort, a retry) drives it
   * from then on, and the one that drove it before fails its next commit and lets go.
   */
  async update(q: Queryable, saga: Saga, expectedVersion: number, owner: string): Promise<boolean> {
    const n = await q.execute(
      `UPDATE sagas SET state = $2, action = $3, attempt = $4, action_since = $5, next_run_at = $6, compensations = $7,
         outcome = $8, order_ended = $9, parked = $10, reason = $11, payment_id = $12, version = $13, updated_at = $14,
         steps = $16, owner = $17
       WHERE order_id = $1 AND version = $15`,
      [
        saga.orderId,
        saga.state,
        saga.action,
        saga.attempt,
        saga.actionSince,
        saga.nextRunAt,
        JSON.stringify(saga.compensations),
        saga.outcome,
        saga.orderEnded ? 1 : 0,
        saga.parked ? 1 : 0,
        saga.reason,
        saga.paymentId,
        saga.version,
        saga.updatedAt,
        expectedVersion,
        JSON.stringify(saga.steps),
        owner,
      ],
    );
    return n === 1;
  },

  /** The saga of `orderId`; with `owner`, only if that instance owns it (what a runner may drive). */
  async find(
    q: Queryable,
    orderId: string,
    { lock = false, owner }: { lock?: boolean; owner?: string } = {},
  ): Promise<Saga | undefined> {
    const rows = await q.query<SagaRow>(
      `SELECT ${COLUMNS} FROM sagas WHERE order_id = $1${owner === undefined ? '' : ' AND owner = $2'}${lock ? sqlFragments.forUpdate(q) : ''}`,
      owner === undefined ? [orderId] : [orderId, owner],
    );
    return rows[0] && toSaga(rows[0]);
  },

  /** The stored version of a saga (one index lookup): has anyone changed it since it was read? */
  async version(q: Queryable, orderId: string): Promise<number | undefined> {
    const rows = await q.query<{ version: number }>('SELECT version FROM sagas WHERE order_id = $1', [orderId]);
    return rows[0] && Number(rows[0].version);
  },

  /** Starts or extends the lease of instance `id` to `leaseMs` from now (the database's now). */
  async renewLease(q: Queryable, id: string, leaseMs: number): Promise<void> {
    await q.execute(
      `INSERT INTO saga_instances (id, lease_until) VALUES ($1, ${dbNowMs(q.dialect)} + $2)
       ON CONFLICT (id) DO UPDATE SET lease_until = excluded.lease_until`,
      [id, leaseMs],
    );
  },

  /** Ends the lease of instance `id`: its unfinished sagas are anyone's at the next sweep. */
  async releaseLease(q: Queryable, id: string): Promise<void> {
    await q.execute('DELETE FROM saga_instances WHERE id = $1', [id]);
  },

  /** Forgets instances whose lease ran out more than `agoMs` ago (the rows of crashed processes). */
  async pruneLeases(q: Queryable, agoMs: number): Promise<number> {
    return q.execute(`DELETE FROM saga_instances WHERE lease_until < ${dbNowMs(q.dialect)} - $1`, [agoMs]);
  },

  /**
   * Makes instance `id` the owner of every unfinished saga whose owner has no live lease (expired,
   * never written, or a saga from before owners) and returns them. The version bump fences the
   * old owner: its next version-checked commit of such a saga fails. On PostgreSQL, rows another
   * transaction holds are skipped (left for the next sweep) so that two sweeps never wait on
   * each other or deadlock. `everyone` takes the sagas of live leases too: for a sole instance,
   * whose predecessor is known to be gone.
   */
  async claimOrphans(
    q: Queryable,
    id: string,
    { everyone = false }: { everyone?: boolean } = {},
  ): Promise<{ order_id: string; next_run_at: number }[]> {
    const skipLocked = q.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
    const unleased = everyone
      ? ''
      : ` AND NOT EXISTS (SELECT 1 FROM saga_instances i WHERE i.id = sagas.owner AND i.lease_until > ${dbNowMs(q.dialect)})`;
    const orphans = `SELECT order_id FROM sagas
       WHERE state IN ('RUNNING', 'COMPENSATING') AND (owner IS NULL OR (owner <> $1${unleased}))${skipLocked}`;
    // On PostgreSQL the orphans' keys are gathered once (an init plan), then updated by primary
    // key: a join would let the planner scan the whole table, finished sagas included, every sweep.
    const which = q.dialect === 'postgres' ? `order_id = ANY(ARRAY(${orphans}))` : `order_id IN (${orphans})`;
    return q.query(
      `UPDATE sagas SET owner = $1, version = version + 1 WHERE ${which}
       RETURNING order_id, next_run_at`,
      [id],
    );
  },

  /**
   * Up to `limit` sagas after `after`, newest first. By creation, which never changes, so a walk
   * through the pages sees each saga once even while they move; a range of sagas_page_idx.
   */
  async list(q: Queryable, filter: SagaFilter, limit: number, after: PageCursor | undefined): Promise<Saga[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.state) where.push(`state = $${params.push(filter.state)}`);
    // A literal, not a parameter, so the planner can use the partial index of parked sagas.
    if (filter.parked !== undefined) where.push(filter.parked ? 'parked = 1' : 'parked = 0');
    if (after) where.push(afterCursor(after, 'created_at', 'order_id', params));
    const rows = await q.query<SagaRow>(
      `SELECT ${COLUMNS} FROM sagas ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, order_id DESC LIMIT $${params.push(limit)}`,
      params,
    );
    return rows.map(toSaga);
  },

  async countByState(q: Queryable): Promise<Record<string, number>> {
    const rows = await q.query<{ state: string; n: number }>('SELECT state, COUNT(*) AS n FROM sagas GROUP BY state');
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  },
};
