import { loadDatabaseOptions, type DatabaseOptions } from '../config.js';
import { PostgresDb, ensurePostgresDatabase } from './postgres.js';
import { SqliteDb } from './sqlite.js';
import type { Db } from './types.js';

export type { Db, Dialect, Migration, Queryable, Row } from './types.js';
export { ensurePostgresDatabase } from './postgres.js';

/**
 * Opens a service's database: `postgres://…` (created if missing) or `sqlite:<file>` (the
 * embedded default). Migrations are the caller's to run.
 */
export async function openDatabase(url: string, options: DatabaseOptions = loadDatabaseOptions({})): Promise<Db> {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    await ensurePostgresDatabase(url);
    return new PostgresDb(url, options);
  }
  if (url.startsWith('sqlite:')) return new SqliteDb(url.slice('sqlite:'.length), options.sqliteSynchronous);
  throw new Error(`unsupported database url ${url.replace(/\/\/[^@]*@/, '//***@')}: use postgres://… or sqlite:<file>`);
}

/** Dialect-specific fragments for the few places portable SQL cannot reach. */
export const sqlFragments = {
  forUpdate: (db: { dialect: string }) => (db.dialect === 'postgres' ? ' FOR UPDATE' : ''),
};
