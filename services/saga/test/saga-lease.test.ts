import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventType, OrderStatus, SagaState } from '@shopflow/contracts';
import { NatsServer, createTestDatabase, waitFor } from '@shopflow/devkit';
import { openDatabase, type Db } from '@shopflow/platform/db';
import { createLogger } from '@shopflow/platform/logger';
import { Outbox, connectMessaging, messagingMigrations, type Messaging } from '@shopflow/platform/messaging';
import { createServiceMetrics } from '@shopflow/platform/metrics';
import { migrations } from '../src/db/migrations.js';
import { sagaRepository as repo } from '../src/db/saga-repository.js';
import { abort, afterTransition, startSaga, type Saga } from '../src/domain/saga.js';
import type { PaymentPort, StockPort } from '../src/domain/ports.js';
import { SagaRunner } from '../src/runner.js';
import { createSagas } from '../src/sagas.js';

const logger = createLogger('test', 'silent');
const order = (orderId: string) => ({ orderId, customerId: 'c', productId: 'p', quantity: 1, amountMinor: 100 });

describe.each(['postgres', 'sqlite'] as const)('saga ownership: leases, takeover and fencing (%s)', (dialect) => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase('saga_lease', dialect);
    db = await openDatabase(database.url);
    await db.migrate([...messagingMigrations, ...migrations]);
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  /** A new instance id with a lease of `ms` from now (negative: one that has already run out). */
  async function instance(ms: number): Promise<string> {
    const id = randomUUID();
    await repo.renewLease(db, id, ms);
    return id;
  }

  /** Claims as `id`, keeping only the sagas of this test (earlier tests may leave orphans behind). */
  async function claim(id: string, ours: string[]): Promise<string[]> {
    const claimed = await repo.claimOrphans(db, id);
    return claimed
      .map((c) => c.order_id)
      .filter((o) => ours.includes(o))
      .sort();
  }

  it("claims an expired owner's unfinished sagas (and ownerless ones), bumping their version, and fences the stale owner", async () => {
    const stale = await instance(60_000);
    const [running, done, legacy, ghost] = ['running', 'done', 'legacy', 'ghost'].map((n) => `${n}-${randomUUID()}`) as [
      string,
      string,
      string,
      string,
    ];
    const saga = startSaga(order(running), Date.now());
    expect(await repo.insert(db, saga, stale)).toBe(true);
    const finished: Saga = {
      ...startSaga(order(done), Date.now()),
      state: SagaState.Completed,
      action: null,
      outcome: OrderStatus.Completed,
    };
    expect(await repo.insert(db, finished, stale)).toBe(true);
    // A saga stored before owners existed, and one whose owner's row is gone.
    await repo.insert(db, startSaga(order(legacy), Date.now()), stale);
    await db.execute('UPDATE sagas SET owner = NULL WHERE order_id = $1', [legacy]);
    await repo.insert(db, startSaga(order(ghost), Date.now()), randomUUID());
    const ours = [running, done, legacy, ghost];

    const heir = await instance(60_000);
    // The stale owner's lease still runs: only the ownerless sagas are free.
    expect(await claim(heir, ours)).toEqual([ghost, legacy].sort());

    await db.execute('UPDATE saga_instances SET lease_until = 0 WHERE id = $1', [stale]); // its lease runs out
    expect(await claim(heir, ours)).toEqual([running]);
    expect(await repo.version(db, running)).toBe(saga.version + 1);
    expect(await repo.find(db, running, { owner: heir })).toMatchObject({ orderId: running });
    expect(await repo.find(db, running, { owner: stale })).toBeUndefined();
    // The finished saga stays where it was.
    expect(await repo.find(db, done, { owner: stale })).toMatchObject({ state: SagaState.Completed });

    // The stale owner comes back and commits a step from the copy it had: the version fences it.
    const next = afterTransition(saga, abort(saga, OrderStatus.Cancelled, Date.now()));
    expect(await repo.update(db, next, saga.version, stale)).toBe(false);
    expect(await repo.find(db, running)).toMatchObject({ state: SagaState.Running, version: saga.version + 1 });
    // Nothing is claimed twice: the heir's lease is live.
    expect(await claim(await instance(60_000), ours)).toEqual([]);
  });

  it("leaves a live owner's sagas alone, however often others sweep", async () => {
    const owner = await instance(60_000);
    const id = `live-${randomUUID()}`;
    const saga = startSaga(order(id), Date.now());
    await repo.insert(db, saga, owner);
    for (let i = 0; i < 3; i++) expect(await claim(await instance(60_000), [id])).toEqual([]);
    // Its lease renewed (one statement) keeps it so; a renewal is not a takeover.
    await repo.renewLease(db, owner, 60_000);
    expect(await claim(owner, [id])).toEqual([]);
    expect(await repo.version(db, id)).toBe(saga.version);
    expect(await repo.find(db, id, { owner })).toMatchObject({ orderId: id });
  });

  it('hands a released lease over at once', async () => {
    const owner = await instance(60_000);
    const id = `released-${randomUUID()}`;
    await repo.insert(db, startSaga(order(id), Date.now()), owner);
    const other = await instance(60_000);
    expect(await claim(other, [id])).toEqual([]);
    await repo.releaseLease(db, owner);
    expect(await claim(other, [id])).toEqual([id]);
  });

  it("takes even a live lease's unfinished sagas when told the others are gone (a sole SQLite instance at start)", async () => {
    const crashed = await instance(60_000);
    const id = `sole-${randomUUID()}`;
    await repo.insert(db, startSaga(order(id), Date.now()), crashed);
    const restarted = await instance(60_000);
    expect(await claim(restarted, [id])).toEqual([]);
    const claimed = await repo.claimOrphans(db, restarted, { everyone: true });
    expect(claimed.map((c) => c.order_id)).toContain(id);
    expect(await repo.find(db, id, { owner: restarted })).toBeDefined();
    // Its own sagas it does not claim again.
    expect((await repo.claimOrphans(db, restarted, { everyone: true })).map((c) => c.order_id)).not.toContain(id);
  });

  it('forgets instances whose lease ran out long ago, and only those', async () => {
    const old = await instance(-7_200_000);
    const recent = await instance(-1000);
    await repo.pruneLeases(db, 3600_000);
    const left = await db.query<{ id: string }>('SELECT id FROM saga_instances WHERE id IN ($1, $2)', [old, recent]);
    expect(left.map((r) => r.id)).toEqual([recent]);
  });
});

