import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckPolicy } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { type SERVICE_EVENTS, Stream, Subject } from '@shopflow/contracts';
import { createLogger } from '@shopflow/platform/logger';
import {
  connectMessaging,
  deadLetter,
  ensureStreams,
  listDeadLetters,
  replayDeadLetter,
  type Messaging,
} from '@shopflow/platform/messaging';
import { durableName } from '@shopflow/platform/service';
import { createNatsUsers, serviceStreams, type NatsUsers } from './nats-auth.js';
import { NatsServer } from './nats-server.js';

const logger = createLogger('test', 'silent');
const payload = new TextEncoder().encode('{}');

describe('a nats-server started with a user per service', () => {
  let nats: NatsServer;
  let users: NatsUsers;
  const opened: Messaging[] = [];

  /** Connects as a service and creates its streams, as the service does at start-up. */
  async function connectAs(service: keyof typeof SERVICE_EVENTS): Promise<Messaging> {
    const messaging = await connectMessaging(nats.url, `test-${service}`, logger, users.services[service]);
    opened.push(messaging);
    await ensureStreams(messaging.jsm, serviceStreams(service), { maxBytes: 64 * 1024 * 1024 });
    return messaging;
  }

  beforeAll(async () => {
    users = createNatsUsers();
    nats = await NatsServer.start({ users });
  });

  afterAll(async () => {
    for (const m of opened) await m.close();
    await nats.stop({ removeStore: true });
  });

  it('refuses a client without credentials, or with a wrong password', async () => {
    await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow(/authorization violation/i);
    await expect(connect({ servers: nats.url, reconnect: false, user: 'order', pass: 'guess' })).rejects.toThrow(
      /authorization violation/i,
    );
  });

  it("lets the order service publish its events but not the saga's commands", async () => {
    const order = await connectAs('order');
    const ack = await order.js.publish(Subject.OrderCreated, payload);
    expect(ack.stream).toBe(Stream.Orders.name);

    await expect(order.js.publish(Subject.OrderStatusCommand, payload)).rejects.toThrow(
      `Permissions Violation for Publish to "${Subject.OrderStatusCommand}"`,
    );
    const admin = await connectMessaging(nats.url, 'test-admin', logger, users.admin);
    opened.push(admin);
    expect((await admin.jsm.streams.info(Stream.Saga.name)).state.messages).toBe(0);
    // Nor may it reach into JetStream beyond its own streams and durables.
    await expect(order.jsm.streams.delete(Stream.Orders.name)).rejects.toThrow(/permissions violation/i);
  });

  it('lets the saga publish its commands', async () => {
    const saga = await connectAs('saga');
    const ack = await saga.js.publish(Subject.OrderStatusCommand, payload);
    expect(ack.stream).toBe(Stream.Saga.name);
  });

  it('lets a consumer create its own durable, pull and ack, but not a durable of its choosing', async () => {
    const notification = await connectAs('notification');
    const durable = durableName('notification', Subject.OrderCompleted);
    await notification.jsm.consumers.add(Stream.Orders.name, {
      durable_name: durable,
      filter_subject: Subject.OrderCompleted,
      ack_policy: AckPolicy.Explicit,
    });
    await connectAs('order').then((o) => o.js.publish(Subject.OrderCompleted, payload));
    const consumer = await notification.js.consumers.get(Stream.Orders.name, durable);
    const msg = await consumer.next({ expires: 5000 });
    expect(msg?.subject).toBe(Subject.OrderCompleted);
    expect(await msg!.ackAck()).toBe(true);

    await expect(
      notification.jsm.consumers.add(Stream.Orders.name, {
        durable_name: 'snoop',
        filter_subject: Subject.OrderCreated,
        ack_policy: AckPolicy.Explicit,
      }),
    ).rejects.toThrow(/permissions violation/i);
  });

  it('lets the saga, which serves the DLQ, read a dead letter and replay it; the others may not', async () => {
    // A notification gives up on an event, as its consumer does.
    const notification = await connectAs('notification');
    const durable = durableName('notification', Subject.OrderFailed);
    await notification.jsm.consumers.add(Stream.Orders.name, {
      durable_name: durable,
      filter_subject: Subject.OrderFailed,
      ack_policy: AckPolicy.Explicit,
    });
    await connectAs('order').then((o) => o.js.publish(Subject.OrderFailed, payload));
    const msg = await (await notification.js.consumers.get(Stream.Orders.name, durable)).next({ expires: 5000 });
    await deadLetter(notification.js, msg!, durable, 'poison');
    expect(await msg!.ackAck()).toBe(true);

    const saga = await connectAs('saga');
    const [letter] = await listDeadLetters(saga.jsm);
    expect(letter).toMatchObject({ subject: Subject.OrderFailed, consumer: durable, reason: 'poison', payload: '{}' });
    await expect(notification.jsm.streams.getMessage(Stream.DeadLetter.name, { seq: letter!.seq })).rejects.toThrow(
      /permissions violation/i,
    );

    await replayDeadLetter(saga.js, saga.jsm, letter!.seq);
    expect(await listDeadLetters(saga.jsm)).toEqual([]);
    // Back on its own subject: the durable that gave up gets it again.
    const again = await (await notification.js.consumers.get(Stream.Orders.name, durable)).next({ expires: 5000 });
    expect(again?.subject).toBe(Subject.OrderFailed);
    expect(again?.string()).toBe('{}');
  });
});
