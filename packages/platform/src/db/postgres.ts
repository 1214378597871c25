import pg from 'pg';
import type { DatabaseOptions } from '../config.js';
import { AppError, InfrastructureError } from '../errors.js';
import type { Db, Migration, Queryable, Row, TransactionOptions } from './types.js';

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

type Run = (sql: string, params: readonly unknown[]) => Promise<pg.QueryResult>;

function runner(client: pg.Pool | pg.PoolClient, names: StatementNames): Run {
  return (sql, params) =>
    client.query({ name: names.of(sql, params), text: sql, values: params as unknown[] }).catch((error: unknown) => {
      throw pgFailure(error);
    });
}

/** Statements outside a transaction: each one waits for its answer. */
function direct(run: Run): Queryable {
  return {
    dialect: 'postgres',
    afterCommit: (fn) => fn(),
    query: async <T extends object = Row>(sql: string, params: readonly unknown[] = []) => (await run(sql, params)).rows as T[],
    execute: async (sql, params = []) => (await run(sql, params)).rowCount ?? 0,
    write: async (sql, params = []) => void (await run(sql, params)),
  };
}

/**
 * One transaction on a pipelined connection. Statements go out as they are asked for; BEGIN and
 * every write() are not waited for, so they share the trip of the statement that follows them
 * (the COMMIT at the latest). On this machine a round trip to the server, not the statement,
 * is what costs: each one wakes two processes.
 */
class PipelinedTransaction {
  readonly hooks: (() => void)[] = [];
  private readonly sent: Promise<unknown>[] = [];
  /** The first statement that failed without anyone waiting for it: it aborted the transaction. */
  private failure: { error: unknown } | undefined;
  readonly tx: Queryable;

  constructor(private readonly run: Run) {
    const ask = async (sql: string, params: readonly unknown[]) => {
      try {
        return await run(sql, params);
      } catch (error) {
        // After an unwaited statement failed, the server answers "transaction is aborted": name the cause.
        throw this.failure ? this.failure.error : error;
      }
    };
    this.tx = {
      dialect: 'postgres',
      afterCommit: (fn) => void this.hooks.push(fn),
      query: async <T extends object = Row>(sql: string, params: readonly unknown[] = []) => (await ask(sql, params)).rows as T[],
      execute: async (sql, params = []) => (await ask(sql, params)).rowCount ?? 0,
      write: (sql, params = []) => {
        this.send(sql, params);
        return Promise.resolve();
      },
    };
  }

  send(sql: string, params: readonly unknown[] = []): void {
    this.sent.push(
      this.run(sql, params).catch((error: unknown) => {
        this.failure ??= { error };
      }),
    );
  }

  /**
   * COMMIT, and throw if any unwaited statement failed: the server then ended the transaction
   * with a rollback (PostgreSQL answers a COMMIT of an aborted transaction with ROLLBACK).
   */
  async commit(): Promise<void> {
    const committed = this.run('COMMIT', []);
    await Promise.all(this.sent);
    await committed;
    if (this.failure) throw this.failure.error;
  }
}

interface Member {
  fn: (tx: Queryable) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** Groups this member was in that rolled back because of another member. */
  regrouped: number;
}

/** Most transactions that share one COMMIT. */
const MAX_GROUP = 128;
/** A member sent back this often by others' failures runs alone instead. */
const MAX_REGROUPS = 2;

/** Thrown to a member whose locking read names a row another member of its group has locked. */
class GroupConflict extends Error {}

const FAILED_TRANSACTION = '25P02'; // in_failed_sql_transaction: a victim of another statement's failure

/**
 * Group commit on PostgreSQL: the transactions asked for in one turn of the event loop run at
 * once in ONE transaction on one pipelined connection, so their statements share round trips
 * and one COMMIT. A member sees the others' writes as if it ran after them (statements run in
 * the order they were sent), and all commit together or not at all.
 *
 * What makes it safe:
 * - A locking read (`FOR UPDATE`) is the sign of a read-modify-write. Two members locking the same
 *   row (the same statement with the same parameters) would not block each other inside one
 *   transaction, so the second is sent back and runs alone, where the row lock orders the two.
 * - Any failure rolls the whole group back. The member that failed runs again alone, in its own
 *   transaction, and gets its own outcome there; the others (whose statements failed only because
 *   the transaction was aborted) form a new group. Callers hear back once, after their commit.
 */
