import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headers } from '@nats-io/nats-core';
import { EventType, Stream, Subject, type OrderStatusCommand } from '@shopflow/contracts';
import { NatsServer, createDatabase, dropDatabase, waitFor } from '@shopflow/devkit';
import { openDatabase, type Db } from '@shopflow/platform/db';
import { createLogger } from '@shopflow/platform/logger';
import {
  EventConsumer,
  Outbox,
  connectMessaging,
  ensureStreams,
  listDeadLetters,
  messagingMigrations,
  replayDeadLetter,
  replayDeadLetters,
  type Messaging,
} from '@shopflow/platform/messaging';

const logger = createLogger('test', 'silent');
const migrations = [
  ...messagingMigrations,
  { id: '100_applied', sql: 'CREATE TABLE applied (event_id TEXT PRIMARY KEY, order_id TEXT NOT NULL, status TEXT NOT NULL)' },
];

function command(orderId: string, status: OrderStatusCommand['status'] = 'CONFIRMED'): OrderStatusCommand {
  return {
    event_id: randomUUID(),
    event_type: EventType.OrderStatusRequested,
    order_id: orderId,
    status,
    occurred_at: new Date().toISOString(),
  };
}

describe.each(['sqlite', 'postgres'] as const)('outbox, relay and inbox on %s', (dialect) => {
  let nats: NatsServer;
  let db: Db;
  let messaging: Messaging;
  let url: string;
  let outbox: Outbox;
  let consumer: EventConsumer<typeof Subject.OrderStatusCommand>;
  let failNext = 0;
  const durable = `test-${dialect}`;

  beforeAll(async () => {
    nats = await NatsServer.start();
    url =
      dialect === 'postgres'
        ? await createDatabase('shopflow_platform')
        : `sqlite:${path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sf-')), 'test.db')}`;
    db = await openDatabase(url);
    await db.migrate(migrations);
    messaging = await connectMessaging(nats.url, 'test', logger);
    await ensureStreams(messaging.jsm, [Stream.Saga, Stream.DeadLetter], { maxBytes: 64 * 1024 * 1024 });
    outbox = new Outbox(db, messaging.js, logger);
    outbox.start();
    consumer = new EventConsumer(
      { messaging, db, logger, ackWaitMs: 2000, maxDeliver: 3 },
      {
        stream: Stream.Saga,
        subject: Subject.OrderStatusCommand,
        durable,
        handle: async (tx, event) => {
          if (event.order_id.startsWith('poison') || (event.order_id.startsWith('flaky') && failNext-- > 0)) {
            throw new Error(`cannot apply ${event.order_id}`);
          }
          await tx.execute('INSERT INTO applied (event_id, order_id, status) VALUES ($1, $2, $3)', [
            event.event_id,
            event.order_id,
            event.status,
          ]);
        },
      },
    );
    await consumer.start();
  });

  afterAll(async () => {
    await consumer?.stop();
    await outbox?.stop();
    await messaging?.close();
    await db?.close();
    if (dialect === 'postgres') await dropDatabase(url);
    await nats?.stop({ removeStore: true });
  });

  const appliedCount = async (prefix: string) =>
    Number((await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM applied WHERE order_id LIKE $1', [`${prefix}%`]))[0]!.n);

  it('publishes committed events once, applies each once, and leaves the outbox empty', async () => {
    const prefix = `bulk-${dialect}-`;
    await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        db.transaction(async (tx) => outbox.enqueue(tx, Subject.OrderStatusCommand, command(`${prefix}${i % 50}`))),
      ),
    );
    await waitFor('500 applied events', async () => (await appliedCount(prefix)) === 500);
    expect(await outbox.pending()).toBe(0);
  });

  it('publishes nothing for a rolled back transaction', async () => {
    const prefix = `rolledback-${dialect}-`;
    await expect(
      db.transaction(async (tx) => {
        await outbox.enqueue(tx, Subject.OrderStatusCommand, command(`${prefix}1`));
        throw new Error('business rule says no');
      }),
    ).rejects.toThrow('business rule says no');
    expect(await outbox.pending()).toBe(0);
    // A later event on the same consumer arrives, so the rolled back one had its chance to show up.
    await db.transaction(async (tx) => outbox.enqueue(tx, Subject.OrderStatusCommand, command(`${prefix}after`)));
    await waitFor('the later event', async () => (await appliedCount(`${prefix}after`)) === 1);
    expect(await appliedCount(`${prefix}1`)).toBe(0);
  });

  it('ignores an event published again under a new Nats-Msg-Id (inbox)', async () => {
    const event = command(`dup-${dialect}`);
    for (let i = 0; i < 3; i++) {
      const h = headers();
      await messaging.js.publish(Subject.OrderStatusCommand, JSON.stringify(event), {
        msgID: `${event.event_id}-${i}`,
        headers: h,
      });
    }
    await db.transaction(async (tx) => outbox.enqueue(tx, Subject.OrderStatusCommand, command(`dup-${dialect}-marker`)));
    await waitFor('the marker event', async () => (await appliedCount(`dup-${dialect}-marker`)) === 1);
    expect(await appliedCount(`dup-${dialect}`)).toBe(2); // the event once, plus the marker
  });

  it('retries a failing event and applies it when it heals', async () => {
    failNext = 2;
    await db.transaction(async (tx) => outbox.enqueue(tx, Subject.OrderStatusCommand, command(`flaky-${dialect}`)));
    await waitFor('the flaky event', async () => (await appliedCount(`flaky-${dialect}`)) === 1, { timeoutMs: 20_000 });
  });

  it('dead-letters invalid payloads and events that keep failing, and replays them', async () => {
    await messaging.js.publish(Subject.OrderStatusCommand, '{"not":"a command"}', { msgID: randomUUID() });
    await messaging.js.publish(Subject.OrderStatusCommand, 'not json', { msgID: randomUUID() });
    const poison = command(`poison-${dialect}`);
    await db.transaction(async (tx) => outbox.enqueue(tx, Subject.OrderStatusCommand, poison));
    const mine = async () => (await listDeadLetters(messaging.jsm)).filter((d) => d.consumer === durable);
    const letters = await waitFor(
      'three dead letters',
      async () => {
        const l = await mine();
        return l.length === 3 && l;
      },
      { timeoutMs: 30_000 },
    );
    expect(letters.map((l) => l.reason).join('\n')).toMatch(/does not match saga.order-status/);
    expect(letters.map((l) => l.reason).join('\n')).toMatch(/not JSON/);
    const poisoned = letters.find((l) => l.payload.includes(poison.event_id))!;
    expect(poisoned.reason).toMatch(/failed 3 deliveries: cannot apply poison/);
    expect(poisoned.deliveries).toBe(3);

    // Replaying a letter publishes it again; here it is still poison, so it comes back to the DLQ.
    await replayDeadLetter(messaging.js, messaging.jsm, poisoned.seq);
    await waitFor(
      'the replayed letter to return',
      async () => {
        const l = await mine();
        return l.length === 3 && !l.some((x) => x.seq === poisoned.seq);
      },
      { timeoutMs: 30_000 },
    );
  });

  it('replays the dead letters a filter picks, in bulk, and keeps dead letters until replayed', async () => {
    const prefix = `flaky-bulk-${dialect}`;
    // Both fail every delivery (3 each, however they are batched) until dead-lettered.
    failNext = 1_000;
    const events = [command(`${prefix}-1`), command(`${prefix}-2`)];
    await db.transaction(async (tx) => {
      for (const e of events) await outbox.enqueue(tx, Subject.OrderStatusCommand, e);
    });
    await waitFor(
      'both dead-lettered',
      async () => (await listDeadLetters(messaging.jsm)).filter((d) => d.reason.includes(`cannot apply ${prefix}`)).length === 2,
      { timeoutMs: 30_000 },
    );
    failNext = 0;
    const before = (await listDeadLetters(messaging.jsm)).length;
    const replayed = await replayDeadLetters(messaging.js, messaging.jsm, {
      consumer: durable,
      subject: Subject.OrderStatusCommand,
      reasonContains: `cannot apply ${prefix}`,
    });
    expect(replayed).toHaveLength(2);
    expect((await listDeadLetters(messaging.jsm)).length).toBe(before - 2);
    await waitFor('both applied', async () => (await appliedCount(prefix)) === 2);
    // Dead letters wait for an operator: the DLQ has no age limit, unlike the event streams.
    expect((await messaging.jsm.streams.info(Stream.DeadLetter.name)).config.max_age).toBe(0);
  });
});
