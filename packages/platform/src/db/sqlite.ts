import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { DatabaseOptions } from '../config.js';
import { InfrastructureError } from '../errors.js';
import type { Db, Migration, Queryable, Row } from './types.js';

type Statement = Database.Statement<unknown[], unknown>;

interface PendingTx {
  fn: (tx: Queryable) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Most transactions that share one COMMIT. */
const MAX_GROUP = 128;

interface Translated {
  sql: string;
  /** For each `?` in order, which `$n` parameter (0-based) it takes. */
  order: number[];
}

/** Rewrites `$n` placeholders (outside string literals) to `?`, remembering the parameter order. */
export function translatePlaceholders(sql: string): Translated {
  const order: number[] = [];
  let out = '';
  let quote: string | null = null;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === '$' && /[0-9]/.test(sql[i + 1] ?? '')) {
      let j = i + 1;
      while (j < sql.length && /[0-9]/.test(sql[j]!)) j++;
      order.push(Number(sql.slice(i + 1, j)) - 1);
      out += '?';
      i = j - 1;
    } else {
      out += ch;
    }
  }
  return { sql: out, order };
}

function bindable(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

// Codes that say the database file cannot be used right now (locked, full, I/O), not that the
// statement is wrong: https://www.sqlite.org/rescode.html
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|NOMEM|READONLY|PROTOCOL)/;

/** An SQLite error as the rest of the system reads it: infrastructure failures become InfrastructureError. */
function sqliteFailure(error: unknown): unknown {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE.test(code) && !(error instanceof InfrastructureError)) {
    return new InfrastructureError('database', `${code}: ${(error as Error).message}`, error);
  }
  return error;
}

/**
 * The embedded default: one better-sqlite3 connection in WAL mode. Calls are synchronous, so a
 * promise-chained mutex keeps one transaction's awaits from interleaving with other callers.
 */
