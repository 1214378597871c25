import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventType, Stream, Subject, type OrderTerminalEvent } from '@shopflow/contracts';
import { NatsServer, startTestService, waitFor, type TestService } from '@shopflow/devkit';
import type { Db } from '@shopflow/platform/db';
import { listDeadLetters, type Messaging } from '@shopflow/platform/messaging';
import { durableName } from '@shopflow/platform/service';
import type { NotificationApp } from '../src/app.js';
import { createNotificationService } from '../src/service.js';
import { SUBJECT_OF, terminal } from './events.js';
import type { NotificationView } from '@shopflow/contracts/api';

interface LogLine {
  level: number;
  msg: string;
  order_id?: string;
  customer_id?: string;
  channel?: string;
  via?: string;
}

describe.each(['postgres', 'sqlite'] as const)('notification service on %s', (dialect) => {
  let nats: NatsServer;
  let service: TestService<NotificationApp>;
  let db: Db;
  let messaging: Messaging;
  let base: string;
  const logs: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const customer = (name: string) => `${name}-${dialect}-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    nats = await NatsServer.start();
    // No SMTP_URL: notifications go to the log, the default.
    service = await startTestService(createNotificationService({}), {
      dialect,
      natsUrl: nats.url,
      logger,
      config: { ackWaitMs: 2000, maxDeliver: 3 },
    });
    db = service.db!;
    messaging = service.messaging!;
    base = service.address;
  });

  afterAll(async () => {
    await service?.stop();
    await nats?.stop({ removeStore: true });
  });

  /** Publishes an event on its subject; the Nats-Msg-Id defaults to the event id, as the outbox sends it. */
  async function publish(event: OrderTerminalEvent, msgID = event.event_id): Promise<number> {
    const ack = await messaging.js.publish(SUBJECT_OF[event.status], JSON.stringify(event), { msgID });
    expect(ack.duplicate).toBe(false);
    return ack.seq;
  }

  /** Waits until the consumer of `subject` has acked everything up to stream sequence `seq`: the event was applied or dead-lettered. */
  async function settled(subject: Subject, seq: number): Promise<void> {
    const durable = durableName('notification', subject);
    await waitFor(`${durable} to ack stream sequence ${seq}`, async () => {
      const info = await messaging.jsm.consumers.info(Stream.Orders.name, durable);
      return info.ack_floor.stream_seq >= seq;
    });
  }

  async function list(customerId: string, query = ''): Promise<NotificationView[]> {
    const res = await fetch(`${base}/notifications?customer_id=${encodeURIComponent(customerId)}${query}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { notifications: NotificationView[] }).notifications;
  }

  const rowsFor = async (orderId: string) =>
    Number((await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM notifications WHERE order_id = $1', [orderId]))[0]!.n);
  const sentFor = (orderId: string) => logs.filter((l) => l.msg === 'notification sent' && l.order_id === orderId);

  it('records and sends one notification per terminal order, worded for its outcome', async () => {
    const c = customer('outcomes');
    const done = terminal('COMPLETED', `o-done-${randomUUID()}`, c);
    const cancelled = terminal('CANCELLED', `o-cancel-${randomUUID()}`, c, 'payment declined');
    const failed = terminal('FAILED', `o-fail-${randomUUID()}`, c, 'payment service unreachable');
    for (const e of [done, cancelled, failed]) await publish(e);

    // Sending happens after the commit: once all three are sent, nothing about them changes any more.
    const found = await waitFor('three sent notifications', async () => {
      const l = await list(c);
      return l.length === 3 && l.every((n) => n.delivery.status === 'SENT') && l;
    });
    const byOrder = new Map(found.map((n) => [n.order_id, n]));
    expect(byOrder.get(done.order_id)).toMatchObject({
      customer_id: c,
      kind: 'ORDER_COMPLETED',
      order_status: 'COMPLETED',
      channel: 'email',
      message: `Your order ${done.order_id} for 2 × PROD001 is complete (99.99).`,
    });
    expect(byOrder.get(cancelled.order_id)).toMatchObject({
      kind: 'ORDER_CANCELLED',
      order_status: 'CANCELLED',
      message: `Your order ${cancelled.order_id} for 2 × PROD001 was cancelled: payment declined.`,
    });
    expect(byOrder.get(failed.order_id)).toMatchObject({
      kind: 'ORDER_FAILED',
      order_status: 'FAILED',
      message: `Your order ${failed.order_id} for 2 × PROD001 could not be completed: payment service unreachable.`,
    });

    for (const n of found) expect(n.delivery).toEqual({ status: 'SENT', attempts: 1, sent_at: expect.any(String) });

    const one = found[0]!;
    const res = await fetch(`${base}/notifications/${one.id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(one);

    // Without SMTP_URL, sending is one log line per order: the seed's simulated delivery.
    for (const e of [done, cancelled, failed]) {
      expect(sentFor(e.order_id)).toEqual([
        expect.objectContaining({ level: 30, order_id: e.order_id, customer_id: c, channel: 'email', via: 'log' }),
      ]);
    }
  });

  it('records one notification when the same event is published twice', async () => {
    const event = terminal('COMPLETED', `o-dup-${randomUUID()}`, customer('dup'));
    await publish(event, `${event.event_id}-first`);
    const seq = await publish(event, `${event.event_id}-again`);
    await settled(Subject.OrderCompleted, seq);

    expect(await rowsFor(event.order_id)).toBe(1);
    await waitFor('the send', () => sentFor(event.order_id).length > 0);
    expect(sentFor(event.order_id)).toHaveLength(1);
    // A repeat of the same outcome is expected traffic, not a contradiction worth a warning.
    expect(logs.filter((l) => l.level >= 40 && l.order_id === event.order_id)).toEqual([]);
  });

  it('keeps the first notification when a different terminal event arrives for the same order, and warns', async () => {
    const c = customer('conflict');
    const orderId = `o-conflict-${randomUUID()}`;
    await settled(Subject.OrderCompleted, await publish(terminal('COMPLETED', orderId, c)));
    const late = terminal('CANCELLED', orderId, c, 'too late');
    await settled(Subject.OrderCancelled, await publish(late));

    const warning = logs.find((l) => l.level === 40 && l.order_id === orderId);
    expect(warning).toMatchObject({ kept: 'ORDER_COMPLETED', ignored: 'ORDER_CANCELLED', event_id: late.event_id });
    const found = await list(c);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ order_id: orderId, kind: 'ORDER_COMPLETED' });
    await waitFor('the send', () => sentFor(orderId).length > 0);
    expect(sentFor(orderId)).toHaveLength(1);
  });

  it('dead-letters an invalid payload and records nothing', async () => {
    const c = customer('invalid');
    const orderId = `o-invalid-${randomUUID()}`;
    await messaging.js.publish(
      Subject.OrderFailed,
      JSON.stringify({ event_type: EventType.OrderFailed, order_id: orderId, customer_id: c, status: 'FAILED' }),
      { msgID: randomUUID() },
    );

    const letters = await waitFor('the dead letter', async () => {
      const l = (await listDeadLetters(messaging.jsm)).filter((d) => d.payload.includes(orderId));
      return l.length > 0 && l;
    });
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ consumer: 'notification-orders-failed', subject: Subject.OrderFailed });
    expect(letters[0]!.reason).toMatch(/does not match orders\.failed/);
    expect(await rowsFor(orderId)).toBe(0);
    expect(await list(c)).toEqual([]);
  });

  it("lists only the customer's notifications, newest first, up to the limit", async () => {
    const alice = customer('alice');
    const bob = customer('bob');
    const aliceOrders = [`o-a1-${randomUUID()}`, `o-a2-${randomUUID()}`];
    // One at a time, so the two notifications get different times.
    for (const orderId of aliceOrders) {
      await settled(Subject.OrderCompleted, await publish(terminal('COMPLETED', orderId, alice)));
    }
    await settled(Subject.OrderCancelled, await publish(terminal('CANCELLED', `o-b1-${randomUUID()}`, bob)));

    expect((await list(alice)).map((n) => n.order_id)).toEqual([...aliceOrders].reverse());
    expect((await list(bob)).map((n) => n.customer_id)).toEqual([bob]);
    expect((await list(alice, '&limit=1')).map((n) => n.order_id)).toEqual([aliceOrders[1]]);
    expect(await list(customer('nobody'))).toEqual([]);
  });

  it('answers 400 problem+json naming customer_id when it is missing, and for a bad limit', async () => {
    const missing = await fetch(`${base}/notifications`);
    expect(missing.status).toBe(400);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await missing.json()).toMatchObject({ status: 400, errors: [{ field: 'customer_id', reason: 'is required' }] });

    const badLimit = await fetch(`${base}/notifications?customer_id=c-1&limit=ten`);
    expect(badLimit.status).toBe(400);
    expect(((await badLimit.json()) as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual(['limit']);
  });

  describe('ownership and pages', () => {
    const as = (subject: string, role = 'customer') => ({ 'x-shopflow-subject': subject, 'x-shopflow-role': role });
    const read = async (p: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${base}${p}`, { headers });
      return { status: res.status, body: (await res.json()) as any };
    };

    it("shows a customer its own notifications only: another's list is 403, another's notification 404", async () => {
      const [alice, bob] = [customer('alice'), customer('bob')];
      await settled(Subject.OrderCompleted, await publish(terminal('COMPLETED', `o-${randomUUID()}`, alice)));
      // Once sent, the notification no longer changes, so two reads of it can be compared.
      const own = await waitFor('the notification to be sent', async () => {
        const r = await read('/notifications', as(alice));
        return r.body.notifications?.[0]?.delivery.status === 'SENT' && r;
      });
      expect(own.status).toBe(200);
      expect(own.body.notifications).toHaveLength(1);
      const id = own.body.notifications[0].id as string;
      expect((await read(`/notifications?customer_id=${alice}`, as(alice))).body.notifications).toEqual(own.body.notifications);
      expect((await read(`/notifications?customer_id=${alice}`, as(bob))).status).toBe(403);
      expect(await read(`/notifications/${id}`, as(bob))).toMatchObject({
        status: 404,
        body: { detail: `notification ${id} not found` },
      });
      expect((await read(`/notifications/${id}`, as(alice))).body.customer_id).toBe(alice);
      expect((await read(`/notifications/${id}`, as('ops', 'admin'))).status).toBe(200);
      expect((await read(`/notifications?customer_id=${alice}`, as('ops', 'admin'))).body.notifications).toHaveLength(1);
      expect((await read('/notifications', as('ops', 'admin'))).status).toBe(400);
    });

    it('walks all of a long list a page at a time, without duplicates or gaps, saying when it ends', async () => {
      const c = customer('many');
      const orderIds = Array.from({ length: 105 }, () => `o-${randomUUID()}`);
      const seqs = await Promise.all(orderIds.map((o) => publish(terminal('COMPLETED', o, c))));
      await settled(Subject.OrderCompleted, Math.max(...seqs));
      // The default page is 100: the rest is one cursor away, no longer cut off silently.
      const first = await read(`/notifications?customer_id=${c}`);
      expect(first.body.notifications).toHaveLength(100);
      expect(first.body.next_cursor).toEqual(expect.any(String));
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await read(`/notifications?customer_id=${c}&limit=10${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.status).toBe(200);
        seen.push(...page.body.notifications.map((n: NotificationView) => n.order_id));
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(seen).toHaveLength(105);
      expect([...seen].sort()).toEqual([...orderIds].sort());
    });
  });

  it('answers 404 problem+json for an unknown notification', async () => {
    const res = await fetch(`${base}/notifications/${randomUUID()}`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({ status: 404, type: 'urn:shopflow:problem:not-found' });
  });

  it('is ready with its database and NATS', async () => {
    const res = await fetch(`${base}/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ready', checks: { database: 'ok', nats: 'ok' } });
  });
});
