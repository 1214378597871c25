import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventType, OrderStatus, type OrderCreatedEvent, type OrderEndedByApiEvent } from '@shopflow/contracts';
import { NatsServer, createDatabase, createTestDatabase, dropDatabase, waitFor } from '@shopflow/devkit';
import { openDatabase, type Db, type Queryable } from '@shopflow/platform/db';
import { createLogger } from '@shopflow/platform/logger';
import { Outbox, connectMessaging, messagingMigrations, type Messaging } from '@shopflow/platform/messaging';
import { migrations } from '../src/db/migrations.js';
import type { PaymentPort, StockPort } from '../src/domain/ports.js';
import { SagaRunner } from '../src/runner.js';
import { createServiceMetrics } from '@shopflow/platform/metrics';
import { createSagas } from '../src/sagas.js';

const logger = createLogger('test', 'silent');
// This test is about the database race only: every downstream call fails, so no saga moves on.
const down = () => Promise.reject(new Error('not in this test'));
const stock: StockPort = { reserve: down, commit: down, release: down, return: down };
const payments: PaymentPort = { charge: down, refund: down };

describe('an order cancelled while its orders.created is being applied (PostgreSQL)', () => {
  let nats: NatsServer;
  let url: string;
  let db: Db;
  let messaging: Messaging;
  let runner: SagaRunner;

  beforeAll(async () => {
    nats = await NatsServer.start();
    url = await createDatabase('shopflow_saga');
    db = await openDatabase(url);
    await db.migrate([...messagingMigrations, ...migrations]);
    messaging = await connectMessaging(nats.url, 'saga-test', logger);
    const outbox = new Outbox(db, messaging.js, logger);
    const policy = { stepTimeoutMs: 60_000, compensationTimeoutMs: 60_000, backoff: { baseMs: 60_000, maxMs: 60_000 } };
    runner = new SagaRunner({
      db,
      outbox,
      stock,
      payments,
      policy,
      logger,
      concurrency: 4,
      metrics: createServiceMetrics('saga'),
      leaseMs: 3000,
    });
  });
  afterAll(async () => {
    await runner?.stop();
    await messaging?.close();
    await db?.close();
    if (url) await dropDatabase(url);
    await nats?.stop({ removeStore: true });
  });

  it('unwinds the saga that orders.created inserted, even when its insert was not yet committed', async () => {
    const sagas = createSagas(db, runner);
    const orderId = randomUUID();
    const common = orderFields(orderId);
    const created: OrderCreatedEvent = {
      ...common,
      event_id: randomUUID(),
      event_type: EventType.OrderCreated,
    };
    const cancelled: OrderEndedByApiEvent = {
      ...common,
      event_id: randomUUID(),
      event_type: EventType.OrderEndedByApi,
      status: OrderStatus.Cancelled,
    };

    // Hold the orders.created transaction open after its insert, start the cancellation, then commit.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inserted!: () => void;
    const insertedYet = new Promise<void>((r) => (inserted = r));
    const creating = db.transaction(async (tx) => {
      await sagas.onOrderCreated(tx, created);
      inserted();
      await held;
    });
    await insertedYet;
    const cancelling = db.transaction((tx) => sagas.onOrderEndedByApi(tx, cancelled));
    await waitFor('the cancellation to wait on the open insert', async () => {
      const [row] = await db.query<{ n: number }>(
        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      );
      return Number(row?.n) > 0;
    });
    release();
    await Promise.all([creating, cancelling]);

    const saga = await sagas.get(orderId);
    expect(saga?.orderEnded).toBe(true);
    expect(saga?.outcome).toBe(OrderStatus.Cancelled);
    expect(saga?.steps.map((s) => s.result)).toContain('aborted');
  });
});

describe.each(['sqlite', 'postgres'] as const)('an order cancelled between reserve and charge (%s)', (dialect) => {
  let nats: NatsServer;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Db;
  let messaging: Messaging;

  beforeAll(async () => {
    nats = await NatsServer.start();
    database = await createTestDatabase('saga', dialect);
    db = await openDatabase(database.url);
    await db.migrate([...messagingMigrations, ...migrations]);
    messaging = await connectMessaging(nats.url, 'saga-test', logger);
  });
  afterAll(async () => {
    await messaging?.close();
    await db?.close();
    await database?.drop();
    await nats?.stop({ removeStore: true });
  });

  it('starts no charge once the cancellation has committed', async () => {
    const orderId = randomUUID();
    const calls: string[] = [];
    const ok = (what: string) => (saga: { orderId: string }) => {
      if (saga.orderId === orderId) calls.push(what);
      return Promise.resolve({ kind: 'ok' as const, detail: what });
    };
    const stockOk: StockPort = { reserve: ok('reserve'), commit: ok('commit'), release: ok('release'), return: ok('return') };
    const paymentsOk: PaymentPort = { charge: ok('charge'), refund: ok('refund') };
    // The race held open: right after the runner commits the reserve, and before it can take its
    // next action, the order is cancelled through the API and that cancellation commits.
    let cancelled = false;
    const gated: Db = Object.assign(Object.create(db) as Db, {
      transaction: async <T>(fn: (tx: Queryable) => Promise<T>) => {
        const result = await db.transaction(fn);
        if (!cancelled && calls.includes('reserve')) {
          cancelled = true;
          await db.transaction((tx) =>
            sagas.onOrderEndedByApi(tx, {
              ...orderFields(orderId),
              event_id: randomUUID(),
              event_type: EventType.OrderEndedByApi,
              status: OrderStatus.Cancelled,
            }),
          );
        }
        return result;
      },
    });
    const policy = { stepTimeoutMs: 60_000, compensationTimeoutMs: 60_000, backoff: { baseMs: 10, maxMs: 10 } };
    const runner = new SagaRunner({
      db: gated,
      outbox: new Outbox(db, messaging.js, logger),
      stock: stockOk,
      payments: paymentsOk,
      policy,
      logger,
      concurrency: 4,
      metrics: createServiceMetrics('saga'),
      leaseMs: 3000,
    });
    const sagas = createSagas(gated, runner);
    try {
      await db.transaction((tx) =>
        sagas.onOrderCreated(tx, { ...orderFields(orderId), event_id: randomUUID(), event_type: EventType.OrderCreated }),
      );
      const saga = await waitFor('the saga to end', async () => {
        const s = await sagas.get(orderId);
        return s && (s.state === 'CANCELLED' || s.state === 'FAILED' || s.state === 'COMPLETED') ? s : undefined;
      });
      expect(cancelled).toBe(true);
      // The refund is the void that fences off a charge that might be in flight; no charge was made.
      expect(calls).not.toContain('charge');
      expect(calls).toEqual(['reserve', 'refund', 'release']);
      expect(saga.state).toBe('CANCELLED');
    } finally {
      await runner.stop();
    }
  });
});

/** The fields every order event of these tests carries. */
function orderFields(orderId: string) {
  return {
    order_id: orderId,
    customer_id: 'c',
    product_id: 'p',
    quantity: 1,
    amount: 5,
    amount_minor: 500,
    occurred_at: new Date().toISOString(),
  };
}
