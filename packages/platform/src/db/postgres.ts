import pg from 'pg';
import type { Db, Migration, Queryable, Row } from './types.js';

// int8 (COUNT, BIGINT columns) as numbers: every value stored here stays below 2^53.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : (pg.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser,
};

const RETRYABLE = new Set(['40001', '40P01']); // serialization failure, deadlock

/** Creates the database named in `url` when it does not exist yet (connecting to `postgres`). */
export async function ensurePostgresDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!name) return;
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
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
    client.query({ name: names.of(sql, params), text: sql, values: params as unknown[] });
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

  constructor(url: string, poolSize = 10) {
    this.pool = new pg.Pool({ connectionString: url, max: poolSize, types });
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

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
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
        throw error;
      } finally {
        client.release(broken);
      }
      for (const hook of hooks) hook();
      return result;
    }
  }

  async migrate(migrations: readonly Migration[]): Promise<void> {
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
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
