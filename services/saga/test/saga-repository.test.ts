import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderStatus, SagaState } from '@shopflow/contracts';
import { openDatabase, type Db } from '@shopflow/platform/db';
import { sagaRepository as repo } from '../src/db/saga-repository.js';
import { migrations } from '../src/db/migrations.js';
import { abort, afterTransition, decide, startSaga, type SagaPolicy } from '../src/domain/saga.js';

const policy: SagaPolicy = { stepTimeoutMs: 1000, compensationTimeoutMs: 1000, backoff: { baseMs: 10, maxMs: 10 } };
const t0 = 1_000_000;

describe('the saga row (SQLite)', () => {
  let db: Db;

  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-saga-repo-'));
    db = await openDatabase(`sqlite:${path.join(dir, 'saga.db')}`);
    await db.migrate(migrations);
  });
  afterAll(async () => {
    await db?.close();
  });

  const order = (orderId: string) => ({ orderId, customerId: 'c', productId: 'p', quantity: 1, amountMinor: 100 });

  it('reads each state back as the variant it was stored as', async () => {
    const running = startSaga(order('r1'), t0);
    await repo.insert(db, running, 'i1');
    expect(await repo.find(db, 'r1')).toEqual(running);

    const aborted = afterTransition(running, abort(running, OrderStatus.Cancelled, t0));
    expect(await repo.update(db, aborted, running.version, 'i1')).toBe(true);
    expect(await repo.find(db, 'r1')).toEqual(aborted);
    expect(aborted).toMatchObject({ state: SagaState.Compensating, action: 'release-stock', outcome: OrderStatus.Cancelled });

    const broken = { kind: 'error', transient: false, reason: 'broken' } as const;
    const parked = afterTransition(aborted, decide(aborted, broken, t0, policy));
    await repo.update(db, parked, aborted.version, 'i1');
    expect(await repo.find(db, 'r1')).toEqual(parked);
    expect(parked).toMatchObject({ state: SagaState.Failed, parked: true, action: 'release-stock' });
  });

  it('takes a pending list stored by the previous version as is', async () => {
    const running = startSaga(order('old1'), t0);
    await repo.insert(db, running, 'i1');
    await db.execute(
      `UPDATE sagas SET state = 'COMPENSATING', action = 'release-stock', compensations = '["refund-payment"]', outcome = 'FAILED' WHERE order_id = $1`,
      ['old1'],
    );
    expect(await repo.find(db, 'old1')).toMatchObject({
      state: SagaState.Compensating,
      action: 'release-stock',
      compensations: ['refund-payment'],
      outcome: OrderStatus.Failed,
    });
  });

  it('refuses a row whose fields contradict its state', async () => {
    const cases: [string, string][] = [
      ["state = 'RUNNING', action = 'refund-payment'", 'RUNNING with action refund-payment'],
      ["state = 'COMPENSATING', action = 'charge-payment', outcome = 'FAILED'", 'COMPENSATING with action charge-payment'],
      ["state = 'COMPENSATING', action = 'release-stock', outcome = 'COMPLETED'", 'unwinding to COMPLETED'],
      [
        "state = 'COMPENSATING', action = 'release-stock', outcome = 'FAILED', compensations = '[\"x\"]'",
        'unknown compensation x',
      ],
      ["state = 'PAUSED'", 'unknown state PAUSED'],
    ];
    for (const [i, [set, why]] of cases.entries()) {
      const id = `bad${i}`;
      await repo.insert(db, startSaga(order(id), t0), 'i1');
      await db.execute(`UPDATE sagas SET ${set} WHERE order_id = $1`, [id]);
      await expect(repo.find(db, id)).rejects.toThrow(why);
    }
  });
});
