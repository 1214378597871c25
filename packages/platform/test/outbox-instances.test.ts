import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JetStreamClient } from '@nats-io/jetstream';
import { EventType, Stream, Subject, type OrderStatusCommand } from '@shopflow/contracts';
import { NatsServer, createDatabase, dropDatabase, waitFor } from '@shopflow/devkit';
import { openDatabase, type Db } from '@shopflow/platform/db';
import { createLogger } from '@shopflow/platform/logger';
import { Outbox, connectMessaging, ensureStreams, messagingMigrations, type Messaging } from '@shopflow/platform/messaging';

const logger = createLogger('test', 'silent');

describe('two relay instances sharing one PostgreSQL outbox', () => {
  let nats: NatsServer;
  let url: string;
  let db: Db;
  let messaging: Messaging;

  beforeAll(async () => {
    nats = await NatsServer.start();
    url = await createDatabase('shopflow_outbox');
    db = await openDatabase(url);
    await db.migrate(messagingMigrations);
    messaging = await connectMessaging(nats.url, 'outbox-test', logger);
    await ensureStreams(messaging.jsm, [Stream.Saga], { maxBytes: 64 * 1024 * 1024 });
  });
  afterAll(async () => {
    await messaging?.close();
    await db?.close();
    if (url) await dropDatabase(url);
    await nats?.stop({ removeStore: true });
  });

  it('publish every row exactly once between them, each order’s events in the order they were written', async () => {
    // Each instance publishes through the real client and notes what it sent.
    const published: string[] = [];
    const perInstance = [0, 0];
    const recording = (instance: number): JetStreamClient =>
      new Proxy(messaging.js, {
        get(target, prop, receiver) {
          if (prop !== 'publish') return Reflect.get(target, prop, receiver) as unknown;
          return (subject: string, data: string, opts: { msgID: string }) => {
            published.push(opts.msgID);
            perInstance[instance]!++;
            return target.publish(subject, data, opts);
          };
        },
      });
    const relays = [
      new Outbox(db, recording(0), logger, { batchSize: 16 }),
      new Outbox(db, recording(1), logger, { batchSize: 16 }),
    ];

    const orders = Array.from({ length: 20 }, () => randomUUID());
    const written: Record<string, string[]> = Object.fromEntries(orders.map((o) => [o, []]));
    for (let round = 0; round < 15; round++) {
      await db.transaction(async (tx) => {
        for (const orderId of orders) {
          const event: OrderStatusCommand = {
            event_id: randomUUID(),
            event_type: EventType.OrderStatusRequested,
            order_id: orderId,
            status: 'CONFIRMED',
            occurred_at: new Date().toISOString(),
          };
          written[orderId]!.push(event.event_id);
          await relays[round % 2]!.enqueue(tx, Subject.OrderStatusCommand, event);
        }
      });
    }
    for (const r of relays) r.start();
    await waitFor('both relays to empty the outbox', async () => (await relays[0]!.pending()) === 0, { timeoutMs: 30_000 });
    for (const r of relays) await r.stop();

    expect(perInstance.every((n) => n > 0)).toBe(true); // both really took part
    expect(published).toHaveLength(300);
    expect(new Set(published).size).toBe(300);
    const info = await messaging.jsm.streams.info(Stream.Saga.name);
    const inStream: Record<string, string[]> = {};
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await messaging.jsm.streams.getMessage(Stream.Saga.name, { seq });
      const e = m!.json<OrderStatusCommand>();
      (inStream[e.order_id] ??= []).push(e.event_id);
    }
    for (const orderId of orders) expect(inStream[orderId]).toEqual(written[orderId]);
  });
});
