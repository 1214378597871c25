import { loadDatabaseOptions, type DatabaseOptions } from '../config.js';
import { PostgresDb } from './postgres.js';
import { SqliteDb } from './sqlite.js';
import type { Db } from './types.js';

export type { Db, Dialect, Migration, Queryable, Row, TransactionOptions } from './types.js';
export { ensurePostgresDatabase } from './postgres.js';

/**
 * Opens a service's database: `postgres://…` (created if missing) or `sqlite:<file>` (the
 * embedded default). Migrations are the caller's to run.
 */
export function openDatabase(url: string, options: DatabaseOptions = loadDatabaseOptions({})): Promise<Db> {
  // A throw in the executor rejects the promise.
  return new Promise((resolve) => resolve(createDb(url, options)));
}

/**
 * Nothing here waits for a server: a service opens its database while PostgreSQL is away, and
 * the first call (migrate, which also creates the database) fails fast and is retried.
 */
function createDb(url: string, options: DatabaseOptions): Db {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return new PostgresDb(url, options);
  if (url.startsWith('sqlite:')) return new SqliteDb(url.slice('sqlite:'.length), options.sqliteSynchronous);
  throw new Error(`unsupported database url ${url.replace(/\/\/[^@]*@/, '//***@')}: use postgres://… or sqlite:<file>`);
}

/** Dialect-specific fragments for the few places portable SQL cannot reach. */
export const sqlFragments = {
  forUpdate: (db: { dialect: string }) => (db.dialect === 'postgres' ? ' FOR UPDATE' : ''),
};

/**
 * Deletes the rows of `table` whose `column` is below `before`, a batch at a time, so that no
 * statement holds the database (or, on SQLite, the event loop) for long. Returns how many went.
 * `table` and `column` are the caller's constants, never input.
 */
export async function pruneOlderThan(
  db: Db,
  table: string,
  column: string,
  before: number | string,
  batchSize = 1000,
): Promise<number> {
  const row = db.dialect === 'postgres' ? 'ctid' : 'rowid';
  const sql = `DELETE FROM ${table} WHERE ${row} IN (SELECT ${row} FROM ${table} WHERE ${column} < $1 LIMIT $2)`;
  let total = 0;
  for (;;) {
    const deleted = await db.execute(sql, [before, batchSize]);
    total += deleted;
    if (deleted < batchSize) return total;
    // Let requests and events in between batches.
    await new Promise((resolve) => setImmediate(resolve));
  }
}
