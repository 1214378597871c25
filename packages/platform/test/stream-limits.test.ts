import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckPolicy, DiscardPolicy, StorageType } from '@nats-io/jetstream';
import { EventType, Stream, Subject, type OrderStatusCommand } from '@shopflow/contracts';
import { NatsServer, waitFor } from '@shopflow/devkit';
import { openDatabase, type Db } from '@shopflow/platform/db';
import { createHttpServer, type HttpServer } from '@shopflow/platform/http';
import { createLogger } from '@shopflow/platform/logger';
import {
  EventConsumer,
  Outbox,
  StreamGuard,
  connectMessaging,
  ensureStreams,
  listDeadLetters,
  messagingMigrations,
  type Messaging,
} from '@shopflow/platform/messaging';

const logger = createLogger('test', 'silent');
const KiB = 1024;

function command(): OrderStatusCommand {
  return {
    event_id: randomUUID(),
    event_type: EventType.OrderStatusRequested,
    order_id: randomUUID(),
    status: 'CONFIRMED',
    occurred_at: new Date().toISOString(),
  };
}

async function readiness(http: HttpServer): Promise<{ status: number; streams: string }> {
  const res = await http.inject({ method: 'GET', url: '/ready' });
  return { status: res.statusCode, streams: res.json<{ checks: Record<string, string> }>().checks.streams ?? '' };
}

describe('a stream at its max_bytes', () => {
  let nats: NatsServer;
  let db: Db;
  let messaging: Messaging;

  beforeAll(async () => {
    nats = await NatsServer.start({ maxFileStore: 4 * 1024 * KiB });
    db = await openDatabase(`sqlite:${path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sf-full-')), 'test.db')}`);
    await db.migrate(messagingMigrations);
    messaging = await connectMessaging(nats.url, 'stream-limits-test', logger);
  });
  afterAll(async () => {
    await messaging?.close();
    await db?.close();
    await nats?.stop({ removeStore: true });
  });

  it('refuses publishes, which wait in the outbox and /ready names, and loses none once consumers free the room', async () => {
    const { jsm, js } = messaging;
    await ensureStreams(jsm, [Stream.Saga], { maxBytes: 16 * KiB });
    await jsm.consumers.add(Stream.Saga.name, {
      durable_name: 'reader',
      filter_subject: Subject.OrderStatusCommand,
      ack_policy: AckPolicy.Explicit,
    });
    // A consumer whose subject never comes must not keep acknowledged events from being purged.
    await jsm.consumers.add(Stream.Saga.name, {
      durable_name: 'idle',
      filter_subject: 'saga.nothing',
      ack_policy: AckPolicy.Explicit,
    });
    const outbox = new Outbox(db, js, logger);
    const guard = new StreamGuard(jsm, [Stream.Saga], logger, { outbox, intervalMs: 100 });
    const http = await createHttpServer({
      service: 'test',
      logger,
      checks: [{ name: 'streams', critical: false, check: () => guard.assertRoom() }],
    });
    outbox.start();
    guard.start();
    try {
      const written = Array.from({ length: 120 }, command);
      for (const event of written) {
        await db.transaction(async (tx) => outbox.enqueue(tx, Subject.OrderStatusCommand, event));
      }

      const full = await waitFor('the stream full and the rest held in the outbox', async () => {
        const [{ state }, held, ready] = await Promise.all([
          jsm.streams.info(Stream.Saga.name),
          outbox.pending(),
          readiness(http),
        ]);
        return state.messages + held === written.length && ready.streams.includes('SAGA is full') && { state, held, ready };
      });
      expect(full.held).toBeGreaterThan(0);
      expect(full.state.bytes).toBeLessThanOrEqual(16 * KiB);
      expect(full.ready.status).toBe(200); // not critical: the service still takes writes into its outbox
      expect(full.ready.streams).toContain(`${full.held} events wait in the outbox`);

      // The consumer catches up; the guard purges what it acknowledged and the relay publishes the rest.
      const reader = await js.consumers.get(Stream.Saga.name, 'reader');
      const received = new Set<string>();
      await waitFor(
        'every written event delivered',
        async () => {
          for await (const m of await reader.fetch({ max_messages: 50, expires: 1000 })) {
            received.add(m.json<OrderStatusCommand>().event_id);
            m.ack();
          }
          return received.size === written.length;
        },
        { timeoutMs: 30_000, intervalMs: 10 },
      );
      expect([...received].sort()).toEqual(written.map((e) => e.event_id).sort());
      expect(await outbox.pending()).toBe(0);
      await guard.inspect();
      expect(await readiness(http)).toEqual({ status: 200, streams: 'ok' });
    } finally {
      await guard.stop();
      await outbox.stop();
      await http.close();
    }
  });

  it('keeps a poison event in its stream while the DLQ is full, says so in the streams check, and dead-letters it once there is room', async () => {
    const { jsm, js } = messaging;
    await ensureStreams(jsm, [Stream.Payments], { maxBytes: 64 * KiB });
    await ensureStreams(jsm, [Stream.DeadLetter], { maxBytes: 8 * KiB });
    // Big fillers, then tiny ones, until not even a tiny one fits.
    for (const size of [512, 1]) {
      for (;;) {
        const refused = await js.publish('dlq.filler', 'x'.repeat(size)).then(
          () => undefined,
          (error: unknown) => (error instanceof Error ? error.message : 'not an Error'),
        );
        if (refused !== undefined) {
          expect(refused).toBe('maximum bytes exceeded');
          break;
        }
      }
    }
    const guard = new StreamGuard(jsm, [Stream.Payments, Stream.DeadLetter], logger);
    const consumer = new EventConsumer(
      { messaging, db, logger, ackWaitMs: 1000, maxDeliver: 3 },
      { stream: Stream.Payments, subject: Subject.PaymentSucceeded, durable: 'poison-reader', handle: () => Promise.resolve() },
    );
    await consumer.start();
    try {
      await guard.inspect();
      await expect(guard.assertRoom()).rejects.toThrow(/DLQ is full .*poison events stay unacknowledged/);

      await js.publish(Subject.PaymentSucceeded, '{"not":"an event"}');
      // Redelivered (not terminated) while the DLQ has no room: still pending on the consumer.
      await waitFor('a second delivery of the poison event', async () => {
        const info = await jsm.consumers.info(Stream.Payments.name, 'poison-reader');
        return info.num_redelivered > 0 && info.num_ack_pending === 1;
      });
      expect(await listDeadLetters(jsm)).not.toContainEqual(expect.objectContaining({ subject: Subject.PaymentSucceeded }));

      await jsm.streams.purge(Stream.DeadLetter.name);
      await waitFor('the poison event dead-lettered', async () =>
        (await listDeadLetters(jsm)).some((l) => l.subject === Subject.PaymentSucceeded),
      );
      await guard.inspect();
      await expect(guard.assertRoom()).resolves.toBeUndefined();
    } finally {
      await consumer.stop();
    }
  });
});

