import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase } from '@shopflow/devkit';
import { openDatabase, pruneOlderThan, type Db } from '@shopflow/platform/db';

describe.each(['sqlite', 'postgres'] as const)('pruning in batches on %s', (dialect) => {
  let db: Db;
  let url: string;
  beforeAll(async () => {
    url =
      dialect === 'postgres'
        ? await createDatabase('shopflow_prune')
        : `sqlite:${path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sf-prune-')), 'db.db')}`;
    db = await openDatabase(url);
    await db.migrate([{ id: '1', sql: 'CREATE TABLE seen (id TEXT PRIMARY KEY, at BIGINT NOT NULL)' }]);
  });
  afterAll(async () => {
    await db?.close();
    if (dialect === 'postgres') await dropDatabase(url);
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
