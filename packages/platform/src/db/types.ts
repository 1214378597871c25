export type Row = Record<string, unknown>;
export type Dialect = 'postgres' | 'sqlite';

/** Runs SQL written for PostgreSQL with `$1…$n` placeholders; the SQLite adapter rewrites them. */
export interface Queryable {
  readonly dialect: Dialect;
  query<T extends object = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a statement and returns how many rows it changed. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
  /**
   * Runs a statement whose result the caller does not need. Inside a PostgreSQL transaction it
   * is sent without waiting for the answer, pipelined with what follows up to the COMMIT, and
   * its failure fails the transaction; anywhere else it resolves once the statement has run.
   */
  write(sql: string, params?: readonly unknown[]): Promise<void>;
  /** Runs `fn` once the surrounding transaction has committed (at once outside a transaction); never after a rollback. */
  afterCommit(fn: () => void): void;
}

/** A migration: an id that orders it and SQL that is either portable or given per dialect. */
export interface Migration {
  id: string;
  sql: string | Record<Dialect, string>;
}

export interface TransactionOptions {
  /**
   * Not grouped with other transactions (PostgreSQL groups those of one event-loop turn): for a
   * transaction that does I/O while it holds its rows, which would hold the whole group up.
   */
  alone?: boolean;
}

/** A service's own database. */
export interface Db extends Queryable {
  /** Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. Keep I/O out of it. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Applies the migrations not applied yet, in id order. */
  migrate(migrations: readonly Migration[]): Promise<void>;
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  /** Connections of the pool by state; a database without a pool (SQLite) has none. */
  poolStats?(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}