class SharedTransaction {
  private readonly sent: Promise<unknown>[] = [];
  private readonly locks = new Map<string, Member>();
  /** A member whose statement failed without anyone waiting for it, and the error. */
  private failure: { member: Member; error: unknown } | undefined;
  private corked = false;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly run: Run,
  ) {
    this.send('BEGIN');
  }

  /** Sends statements of this turn in one write: the members ask for theirs in the same microtask run. */
  private cork(): void {
    const stream = (
      this.client as unknown as { connection?: { stream?: NodeJS.WritableStream & { cork?: () => void; uncork?: () => void } } }
    ).connection?.stream;
    if (this.corked || !stream?.cork || !stream.uncork) return;
    this.corked = true;
    stream.cork();
    process.nextTick(() => {
      this.corked = false;
      stream.uncork!();
    });
  }

  private send(sql: string, params: readonly unknown[] = [], member?: Member): void {
    this.cork();
    this.sent.push(
      this.run(sql, params).catch((error: unknown) => {
        if (member) this.failure ??= { member, error };
      }),
    );
  }

  view(member: Member, hooks: (() => void)[]): Queryable {
    const ask = async (sql: string, params: readonly unknown[]) => {
      if (/\bFOR UPDATE\b/i.test(sql) && !/\bSKIP LOCKED\b/i.test(sql)) {
        const key = `${sql}\u0000${JSON.stringify(params)}`;
        const holder = this.locks.get(key);
        if (holder && holder !== member) throw new GroupConflict(`row locked by another member of the group`);
        this.locks.set(key, member);
      }
      this.cork();
      return this.run(sql, params);
    };
    return {
      dialect: 'postgres',
      afterCommit: (fn) => void hooks.push(fn),
      query: async <T extends object = Row>(sql: string, params: readonly unknown[] = []) => (await ask(sql, params)).rows as T[],
      execute: async (sql, params = []) => (await ask(sql, params)).rowCount ?? 0,
      write: (sql, params = []) => {
        this.send(sql, params, member);
        return Promise.resolve();
      },
    };
  }

  /** The member whose unwaited write failed, if one did. */
  failedWrite(): { member: Member; error: unknown } | undefined {
    return this.failure;
  }

  /** Waits for every unwaited statement, then COMMIT; true when it committed. */
  async commit(): Promise<boolean> {
    const committed = this.run('COMMIT', []);
    await Promise.all(this.sent);
    const result = await committed;
    // PostgreSQL answers the COMMIT of an aborted transaction with ROLLBACK, not an error.
    return this.failure === undefined && result.command === 'COMMIT';
  }

  async settled(): Promise<void> {
    await Promise.all(this.sent);
  }
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
      // Statements of a transaction go out without waiting for the ones before (see PipelinedTransaction).
      pipeline: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    // An idle client that loses its connection emits here; without a listener the process dies.
    this.pool.on('error', () => undefined);
    this.direct = direct(runner(this.pool, this.names));
  }

  query<T extends object = Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.direct.query<T>(sql, params);
  }

  execute(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.direct.execute(sql, params);
  }

  write(sql: string, params?: readonly unknown[]): Promise<void> {
    return this.direct.write(sql, params);
  }

  afterCommit(fn: () => void): void {
    fn();
  }

  poolStats(): { total: number; idle: number; waiting: number } {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount };
  }

  /**
   * Runs `fn` in a transaction, grouped with the others of this turn (see SharedTransaction)
   * unless `alone` is asked for: a transaction that does I/O while it holds its rows (the outbox
   * relay publishes while its rows stay locked) must not hold up a group.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    if (options.alone) return this.alone(fn);
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ fn, resolve: resolve as (value: unknown) => void, reject, regrouped: 0 });
      this.schedule();
    });
  }

  private readonly waiting: Member[] = [];
  private flushScheduled = false;

  private schedule(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Every transaction asked for by the callbacks of this turn joins the same group. Groups do
    // not wait for each other: each has its own connection, and one held open (a slow member)
    // holds up only its own members.
    setImmediate(() => {
      this.flushScheduled = false;
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, MAX_GROUP);
        // Nobody is left waiting, whatever breaks (a member's promise settles once; later calls are no-ops).
        this.runGroup(batch).catch((error: unknown) => batch.forEach((m) => m.reject(pgFailure(error))));
      }
    });
  }

  /** One member alone runs as a plain transaction; a group shares one (see SharedTransaction). */
  private async runGroup(batch: Member[]): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch as [Member];
      return this.alone(only.fn).then(only.resolve, only.reject);
    }
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      for (const m of batch) m.reject(pgFailure(error));
      return;
    }
    const ignore = () => undefined;
    client.on('error', ignore);
    let broken: Error | undefined;
    const shared = new SharedTransaction(client, runner(client, this.names));
    const hooks = batch.map(() => [] as (() => void)[]);
    const outcomes = await Promise.allSettled(batch.map(async (m, i) => m.fn(shared.view(m, hooks[i]!))));
    let committed = false;
    try {
      if (outcomes.every((o) => o.status === 'fulfilled')) committed = await shared.commit();
      else await shared.settled();
      if (!committed) await client.query('ROLLBACK').catch((e: Error) => (broken = e));
    } catch {
      // The COMMIT itself failed (the connection broke): every member finds out on its own below.
      await client.query('ROLLBACK').catch((e: Error) => (broken = e));
    } finally {
      client.removeListener('error', ignore);
      client.release(broken);
    }
    if (committed) {
      batch.forEach((m, i) => {
        m.resolve((outcomes[i] as PromiseFulfilledResult<unknown>).value);
        for (const hook of hooks[i]!) hook();
      });
      return;
    }
    // Who failed on their own runs alone; who failed only because of them goes round again.
    const culprit = shared.failedWrite()?.member;
    const again: Member[] = [];
    batch.forEach((m, i) => {
      const o = outcomes[i]!;
      // A member that met another's row lock runs alone: there the row lock orders the two.
      const victim =
        m !== culprit &&
        (o.status === 'fulfilled' || (o.reason as { code?: string } | undefined)?.code === FAILED_TRANSACTION);
      if (victim && m.regrouped < MAX_REGROUPS) {
        m.regrouped++;
        again.push(m);
      } else {
        this.alone(m.fn).then(m.resolve, m.reject);
      }
    });
    if (again.length > 0) {
      this.waiting.unshift(...again);
      this.schedule();
    }
  }

  /** A transaction of its own on a pooled connection, retried on a serialization failure or deadlock. */
  private async alone<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect().catch((error: unknown) => {
        throw pgFailure(error);
      });
      // The pool stops listening for errors on a client it lends out: a connection that dies
      // between two statements of ours would otherwise crash the process. The next statement fails instead.
      const ignore = () => undefined;
      client.on('error', ignore);
      const pipelined = new PipelinedTransaction(runner(client, this.names));
      let broken: Error | undefined;
      let result: T;
      try {
        pipelined.send('BEGIN');
        result = await fn(pipelined.tx);
        await pipelined.commit();
      } catch (error) {
        // A connection that cannot even roll back is dropped from the pool, not reused.
        await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        if (attempt < 5 && RETRYABLE.has((error as { code?: string }).code ?? '')) continue;
        throw pgFailure(error);
      } finally {
        client.removeListener('error', ignore);
        client.release(broken);
      }
      for (const hook of pipelined.hooks) hook();
      return result;
    }
  }

  async migrate(migrations: readonly Migration[]): Promise<void> {
    await ensurePostgresDatabase(this.url, this.connectTimeoutMs).catch((error: unknown) => {
      throw pgFailure(error);
    });
    await this.alone(async (tx) => {
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
