import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, waitFor } from '@shopflow/devkit';
import { openDatabase, type Db } from '@shopflow/platform/db';
import { createServiceMetrics } from '@shopflow/platform/metrics';
import { createAdmission, type Admission } from '../src/admission.js';
import { migrations } from '../src/db/migrations.js';

describe('admission: the backlog bound follows the measured settle rate', () => {
  let db: Db;
  let drop: () => Promise<void>;
  let now = 1_000_000;

  beforeAll(async () => {
    const made = await createTestDatabase('order-admission', 'sqlite');
    drop = () => made.drop();
    db = await openDatabase(made.url);
    await db.migrate(migrations);
    // Only Date is faked: the database's own timers and I/O run as usual.
    vi.useFakeTimers({ toFake: ['Date'] });
  });
  afterEach(() => vi.setSystemTime(now));
  afterAll(async () => {
    vi.useRealTimers();
    await db?.close();
    await drop?.();
  });

  const at = (ms: number) => {
    now = 1_000_000 + ms;
    vi.setSystemTime(now);
  };
  const insertPending = async (n: number) => {
    for (let i = 0; i < n; i++)
      await db.execute(
        `INSERT INTO orders (id, customer_id, product_id, quantity, amount_minor, status, created_at, updated_at)
         VALUES ($1, 'C1', 'PROD001', 1, 100, 'PENDING', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`,
        [`o-${i}`],
      );
  };
  const settle = (n: number) =>
    db.execute(`UPDATE orders SET status = 'COMPLETED' WHERE id IN (SELECT id FROM orders WHERE status = 'PENDING' LIMIT $1)`, [
      n,
    ]);
  /** One request that places nothing (admitted or refused, it starts a count), then waits for that count. */
  const look = async (a: Admission, expected: number) => {
    try {
      a.admit()(false);
    } catch {
      // refused at the old bound: the count it started is what is looked at
    }
    await waitFor(`a count of ${expected}`, () => a.unsettled() === expected, { timeoutMs: 5000, intervalMs: 5 });
  };

  it('keeps the backlog at what settles in targetMs, between its floor and its limit, and refuses past it', async () => {
    await insertPending(400);
    const a = createAdmission(db, createServiceMetrics('order'), { maxBacklog: 2000, targetMs: 500, minBacklog: 50 });
    at(0);
    await look(a, 400);
    // No rate known yet: the limit holds.
    expect(a.limit()).toBe(2000);

    // 200 orders settle in a second: 200/s, so half a second's worth is 100.
    await settle(200);
    at(1000);
    await look(a, 200);
    expect(a.limit()).toBe(100);
    expect(() => a.admit()).toThrow(expect.objectContaining({ code: 'UNAVAILABLE', type: 'at-capacity' }));

    // The rest settle in the next second: the door opens again.
    await settle(200);
    at(2000);
    await look(a, 0);
    expect(a.limit()).toBe(100);
    a.admit()(true);

    // Then 60 orders wait and nothing settles: the bound falls to its floor, and stays there.
    await db.execute(`UPDATE orders SET status = 'PENDING' WHERE id IN (SELECT id FROM orders LIMIT 60)`);
    let t = 2000;
    await waitFor(
      'the bound at its floor',
      () => {
        at((t += 300));
        try {
          a.admit()(false);
        } catch {
          // refused once the backlog is at the bound: still a look at the count
        }
        return a.limit() === 50;
      },
      { timeoutMs: 5000, intervalMs: 5 },
    );
    expect(() => a.admit()).toThrow(expect.objectContaining({ type: 'at-capacity' }));
  });

  it('keeps the limit fixed with targetMs 0, and admits everything with limit 0', () => {
    const fixed = createAdmission(db, createServiceMetrics('order'), { maxBacklog: 7, targetMs: 0 });
    expect(fixed.limit()).toBe(7);
    const open = createAdmission(db, createServiceMetrics('order'), { maxBacklog: 0, targetMs: 500 });
    expect(open.limit()).toBe(Infinity);
    for (let i = 0; i < 10; i++) open.admit()(true);
  });
});
