import { headers as natsHeaders } from '@nats-io/nats-core';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { EventOf, Subject } from '@shopflow/contracts';
import type { Db, Queryable } from '../db/types.js';
import { backoffDelay, delay } from '../retry.js';
import { SpanKind, contextFrom, inSpan, traceHeaders } from '../tracing.js';

interface OutboxRow {
  id: number;
  event_id: string;
  subject: string;
  payload: string;
  headers: string;
}

/** Options for the relay; defaults suit one instance per service on loopback. */
export interface RelayOptions {
  batchSize?: number;
  publishTimeoutMs?: number;
  /**
   * How often an idle relay looks for rows that no notify() announced: rows a crashed sibling
   * instance left behind. Only PostgreSQL can be shared by instances, so SQLite never sweeps.
   */
  sweepMs?: number;
}

/**
 * The transactional outbox of one service: events are written in the caller's transaction and
 * published by a relay that wakes on commit, publishes in id order with the event id as
 * `Nats-Msg-Id`, and deletes a row only after JetStream acknowledged it.
 */
export class Outbox {
  private readonly batchSize: number;
  private readonly publishTimeoutMs: number;
  private readonly sweepMs: number | undefined;
  private wake: (() => void) | undefined;
  private dirty = true;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private readonly stopController = new AbortController();

  constructor(
    private readonly db: Db,
    private readonly js: Pick<JetStreamClient, 'publish'>,
    private readonly logger: Logger,
    options: RelayOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 256;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5000;
    this.sweepMs = db.dialect === 'postgres' ? (options.sweepMs ?? 2000) : undefined;
  }

  /**
   * Writes an event in `tx`. It is published after the transaction commits; the current trace
   * context travels with it. `key` (default: the order id) orders events that share it.
   */
  async enqueue<S extends Subject>(
    tx: Queryable,
    subject: S,
    payload: EventOf<S>,
    key: string = payload.order_id,
  ): Promise<void> {
    await tx.write(
      'INSERT INTO outbox (event_id, subject, partition_key, payload, headers, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [payload.event_id, subject, key, JSON.stringify(payload), JSON.stringify(traceHeaders()), Date.now()],
    );
    tx.afterCommit(this.notify);
  }

  /** Wakes the relay: something was committed. */
  readonly notify = (): void => {
    this.dirty = true;
    this.wake?.();
  };

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /**
   * Stops the relay after one last bounded flush, so that a clean shutdown leaves nothing
   * committed behind for the next start (what it cannot publish now stays, and is not lost).
   */
  async stop(flushForMs = 2000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopController.abort();
    this.wake?.();
    await this.loop;
    const deadline = Date.now() + flushForMs;
    try {
      while (Date.now() < deadline && (await this.flush()) > 0);
    } catch (error) {
      this.logger.warn({ err: error }, 'outbox not flushed at shutdown; the next start publishes it');
    }
  }

  /** Rows not yet acknowledged by JetStream. */
  async pending(): Promise<number> {
    return (await this.backlog()).rows;
  }

  /** Rows not yet acknowledged by JetStream, and how long the oldest has waited (0 when there is none). */
  async backlog(): Promise<{ rows: number; oldestAgeMs: number }> {
    const [row] = await this.db.query<{ n: number; oldest: number | null }>(
      'SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox',
    );
    const oldest = row?.oldest == null ? undefined : Number(row.oldest);
    return { rows: Number(row?.n ?? 0), oldestAgeMs: oldest === undefined ? 0 : Math.max(0, Date.now() - oldest) };
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      if (!this.dirty) await this.idle();
      if (this.stopped) break;
      this.dirty = false;
      try {
        const published = await this.flush();
        failures = 0;
        // Rows held back behind an older row of their key, or written meanwhile, may be waiting.
        if (published > 0) this.dirty = true;
      } catch (error) {
        failures++;
        this.dirty = true;
        const wait = backoffDelay({ baseMs: 100, maxMs: 5000 }, failures);
        if (failures === 1 || failures % 20 === 0) {
          this.logger.warn({ err: error, failures, retryInMs: wait }, 'outbox relay cannot publish; will retry');
        }
        await delay(wait, this.stopController.signal).catch(() => undefined);
      }
    }
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.sweepMs === undefined ? undefined : setTimeout(() => done(true), this.sweepMs);
      const done = (sweep = false) => {
        if (timer) clearTimeout(timer);
        this.wake = undefined;
        if (sweep) this.dirty = true;
        resolve();
      };
      this.wake = () => done();
    });
  }

  /** Publishes one batch; returns how many rows were published. */
  private async flush(): Promise<number> {
    if (this.db.dialect === 'postgres') {
      // Rows stay locked while they are published, so sibling instances skip them; a row
      // waits while an older row of its key is still unsent, which keeps per-order order. It
      // publishes while holding them, so it runs alone: no group of other transactions waits for that.
      return this.db.transaction(
        async (tx) => {
          const rows = await tx.query<OutboxRow>(
            `SELECT id, event_id, subject, payload, headers FROM outbox o
           WHERE NOT EXISTS (SELECT 1 FROM outbox p WHERE p.partition_key = o.partition_key AND p.id < o.id)
           ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
            [this.batchSize],
          );
          return this.publishAndDelete(tx, rows);
        },
        { alone: true },
      );
    }
    // SQLite has one writer process: read, publish outside any transaction (so the service
    // keeps writing meanwhile), then delete what JetStream acknowledged.
    const rows = await this.db.query<OutboxRow>(
      'SELECT id, event_id, subject, payload, headers FROM outbox ORDER BY id LIMIT $1',
      [this.batchSize],
    );
    return this.publishAndDelete(this.db, rows);
  }

  private async publishAndDelete(q: Queryable, rows: OutboxRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    // Pipelined: every publish is in flight at once, acks are awaited together.
    const results = await Promise.allSettled(rows.map((row) => this.publish(row)));
    const acked = rows.filter((_, i) => results[i]!.status === 'fulfilled').map((r) => r.id);
    if (acked.length > 0) {
      // One statement text on PostgreSQL (an array parameter), so it is prepared once per connection.
      if (q.dialect === 'postgres') await q.execute('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [acked]);
      else await q.execute(`DELETE FROM outbox WHERE id IN (${acked.map((_, i) => `$${i + 1}`).join(', ')})`, acked);
    }
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return rows.length;
  }

  private publish(row: OutboxRow): Promise<void> {
    // The row kept the context it was written in: a publish after a crash still joins that trace.
    const parent = contextFrom(JSON.parse(row.headers) as Record<string, string>);
    const attributes = {
      'messaging.system': 'nats',
      'messaging.operation.type': 'send',
      'messaging.destination.name': row.subject,
      'messaging.message.id': row.event_id,
    };
    return inSpan(`send ${row.subject}`, { kind: SpanKind.PRODUCER, parent, attributes }, async () => {
      const h = natsHeaders();
      for (const [k, v] of Object.entries(traceHeaders())) h.set(k, v);
      await this.js.publish(row.subject, row.payload, { msgID: row.event_id, headers: h, timeout: this.publishTimeoutMs });
    });
  }
}