export class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, { stmt: Statement; order: number[] }>();
  private tail: Promise<unknown> = Promise.resolve();

  constructor(file: string, synchronous: DatabaseOptions['sqliteSynchronous'] = 'FULL', busyTimeoutMs = 5000) {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    // WAL: a commit is appended to the log with write(2) before it returns, so a killed
    // process loses nothing committed; FULL (the default) also fsyncs it, for power loss.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${synchronous}`);
    this.db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    this.db.pragma('foreign_keys = ON');
    // A larger page cache and rarer checkpoints: checkpoints copy the log into the file and fsync it.
    this.db.pragma('cache_size = -65536');
    this.db.pragma('wal_autocheckpoint = 4000');
  }

  private prepare(sql: string): { stmt: Statement; order: number[] } {
    let entry = this.statements.get(sql);
    if (!entry) {
      const t = translatePlaceholders(sql);
      entry = { stmt: this.db.prepare(t.sql), order: t.order };
      this.statements.set(sql, entry);
    }
    return entry;
  }

  private runQuery<T>(sql: string, params: readonly unknown[]): T[] {
    try {
      const { stmt, order } = this.prepare(sql);
      const args = order.map((i) => bindable(params[i]));
      if (stmt.reader) return stmt.all(...args) as T[];
      stmt.run(...args);
      return [];
    } catch (error) {
      throw sqliteFailure(error);
    }
  }

  private runExecute(sql: string, params: readonly unknown[]): number {
    try {
      const { stmt, order } = this.prepare(sql);
      return stmt.run(...order.map((i) => bindable(params[i]))).changes;
    } catch (error) {
      throw sqliteFailure(error);
    }
  }

  /** Serialises access: the next caller starts only when the previous one has finished. */
  private exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private txHooks: (() => void)[] = [];
  private readonly inTx: Queryable = {
    dialect: 'sqlite',
    query: <T extends object = Row>(sql: string, params: readonly unknown[] = []) =>
      Promise.resolve(this.runQuery<T>(sql, params)),
    execute: (sql, params = []) => Promise.resolve(this.runExecute(sql, params)),
    write: (sql, params = []) => Promise.resolve(void this.runExecute(sql, params)),
    afterCommit: (fn) => void this.txHooks.push(fn),
  };

  afterCommit(fn: () => void): void {
    fn();
  }

  query<T extends object = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.exclusive(() => this.runQuery<T>(sql, params));
  }

  execute(sql: string, params: readonly unknown[] = []): Promise<number> {
    return this.exclusive(() => this.runExecute(sql, params));
  }

  async write(sql: string, params: readonly unknown[] = []): Promise<void> {
    await this.execute(sql, params);
  }

  /**
   * Group commit: transactions that queue up while another is running share one physical
   * transaction, each inside its own savepoint (so each still commits or rolls back alone), and
   * pay for one COMMIT together. Callers hear back only after that COMMIT.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pendingTx.push({ fn, resolve, reject } as PendingTx);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // Wait for the end of this turn of the event loop: every transaction that the I/O
        // callbacks of this turn ask for joins the same group.
        setImmediate(() => void this.exclusive(() => this.flushTransactions()));
      }
    });
  }

  private pendingTx: PendingTx[] = [];
  private flushScheduled = false;
  private readonly control = {
    begin: () => this.statement('BEGIN IMMEDIATE').run(),
    commit: () => this.statement('COMMIT').run(),
    rollback: () => this.statement('ROLLBACK').run(),
    savepoint: () => this.statement('SAVEPOINT tx').run(),
    release: () => this.statement('RELEASE tx').run(),
    rollbackTo: () => this.statement('ROLLBACK TO tx').run(),
  };

  private statement(sql: string): Statement {
    return this.prepare(sql).stmt;
  }

  private async flushTransactions(): Promise<void> {
    this.flushScheduled = false;
    const batch = this.pendingTx.splice(0, MAX_GROUP);
    if (this.pendingTx.length > 0) {
      this.flushScheduled = true;
      void this.exclusive(() => this.flushTransactions());
    }
    // Every caller in the group hears back exactly once, whatever fails: a BEGIN refused with
    // SQLITE_BUSY, a failed ROLLBACK TO or COMMIT. Nobody is left waiting on a promise forever.
    const waiting = new Set(batch);
    const settle = (item: PendingTx, outcome: () => void) => {
      if (waiting.delete(item)) outcome();
    };
    try {
      await this.runGroup(batch, settle);
    } catch (error) {
      if (this.db.inTransaction) {
        try {
          this.control.rollback();
        } catch {
          // The connection lost the transaction already; nothing more to undo.
        }
      }
      const failure = sqliteFailure(error);
      for (const item of waiting) item.reject(failure);
    }
  }

  /** One physical transaction for `batch`, each member inside its own savepoint; see transaction(). */
  private async runGroup(batch: PendingTx[], settle: (item: PendingTx, outcome: () => void) => void): Promise<void> {
    const done: { item: PendingTx; result: unknown; hooks: (() => void)[] }[] = [];
    this.control.begin();
    for (const item of batch) {
      this.txHooks = [];
      this.control.savepoint();
      try {
        const result = await item.fn(this.inTx);
        this.control.release();
        done.push({ item, result, hooks: this.txHooks });
      } catch (error) {
        if (this.db.inTransaction) {
          this.control.rollbackTo();
          this.control.release();
        } else {
          // SQLite abandoned the whole transaction (I/O error, disk full): the ones before went with it.
          for (const d of done) settle(d.item, () => d.item.reject(sqliteFailure(error)));
          done.length = 0;
          this.control.begin();
        }
        settle(item, () => item.reject(sqliteFailure(error)));
      }
    }
    this.txHooks = [];
    this.control.commit();
    for (const d of done) {
      settle(d.item, () => d.item.resolve(d.result));
      for (const hook of d.hooks) hook();
    }
  }

  async migrate(migrations: readonly Migration[]): Promise<void> {
    await this.exclusive(() => {
      this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
      const applied = new Set((this.db.prepare('SELECT id FROM schema_migrations').all() as { id: string }[]).map((r) => r.id));
      for (const m of [...migrations].sort((a, b) => a.id.localeCompare(b.id))) {
        if (applied.has(m.id)) continue;
        this.db.transaction(() => {
          this.db.exec(typeof m.sql === 'string' ? m.sql : m.sql.sqlite);
          this.db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)').run(m.id, new Date().toISOString());
        })();
      }
    });
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.exclusive(() => this.db.close());
  }
}
