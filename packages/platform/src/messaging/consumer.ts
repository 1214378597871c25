import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { validateEvent, type EventOf, type Subject } from '@shopflow/contracts';
import { pruneOlderThan } from '../db/index.js';
import type { Db, Queryable } from '../db/types.js';
import { isInfrastructureFailure, isTransient } from '../errors.js';
import { backoffDelay, withTimeout } from '../retry.js';
import { SpanKind, contextFrom, inSpan, withOrder } from '../tracing.js';
import type { Messaging } from './connection.js';
import { deadLetter } from './dlq.js';
import type { StreamSpec } from './streams.js';

/** What a consumer does with one event, inside the transaction that also records it in the inbox. */
export type EventHandler<S extends Subject> = (tx: Queryable, event: EventOf<S>, msg: JsMsg) => Promise<void>;

export interface ConsumerSpec<S extends Subject> {
  stream: StreamSpec;
  subject: S;
  /** Durable consumer name, unique per service and subject, e.g. `saga-orders-created`. */
  durable: string;
  handle: EventHandler<S>;
}

export interface ConsumerDeps {
  messaging: Messaging;
  db: Db;
  logger: Logger;
  ackWaitMs: number;
  maxDeliver: number;
  /** Most messages applied in one transaction. */
  batchSize?: number;
  /** Counts deliveries and redeliveries, labelled by consumer. */
  counts?: { deliveries: Counter<'consumer'>; redeliveries: Counter<'consumer'> };
}

interface Decoded<S extends Subject> {
  msg: JsMsg;
  event: EventOf<S>;
}

/**
 * A durable pull consumer with explicit acks. Messages that arrive together are applied in one
 * transaction, each recorded in the inbox so a redelivered or re-published event changes
 * nothing; acks go out only after the commit. Invalid events and events that keep failing are
 * dead-lettered with their reason; transient failures are retried with backoff.
 */
export class EventConsumer<S extends Subject> {
  private messages: ConsumerMessages | undefined;
  private running: Promise<void> | undefined;
  private pending: Decoded<S>[] = [];
  private chain: Promise<void> = Promise.resolve();
  private scheduled = false;
  private readonly batchSize: number;
  private readonly log: Logger;
  private infrastructureFailures = 0;

  constructor(
    private readonly deps: ConsumerDeps,
    private readonly spec: ConsumerSpec<S>,
  ) {
    this.batchSize = deps.batchSize ?? 256;
    this.log = deps.logger.child({ consumer: spec.durable });
  }

  async start(): Promise<void> {
    const { jsm, js } = this.deps.messaging;
    const config = {
      durable_name: this.spec.durable,
      filter_subject: this.spec.subject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(this.deps.ackWaitMs),
      // Unlimited at the server: this class counts deliveries itself so the last one is dead-lettered, not dropped.
      max_deliver: -1,
      max_ack_pending: this.batchSize * 8,
    };
    try {
      await jsm.consumers.add(this.spec.stream.name, config);
    } catch {
      await jsm.consumers.update(this.spec.stream.name, this.spec.durable, {
        ack_wait: config.ack_wait,
        max_deliver: config.max_deliver,
        max_ack_pending: config.max_ack_pending,
      });
    }
    const consumer = await js.consumers.get(this.spec.stream.name, this.spec.durable);
    this.messages = await consumer.consume({ max_messages: this.batchSize * 2 });
    this.running = this.receive(this.messages);
  }

  async stop(): Promise<void> {
    await this.messages?.close();
    await this.running;
    await this.chain;
  }

  private async receive(messages: ConsumerMessages): Promise<void> {
    const labels = { consumer: this.spec.durable };
    for await (const msg of messages) {
      this.deps.counts?.deliveries.inc(labels);
      if (msg.redelivered) this.deps.counts?.redeliveries.inc(labels);
      const decoded = this.decode(msg);
      if (!decoded) continue;
      this.pending.push(decoded);
      if (!this.scheduled) {
        this.scheduled = true;
        // Everything that arrived in this read of the socket joins the same batch.
        setImmediate(() => {
          this.scheduled = false;
          const batch = this.pending;
          this.pending = [];
          this.chain = this.chain.then(() => this.process(batch));
        });
      }
    }
  }

  private decode(msg: JsMsg): Decoded<S> | undefined {
    let payload: unknown;
    try {
      payload = JSON.parse(msg.string());
    } catch {
      void this.reject(msg, 'payload is not JSON');
      return undefined;
    }
    const errors = validateEvent(this.spec.subject, payload);
    if (errors.length > 0) {
      void this.reject(msg, `payload does not match ${this.spec.subject}: ${errors.join('; ')}`);
      return undefined;
    }
    return { msg, event: payload as EventOf<S> };
  }

