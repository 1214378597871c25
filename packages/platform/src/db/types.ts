export type Row = Record<string, unknown>;
export type Dialect = 'postgres' | 'sqlite';

/** Runs SQL written for PostgreSQL with `$1…$n` placeholders; the SQLite adapter rewrites them. */
export interface Queryable {
  readonly dialect: Dialect;
  query<T extends object = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a statement and returns how many rows it changed. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Runs `fn` once the surrounding transaction has committed (at once outside a transaction); never after a rollback. */
  afterCommit(fn: () => void): void;
}

/** A migration: an id that orders it and SQL that is either portable or given per dialect. */
export interface Migration {
  id: string;
  sql: string | Record<Dialect, string>;
}

/** A service's own database. */
export interface Db extends Queryable {
  /** Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. Keep I/O out of it. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Applies the migrations not applied yet, in id order. */
  migrate(migrations: readonly Migration[]): Promise<void>;
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  /** Connections of the pool by state; a database without a pool (SQLite) has none. */
  poolStats?(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}
