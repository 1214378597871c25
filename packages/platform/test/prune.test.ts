import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '@shopflow/devkit';
import { openDatabase, pruneOlderThan, type Db } from '@shopflow/platform/db';

describe.each(['sqlite', 'postgres'] as const)('pruning in batches on %s', (dialect) => {
  let db: Db;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    database = await createTestDatabase('prune', dialect);
    db = await openDatabase(database.url);
    await db.migrate([{ id: '1', sql: 'CREATE TABLE seen (id TEXT PRIMARY KEY, at BIGINT NOT NULL)' }]);
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  it('deletes every old row over several small statements and keeps the new ones', async () => {
    await db.transaction(async (tx) => {
      for (let i = 0; i < 250; i++) await tx.execute('INSERT INTO seen (id, at) VALUES ($1, $2)', [`old-${i}`, i]);
      for (let i = 0; i < 7; i++) await tx.execute('INSERT INTO seen (id, at) VALUES ($1, $2)', [`new-${i}`, 1000 + i]);
    });
    const statements: number[] = [];
    const counting: Db = Object.assign(Object.create(db) as Db, {
      execute: async (sql: string, params?: readonly unknown[]) => {
        const n = await db.execute(sql, params);
        statements.push(n);
        return n;
      },
    });
    expect(await pruneOlderThan(counting, 'seen', 'at', 1000, 100)).toBe(250);
    // 100 + 100 + 50: no statement deleted more than a batch.
    expect(statements).toEqual([100, 100, 50]);
    expect(await db.query('SELECT COUNT(*) AS n FROM seen')).toEqual([{ n: 7 }]);
  });
});