  private async process(batch: Decoded<S>[]): Promise<void> {
    for (let i = 0; i < batch.length; i += this.batchSize) {
      const slice = batch.slice(i, i + this.batchSize);
      try {
        await this.apply(slice);
      } catch (error) {
        if (isInfrastructureFailure(error)) {
          // The database is away, not the events: all of them wait for it, none is tried alone.
          for (const item of slice) this.waitForInfrastructure(item.msg, error);
          continue;
        }
        // One bad event must not hold the others back: apply them one by one.
        for (const item of slice) {
          try {
            await this.apply([item]);
          } catch (itemError) {
            await this.fail(item.msg, itemError);
          }
        }
      }
    }
  }

  private async apply(items: Decoded<S>[]): Promise<void> {
    await this.deps.db.transaction(async (tx) => {
      // One statement records the whole batch in the inbox and says which events are new.
      const now = Date.now();
      const rows = items.map((_, i) => `($${i * 3 + 1}, $${i * 3 + 2}, $${i * 3 + 3})`).join(', ');
      const fresh = new Set(
        (
          await tx.query<{ event_id: string }>(
            `INSERT INTO inbox (event_id, consumer, received_at) VALUES ${rows} ON CONFLICT DO NOTHING RETURNING event_id`,
            items.flatMap(({ event }) => [event.event_id, this.spec.durable, now]),
          )
        ).map((r) => r.event_id),
      );
      for (const { msg, event } of items) {
        // Applied before (a redelivery or a re-publish), or twice in this batch: the first one counts.
        if (!fresh.delete(event.event_id)) continue;
        // The span of the outbox's publish is the parent, so the event's handling joins the order's trace.
        await withOrder(event.order_id, () =>
          inSpan(
            `process ${msg.subject}`,
            {
              kind: SpanKind.CONSUMER,
              parent: contextFrom(msg.headers),
              attributes: {
                'messaging.system': 'nats',
                'messaging.operation.type': 'process',
                'messaging.destination.name': msg.subject,
                'messaging.consumer.group.name': this.spec.durable,
                'messaging.message.id': event.event_id,
                'messaging.nats.delivery_count': msg.info.deliveryCount,
                'shopflow.order_id': event.order_id,
              },
            },
            () => this.spec.handle(tx, event, msg),
          ),
        );
      }
    });
    this.infrastructureFailures = 0;
    for (const { msg } of items) msg.ack();
  }

  private async fail(msg: JsMsg, error: unknown): Promise<void> {
    // Only an event that fails against a healthy database is the event's fault.
    if (isInfrastructureFailure(error) || !(await this.databaseHealthy())) return this.waitForInfrastructure(msg, error);
    const deliveries = msg.info.deliveryCount;
    if (!isTransient(error) || deliveries >= this.deps.maxDeliver) {
      const reason = error instanceof Error ? error.message : String(error);
      await this.reject(msg, isTransient(error) ? `failed ${deliveries} deliveries: ${reason}` : reason);
      return;
    }
    const retryIn = backoffDelay({ baseMs: 200, maxMs: 10_000 }, deliveries);
    this.log.warn({ err: error, subject: msg.subject, deliveries, retryIn }, 'event failed; will retry');
    msg.nak(retryIn);
  }

  /**
   * The infrastructure failed, not the event: it comes back after a capped backoff, however many
   * deliveries that takes, and is never dead-lettered for it. /ready shows the database meanwhile.
   */
  private waitForInfrastructure(msg: JsMsg, error: unknown): void {
    const retryIn = backoffDelay({ baseMs: 500, maxMs: 10_000 }, msg.info.deliveryCount);
    this.infrastructureFailures++;
    if (this.infrastructureFailures === 1 || this.infrastructureFailures % 100 === 0) {
      this.log.warn(
        { err: error, subject: msg.subject, failures: this.infrastructureFailures, retryIn },
        'cannot apply events while a dependency is unavailable; they wait',
      );
    }
    msg.nak(retryIn);
  }

  private async databaseHealthy(): Promise<boolean> {
    try {
      await withTimeout(this.deps.db.ping(), 2000);
      return true;
    } catch {
      return false;
    }
  }

  /** Dead-letters a message and terminates it; if the DLQ is unreachable the message stays unacked and comes back. */
  private async reject(msg: JsMsg, reason: string): Promise<void> {
    try {
      await deadLetter(this.deps.messaging.js, msg, this.spec.durable, reason);
      // nats-server 2.9 ignores a TERM that carries a reason; the reason travels in the DLQ headers.
      msg.term();
      this.log.error({ subject: msg.subject, seq: msg.info.streamSequence, reason }, 'event dead-lettered');
    } catch (error) {
      this.log.error({ err: error, subject: msg.subject }, 'cannot dead-letter event; it will be redelivered');
    }
  }
}

/** Deletes inbox rows older than `retentionMs` (far beyond JetStream's duplicate window), in small batches. */
export function pruneInbox(db: Db, retentionMs: number): Promise<number> {
  return pruneOlderThan(db, 'inbox', 'received_at', Date.now() - retentionMs);
}