describe('runners sharing one database (PostgreSQL)', () => {
  let nats: NatsServer;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Db;
  let messaging: Messaging;

  beforeAll(async () => {
    nats = await NatsServer.start();
    database = await createTestDatabase('saga_lease', 'postgres');
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

  function runner(stock: StockPort, payments: PaymentPort, through: Db = db, leaseMs = 60_000): SagaRunner {
    const policy = { stepTimeoutMs: 60_000, compensationTimeoutMs: 60_000, backoff: { baseMs: 60_000, maxMs: 60_000 } };
    return new SagaRunner({
      db: through,
      outbox: new Outbox(db, messaging.js, logger),
      stock,
      payments,
      policy,
      logger,
      concurrency: 4,
      metrics: createServiceMetrics('saga'),
      // Long by default: nothing here may be taken over by expiry unless a test says so.
      leaseMs,
    });
  }

  it('owns the sagas it creates, and on stop releases its lease so that another instance takes them at once', async () => {
    // The reserve waits until the test lets it go: the saga is mid-step when its owner stops.
    let reserved!: () => void;
    const reserving = new Promise<void>((r) => (reserved = r));
    let begun!: () => void;
    const begunYet = new Promise<void>((r) => (begun = r));
    const stock: StockPort = {
      reserve: async () => {
        begun();
        await reserving;
        return { kind: 'ok', detail: 'reserved' };
      },
      commit: () => Promise.resolve({ kind: 'ok', detail: 'committed' }),
      release: () => Promise.resolve({ kind: 'ok', detail: 'released' }),
      return: () => Promise.resolve({ kind: 'ok', detail: 'returned' }),
    };
    const charges: string[] = [];
    const payments: PaymentPort = {
      charge: (o) => {
        charges.push(o.orderId);
        return Promise.resolve({ kind: 'ok', paymentId: `pay-${o.orderId}` });
      },
      refund: () => Promise.resolve({ kind: 'ok' }),
    };
    const first = runner(stock, payments);
    expect(await first.start()).toBe(0);
    const orderId = randomUUID();
    await db.transaction((tx) => createSagas(db, first).onOrderCreated(tx, orderCreated(orderId)));
    await begunYet;
    expect(await repo.find(db, orderId, { owner: first.instanceId })).toBeDefined();
    const second = runner(stock, payments);
    await repo.renewLease(db, second.instanceId, 60_000);
    expect((await repo.claimOrphans(db, second.instanceId)).map((c) => c.order_id)).not.toContain(orderId);

    const stopping = first.stop();
    reserved(); // the step in flight is recorded before the lease goes
    await stopping;
    expect(await db.query('SELECT id FROM saga_instances WHERE id = $1', [first.instanceId])).toEqual([]);
    const stored = await repo.find(db, orderId);
    expect(stored?.steps.filter((s) => s.action === 'reserve-stock' && s.result === 'ok')).toHaveLength(1);

    expect(charges).toEqual([]); // the stopping instance took no further step

    expect(await second.start()).toBeGreaterThanOrEqual(1);
    try {
      const ended = await waitFor(
        'the other instance to finish the saga',
        async () => {
          const s = await repo.find(db, orderId, { owner: second.instanceId });
          return s?.state === SagaState.Completed && s;
        },
        { timeoutMs: 10_000 },
      );
      expect(ended.steps.filter((s) => s.result === 'ok').map((s) => s.action)).toEqual([
        'reserve-stock',
        'charge-payment',
        'commit-stock',
      ]);
      expect(charges).toEqual([orderId]);
    } finally {
      await second.stop();
    }
  });
  it('lets a saga go once another instance took it over while a step was in flight: the stale commit is fenced', async () => {
    let reserved!: () => void;
    const reserving = new Promise<void>((r) => (reserved = r));
    let begun!: () => void;
    const begunYet = new Promise<void>((r) => (begun = r));
    const calls: string[] = [];
    const ok = (what: string) => () => {
      calls.push(what);
      return Promise.resolve({ kind: 'ok' as const, paymentId: 'pay' });
    };
    const slowStock: StockPort = {
      reserve: async () => {
        calls.push('stale reserve');
        begun();
        await reserving;
        return { kind: 'ok', detail: 'reserved' };
      },
      commit: ok('stale commit'),
      release: ok('stale release'),
      return: ok('stale return'),
    };
    // The stale instance's reads as owner, watched: one that finds nothing is the moment it lets go.
    let letGo = false;
    const watched: Db = Object.assign(Object.create(db) as Db, {
      query: async <T extends object>(sql: string, params?: readonly unknown[]) => {
        const rows = await db.query<T>(sql, params);
        if (sql.includes('AND owner = ') && rows.length === 0) letGo = true;
        return rows;
      },
    });
    const stale = runner(slowStock, { charge: ok('stale charge'), refund: ok('stale refund') }, watched);
    const heir = runner(
      { reserve: ok('reserve'), commit: ok('commit'), release: ok('release'), return: ok('return') },
      { charge: ok('charge'), refund: ok('refund') },
    );
    await stale.start();
    const orderId = randomUUID();
    await db.transaction((tx) => createSagas(db, stale).onOrderCreated(tx, orderCreated(orderId)));
    await begunYet;
    try {
      // The stale instance stalls mid-reserve past its lease (as a paused process would); the heir sweeps.
      await db.execute('UPDATE saga_instances SET lease_until = 0 WHERE id = $1', [stale.instanceId]);
      expect(await heir.start()).toBeGreaterThanOrEqual(1);
      const ended = await waitFor(
        'the heir to finish the saga',
        async () => {
          const s = await repo.find(db, orderId);
          return s?.state === SagaState.Completed && s;
        },
        { timeoutMs: 10_000 },
      );
      reserved(); // the stale reserve returns now; its commit must not land
      await waitFor('the stale instance to let the saga go', () => letGo, { timeoutMs: 5000 });
      expect(calls.filter((c) => c.startsWith('stale'))).toEqual(['stale reserve']);
      expect(calls).toEqual(['stale reserve', 'reserve', 'charge', 'commit']);
      const after = await repo.find(db, orderId);
      expect(after?.steps).toEqual(ended.steps);
      expect(after?.steps.filter((s) => s.result === 'ok').map((s) => s.action)).toEqual([
        'reserve-stock',
        'charge-payment',
        'commit-stock',
      ]);
    } finally {
      reserved();
      await stale.stop();
      await heir.stop();
    }
  });
  it('starts even when the database fails its first lease statement, and takes the lease at the next sweep', async () => {
    let failures = 1;
    const flaky: Db = Object.assign(Object.create(db) as Db, {
      execute: (sql: string, params?: readonly unknown[]) =>
        failures-- > 0 ? Promise.reject(new Error('connection terminated')) : db.execute(sql, params),
    });
    const never = () => new Promise<never>(() => undefined);
    const r = runner(
      { reserve: never, commit: never, release: never, return: never },
      { charge: never, refund: never },
      flaky,
      300,
    );
    try {
      expect(await r.start()).toBe(0);
      await waitFor(
        'the lease taken by a sweep',
        async () => (await db.query('SELECT id FROM saga_instances WHERE id = $1', [r.instanceId])).length === 1,
        { timeoutMs: 3000 },
      );
    } finally {
      await r.stop();
    }
    expect(await db.query('SELECT id FROM saga_instances WHERE id = $1', [r.instanceId])).toEqual([]);
  });
});

function orderCreated(orderId: string) {
  return {
    event_id: randomUUID(),
    event_type: EventType.OrderCreated,
    order_id: orderId,
    customer_id: 'c',
    product_id: 'p',
    quantity: 1,
    amount: 1,
    amount_minor: 100,
    occurred_at: new Date().toISOString(),
  };
}
