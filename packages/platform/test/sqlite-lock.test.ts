import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { InfrastructureError } from '@shopflow/platform/errors';
import { SqliteDb } from '../src/db/sqlite.js';

describe('SQLite group commit when the database is locked by another connection', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanup.splice(0)) c();
  });

  function open(): { db: SqliteDb; file: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-lock-'));
    const file = path.join(dir, 'db.sqlite');
    // A short busy timeout so BEGIN IMMEDIATE gives up quickly.
    const db = new SqliteDb(file, 'NORMAL', 50);
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return { db, file };
  }

  it('rejects every waiting transaction with an InfrastructureError when BEGIN is refused, then works again', async () => {
    const { db, file } = open();
    await db.migrate([{ id: '1', sql: 'CREATE TABLE t (id INTEGER PRIMARY KEY)' }]);
    const holder = new Database(file);
    holder.pragma('busy_timeout = 0');
    holder.exec('BEGIN IMMEDIATE');

    const outcomes = await Promise.allSettled(
      [1, 2, 3].map((id) => db.transaction((tx) => tx.execute('INSERT INTO t (id) VALUES ($1)', [id]))),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const o of outcomes) {
      expect((o as PromiseRejectedResult).reason).toBeInstanceOf(InfrastructureError);
      expect(((o as PromiseRejectedResult).reason as Error).message).toMatch(/SQLITE_BUSY/);
    }
    // Reads and pings are not stuck behind the failed group.
    await expect(db.query('SELECT COUNT(*) AS n FROM t')).resolves.toEqual([{ n: 0 }]);

    holder.exec('ROLLBACK');
    holder.close();
    await expect(db.transaction((tx) => tx.execute('INSERT INTO t (id) VALUES (4)'))).resolves.toBe(1);
    expect(await db.query('SELECT id FROM t')).toEqual([{ id: 4 }]);
    await db.close();
  });

  it('rejects every member of the group when COMMIT is refused, and keeps nothing of it', async () => {
    const { db } = open();
    await db.migrate([
      {
        id: '1',
        sql: 'CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)',
      },
    ]);
    // Two members of one group; the second leaves a deferred foreign-key violation that only COMMIT sees.
    const outcomes = await Promise.allSettled([
      db.transaction((tx) => tx.execute('INSERT INTO p (id) VALUES (1)')),
      db.transaction((tx) => tx.execute('INSERT INTO c (id, p) VALUES (1, 99)')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(await db.query('SELECT COUNT(*) AS n FROM p')).toEqual([{ n: 0 }]);
    await expect(db.transaction((tx) => tx.execute('INSERT INTO p (id) VALUES (2)'))).resolves.toBe(1);
    await db.close();
  });
});