describe('ensureStreams on streams that exist', () => {
  let nats: NatsServer;
  let messaging: Messaging;

  beforeAll(async () => {
    nats = await NatsServer.start({ maxFileStore: 1024 * KiB });
    messaging = await connectMessaging(nats.url, 'ensure-streams-test', logger);
  });
  afterAll(async () => {
    await messaging?.close();
    await nats?.stop({ removeStore: true });
  });

  it('gives an unlimited stream the limit and DiscardNew, but never deletes what it already holds', async () => {
    const { jsm, js } = messaging;
    // As ensureStreams created streams before they had limits.
    await jsm.streams.add({ name: Stream.Orders.name, subjects: [...Stream.Orders.subjects], storage: StorageType.File });
    for (let i = 0; i < 40; i++) await js.publish('orders.created', 'x'.repeat(1000));
    const before = await jsm.streams.info(Stream.Orders.name);

    await ensureStreams(jsm, [Stream.Orders], { maxBytes: 16 * KiB });
    const held = await jsm.streams.info(Stream.Orders.name);
    expect(held.state.messages).toBe(40);
    expect(held.config.max_bytes).toBeGreaterThanOrEqual(before.state.bytes);
    expect(held.config.discard).toBe(DiscardPolicy.New);
    expect(held.config.subjects).toEqual(Stream.Orders.subjects);

    // Once consumed and gone, the next start brings it down to the configured limit.
    await jsm.streams.purge(Stream.Orders.name);
    await ensureStreams(jsm, [Stream.Orders], { maxBytes: 16 * KiB });
    expect((await jsm.streams.info(Stream.Orders.name)).config.max_bytes).toBe(16 * KiB);
  });

  it('leaves a stream from before limits as it was when what it holds is more than NATS can reserve', async () => {
    const { jsm, js } = messaging;
    await jsm.streams.add({ name: Stream.Saga.name, subjects: [...Stream.Saga.subjects], storage: StorageType.File });
    await Promise.all(Array.from({ length: 950 }, () => js.publish(Subject.OrderStatusCommand, 'x'.repeat(1000))));

    await ensureStreams(jsm, [Stream.Saga], { maxBytes: 16 * KiB });
    const info = await jsm.streams.info(Stream.Saga.name);
    expect(info.state.messages).toBe(950);
    expect(info.config.max_bytes).toBe(-1);
    await jsm.streams.delete(Stream.Saga.name);
  });

  it('names the settings when NATS cannot reserve the limit', async () => {
    await expect(ensureStreams(messaging.jsm, [Stream.Payments], { maxBytes: 2048 * KiB })).rejects.toThrow(
      /NATS_STREAM_MAX_MB.*max_file_store/,
    );
  });
});
