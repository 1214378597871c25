import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase } from '@shopflow/devkit';
import { openDatabase, type Db } from '@shopflow/platform/db';

describe.each(['sqlite', 'postgres'] as const)('transactions on %s', (dialect) => {
  let db: Db;
  let url: string;

  beforeAll(async () => {
    url =
      dialect === 'postgres'
        ? await createDatabase('shopflow_db')
        : `sqlite:${path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sf-db-')), 'db.db')}`;
    db = await openDatabase(url);
    await db.migrate([{ id: '1', sql: 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)' }]);
  });
  afterAll(async () => {
    await db?.close();
    if (dialect === 'postgres') await dropDatabase(url);
  });

  it('commits or rolls back each of many concurrent transactions on its own', async () => {
    const committed: number[] = [];
    const outcomes = await Promise.allSettled(
      Array.from({ length: 300 }, (_, i) =>
        db.transaction(async (tx) => {
          await tx.execute('INSERT INTO t (id, v) VALUES ($1, $2)', [i, 'first']);
          await tx.execute('UPDATE t SET v = $2 WHERE id = $1', [i, 'second']);
          tx.afterCommit(() => committed.push(i));
          if (i % 7 === 0) throw new Error(`no ${i}`);
          return i;
        }),
      ),
    );
    const kept = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(43);
    const rows = await db.query<{ id: number; v: string }>('SELECT id, v FROM t ORDER BY id');
    expect(rows.map((r) => Number(r.id))).toEqual(kept.sort((a, b) => a - b));
    expect(new Set(rows.map((r) => r.v))).toEqual(new Set(['second']));
    expect(committed.sort((a, b) => a - b)).toEqual(kept);
  });

  it('answers a failed statement with its error and keeps the rest of the group', async () => {
    await db.transaction((tx) => tx.execute('INSERT INTO t (id, v) VALUES ($1, $2)', [10_001, 'a']));
    const results = await Promise.allSettled([
      db.transaction((tx) => tx.execute('INSERT INTO t (id, v) VALUES ($1, $2)', [10_003, 'c'])),
      db.transaction((tx) => tx.execute('INSERT INTO t (id, v) VALUES ($1, $2)', [10_001, 'duplicate'])),
      db.transaction((tx) => tx.execute('INSERT INTO t (id, v) VALUES ($1, $2)', [10_002, 'b'])),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/unique|duplicate/i);
    const rows = await db.query<{ v: string }>('SELECT v FROM t WHERE id > 10000 ORDER BY id');
    expect(rows.map((r) => r.v)).toEqual(['a', 'b', 'c']);
  });
  it('keeps a read-modify-write under FOR UPDATE serial across concurrent transactions', async () => {
    await db.transaction((tx) => tx.execute('INSERT INTO t (id, v) VALUES ($1, $2)', [20_000, '0']));
    await Promise.all(
      Array.from({ length: 60 }, () =>
        db.transaction(async (tx) => {
          const [row] = await tx.query<{ v: string }>(
            `SELECT v FROM t WHERE id = $1${dialect === 'postgres' ? ' FOR UPDATE' : ''}`,
            [20_000],
          );
          await tx.execute('UPDATE t SET v = $2 WHERE id = $1', [20_000, String(Number(row!.v) + 1)]);
        }),
      ),
    );
    const [row] = await db.query<{ v: string }>('SELECT v FROM t WHERE id = $1', [20_000]);
    expect(row!.v).toBe('60');
  });

  it("fails a transaction whose unwaited write fails, with that write's error, and keeps the others", async () => {
    await db.transaction((tx) => tx.execute('INSERT INTO t (id, v) VALUES ($1, $2)', [30_001, 'a']));
    const results = await Promise.allSettled([
      db.transaction(async (tx) => {
        await tx.write('INSERT INTO t (id, v) VALUES ($1, $2)', [30_002, 'b']);
      }),
      db.transaction(async (tx) => {
        await tx.write('INSERT INTO t (id, v) VALUES ($1, $2)', [30_003, 'lost with its transaction']);
        await tx.write('INSERT INTO t (id, v) VALUES ($1, $2)', [30_001, 'duplicate']);
      }),
      db.transaction(async (tx) => {
        await tx.write('INSERT INTO t (id, v) VALUES ($1, $2)', [30_004, 'c']);
        return tx.query<{ n: number }>('SELECT COUNT(*) AS n FROM t WHERE id = $1', [30_004]);
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/unique|duplicate/i);
    // A write is visible to the statements after it in its own transaction.
    expect(Number((results[2] as PromiseFulfilledResult<{ n: number }[]>).value[0]!.n)).toBe(1);
    const rows = await db.query<{ v: string }>('SELECT v FROM t WHERE id > 30000 ORDER BY id');
    expect(rows.map((r) => r.v)).toEqual(['a', 'b', 'c']);
  });
});
