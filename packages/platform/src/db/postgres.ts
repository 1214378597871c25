import pg from 'pg';
import type { DatabaseOptions } from '../config.js';
import { AppError, InfrastructureError } from '../errors.js';
import type { Db, Migration, Queryable, Row } from './types.js';

// int8 (COUNT, BIGINT columns) as numbers: every value stored here stays below 2^53.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : (pg.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser,
};

const RETRYABLE = new Set(['40001', '40P01']); // serialization failure, deadlock

// SQLSTATE classes that say the server cannot serve now, not that the statement is wrong:
// 08 connection exception, 53 insufficient resources (disk full, too many connections), 57 operator
// intervention (shutdown, statement timeout), 58 system error (I/O).
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '58']);
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** A node-postgres error as the rest of the system reads it: infrastructure failures become InfrastructureError. */
export function pgFailure(error: unknown): unknown {
  if (error instanceof AppError || !(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  const sqlState = typeof code === 'string' && code.length === 5 ? code : undefined;
  const unavailable =
    (sqlState !== undefined && UNAVAILABLE_CLASSES.has(sqlState.slice(0, 2))) ||
    (typeof code === 'string' && UNAVAILABLE_ERRNO.has(code)) ||
    // node-postgres's own connection failures carry no code.
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|not queryable|Client was closed/i.test(
      error.message,
    );
  return unavailable ? new InfrastructureError('database', error.message, error) : error;
}

/** Creates the database named in `url` when it does not exist yet (connecting to `postgres`). */
export async function ensurePostgresDatabase(url: string, connectTimeoutMs = 5000): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!name) return;
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: connectTimeoutMs });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created concurrently by a sibling process
      });
    }
  } finally {
    await client.end();
  }
}

/** Names parameterised statements so each pooled connection parses and plans them once. */
class StatementNames {
  private readonly names = new Map<string, string>();

  of(sql: string, params: readonly unknown[]): string | undefined {
    if (params.length === 0) return undefined; // migrations and other multi-statement text stay unnamed
    let name = this.names.get(sql);
    if (!name) {
      name = `shopflow_${this.names.size}`;
      this.names.set(sql, name);
    }
    return name;
  }
}

function queryable(client: pg.Pool | pg.PoolClient, names: StatementNames, hooks?: (() => void)[]): Queryable {
  const run = (sql: string, params: readonly unknown[]) =>
    client.query({ name: names.of(sql, params), text: sql, values: params as unknown[] }).catch((error: unknown) => {
      throw pgFailure(error);
    });
  return {
    dialect: 'postgres',
    afterCommit: (fn) => (hooks ? void hooks.push(fn) : fn()),
    query: async <T extends object = Row>(sql: string, params: readonly unknown[] = []) => (await run(sql, params)).rows as T[],
    execute: async (sql, params = []) => (await run(sql, params)).rowCount ?? 0,
  };
}

/** PostgreSQL through a pool of kept-alive connections. */
export class PostgresDb implements Db {
  readonly dialect = 'postgres' as const;
  private readonly pool: pg.Pool;
  private readonly direct: Queryable;
  private readonly names = new StatementNames();

  private readonly connectTimeoutMs: number;

  constructor(
    private readonly url: string,
    options: Pick<DatabaseOptions, 'poolSize' | 'connectTimeoutMs' | 'statementTimeoutMs'>,
  ) {
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize,
      types,
      // Every call has a deadline: getting a connection, each statement on the server, and the
      // same on the client for a server that is frozen rather than down.
      connectionTimeoutMillis: options.connectTimeoutMs,
      statement_timeout: options.statementTimeoutMs,
      query_timeout: options.statementTimeoutMs + 1000,
      idle_in_transaction_session_timeout: options.statementTimeoutMs * 3,
      // Notice a peer that vanished without closing (a host gone) on pooled, idle connections.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    // An idle client that loses its connection emits here; without a listener the process dies.
    this.pool.on('error', () => undefined);
    this.direct = queryable(this.pool, this.names);
  }

  query<T extends object = Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.direct.query<T>(sql, params);
  }

  execute(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.direct.execute(sql, params);
  }

  afterCommit(fn: () => void): void {
    fn();
  }

  poolStats(): { total: number; idle: number; waiting: number } {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect().catch((error: unknown) => {
        throw pgFailure(error);
      });
      // The pool stops listening for errors on a client it lends out: a connection that dies
      // between two statements of ours would otherwise crash the process. The next statement fails instead.
      const ignore = () => undefined;
      client.on('error', ignore);
      const hooks: (() => void)[] = [];
      let broken: Error | undefined;
      let result: T;
      try {
        await client.query('BEGIN');
        result = await fn(queryable(client, this.names, hooks));
        await client.query('COMMIT');
      } catch (error) {
        // A connection that cannot even roll back is dropped from the pool, not reused.
        await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        if (attempt < 5 && RETRYABLE.has((error as { code?: string }).code ?? '')) continue;
        throw pgFailure(error);
      } finally {
        client.removeListener('error', ignore);
        client.release(broken);
      }
      for (const hook of hooks) hook();
      return result;
    }
  }

  async migrate(migrations: readonly Migration[]): Promise<void> {
    await ensurePostgresDatabase(this.url, this.connectTimeoutMs).catch((error: unknown) => {
      throw pgFailure(error);
    });
    await this.transaction(async (tx) => {
      // Serialises sibling instances that start together.
      await tx.query('SELECT pg_advisory_xact_lock(7150001)');
      await tx.execute('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
      const applied = new Set((await tx.query<{ id: string }>('SELECT id FROM schema_migrations')).map((r) => r.id));
      for (const m of [...migrations].sort((a, b) => a.id.localeCompare(b.id))) {
        if (applied.has(m.id)) continue;
        await tx.execute(typeof m.sql === 'string' ? m.sql : m.sql.postgres);
        await tx.execute('INSERT INTO schema_migrations (id, applied_at) VALUES ($1, $2)', [m.id, new Date().toISOString()]);
      }
    });
  }

  async ping(): Promise<void> {
    await this.direct.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
