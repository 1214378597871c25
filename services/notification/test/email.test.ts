import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Stream, type OrderTerminalEvent } from '@shopflow/contracts';
import type { NotificationView } from '@shopflow/contracts/api';
import {
  createTestDatabase,
  freePort,
  NatsServer,
  ServiceProcess,
  startTestService,
  waitFor,
  type TestService,
} from '@shopflow/devkit';
import { openDatabase } from '@shopflow/platform/db';
import { createLogger } from '@shopflow/platform/logger';
import { connectMessaging, type Messaging } from '@shopflow/platform/messaging';
import { durableName } from '@shopflow/platform/service';
import type { NotificationApp } from '../src/app.js';
import { migrations } from '../src/db/migrations.js';
import { createNotificationService } from '../src/service.js';
import { SUBJECT_OF, terminal } from './events.js';
import { Mailbox } from './mailbox.js';

interface LogLine {
  level: number;
  msg: string;
  order_id?: string;
  via?: string;
  message_id?: string;
  retry_in_ms?: number;
  attempts?: number;
}

/** Settings that keep the tests quick: retries after tens of milliseconds, three attempts at most. */
const fast = (mailbox: Mailbox, extra: Record<string, string> = {}): Record<string, string> => ({
  SMTP_URL: mailbox.url,
  NOTIFY_RETRY_BASE_MS: '20',
  NOTIFY_RETRY_MAX_MS: '100',
  NOTIFY_MAX_ATTEMPTS: '3',
  NOTIFY_SEND_TIMEOUT_MS: '3000',
  ...extra,
});

/** What a test needs to talk to a notification service: NATS to publish on, HTTP to read. */
function client(messaging: () => Messaging, base: () => string) {
  return {
    /** Publishes an event; the Nats-Msg-Id defaults to the event id, as the outbox sends it. */
    async publish(event: OrderTerminalEvent, msgID = event.event_id): Promise<number> {
      const ack = await messaging().js.publish(SUBJECT_OF[event.status], JSON.stringify(event), { msgID });
      expect(ack.duplicate).toBe(false);
      return ack.seq;
    },
    /** Waits until the consumer of the event's subject has acked stream sequence `seq`. */
    async settled(event: OrderTerminalEvent, seq: number): Promise<void> {
      const durable = durableName('notification', SUBJECT_OF[event.status]);
      await waitFor(`${durable} to ack stream sequence ${seq}`, async () => {
        const info = await messaging().jsm.consumers.info(Stream.Orders.name, durable);
        return info.ack_floor.stream_seq >= seq;
      });
    },
    /** The order's notification once its delivery is `status`. */
    async until(orderId: string, customerId: string, status: string, timeoutMs = 30_000): Promise<NotificationView> {
      return waitFor(
        `the notification of ${orderId} to be ${status}`,
        async () => {
          const res = await fetch(`${base()}/notifications?customer_id=${encodeURIComponent(customerId)}`);
          const found = ((await res.json()) as { notifications: NotificationView[] }).notifications.find(
            (n) => n.order_id === orderId,
          );
          return found?.delivery.status === status && found;
        },
        { timeoutMs },
      );
    },
  };
}

describe.each(['postgres', 'sqlite'] as const)('email notifications on %s', (dialect) => {
  let nats: NatsServer;
  let mailbox: Mailbox;
  let service: TestService<NotificationApp>;
  const logs: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const customer = (name: string) => `${name}-${dialect}-${randomUUID().slice(0, 8)}`;
  const api = client(
    () => service.messaging!,
    () => service.address,
  );

  beforeAll(async () => {
    nats = await NatsServer.start();
    mailbox = await Mailbox.start();
    service = await startTestService(createNotificationService(fast(mailbox)), { dialect, natsUrl: nats.url, logger });
  });

  afterAll(async () => {
    await service?.stop();
    await mailbox?.close();
    await nats?.stop({ removeStore: true });
  });

  it('emails the customer once per ended order, from SMTP_FROM, with the outcome, the reason and a Message-ID of its own', async () => {
    const c = customer('mail');
    const events = [
      terminal('COMPLETED', `o-done-${randomUUID()}`, c),
      terminal('CANCELLED', `o-cancel-${randomUUID()}`, c, 'payment declined'),
      terminal('FAILED', `o-fail-${randomUUID()}`, c, 'payment service unreachable.'),
    ];
    for (const e of events) await api.publish(e);
    const sent = await Promise.all(events.map((e) => api.until(e.order_id, c, 'SENT')));

    const expected = {
      COMPLETED: { subject: 'is complete', says: 'is complete (99.99).' },
      CANCELLED: { subject: 'was cancelled', says: 'was cancelled: payment declined.' },
      FAILED: { subject: 'could not be completed', says: 'could not be completed: payment service unreachable.' },
    };
    for (const [i, e] of events.entries()) {
      const n = sent[i]!;
      expect(n.delivery).toEqual({ status: 'SENT', attempts: 1, sent_at: expect.any(String) });
      const mails = mailbox.for(e.order_id);
      expect(mails).toHaveLength(1);
      const [m] = mails;
      expect(m).toMatchObject({
        verdict: 'accept',
        // The credentials of SMTP_URL were used: the server takes no mail without a login.
        user: 'shopflow',
        mailFrom: 'orders@shopflow.local',
        rcptTo: [`${c}@customers.example`],
        messageId: `<${n.id}@shopflow.local>`,
      });
      expect(m!.mail.from?.value).toEqual([{ address: 'orders@shopflow.local', name: 'Shopflow' }]);
      expect(m!.mail.to).toMatchObject({ value: [{ address: `${c}@customers.example` }] });
      expect(m!.mail.subject).toBe(`Your order ${e.order_id} ${expected[e.status].subject}`);
      expect(m!.mail.text).toContain(`Your order ${e.order_id} for 2 × PROD001 ${expected[e.status].says}`);
      expect(m!.mail.text).toContain(`Order: ${e.order_id}\nOutcome: ${e.status}`);
      expect(m!.mail.headers.get('auto-submitted')).toBe('auto-generated');
      expect(logs.filter((l) => l.msg === 'notification sent' && l.order_id === e.order_id)).toEqual([
        expect.objectContaining({ via: 'smtp', message_id: `<${n.id}@shopflow.local>` }),
      ]);
    }
  });

  it('retries a refused send with backoff and delivers it once, under the same Message-ID', async () => {
    const c = customer('retry');
    const event = terminal('COMPLETED', `o-retry-${randomUUID()}`, c);
    // Refused after the whole message was sent, twice, as a busy server does (451).
    mailbox.answer(event.order_id, (attempt) => (attempt <= 2 ? { code: 451, message: 'Try again later' } : 'accept'));
    await api.publish(event);

    const n = await api.until(event.order_id, c, 'SENT');
    expect(n.delivery).toMatchObject({ status: 'SENT', attempts: 3 });
    expect(mailbox.for(event.order_id).map((a) => a.verdict)).toEqual([
      { code: 451, message: 'Try again later' },
      { code: 451, message: 'Try again later' },
      'accept',
    ]);
    expect(new Set(mailbox.for(event.order_id).map((a) => a.messageId))).toEqual(new Set([`<${n.id}@shopflow.local>`]));
    const retries = logs.filter((l) => l.msg === 'notification not sent; will retry' && l.order_id === event.order_id);
    expect(retries.map((l) => l.attempts)).toEqual([1, 2]);
    for (const l of retries) expect(l.retry_in_ms).toEqual(expect.any(Number));
  });

  it('parks a notification as UNKNOWN, never to send it again, when the connection drops before the reply', async () => {
    const c = customer('drop');
    const event = terminal('COMPLETED', `o-drop-${randomUUID()}`, c);
    // The server may have stored it before it went away: a retry (nodemailer's own included) could be a second email.
    mailbox.answer(event.order_id, () => 'drop');
    await api.publish(event);

    expect((await api.until(event.order_id, c, 'UNKNOWN')).delivery).toEqual({ status: 'UNKNOWN', attempts: 1, sent_at: null });
    // Another order's email goes out after it: the sender has moved on, and this one arrived once.
    const next = terminal('COMPLETED', `o-after-drop-${randomUUID()}`, c);
    await api.publish(next);
    await api.until(next.order_id, c, 'SENT');
    expect(mailbox.for(event.order_id)).toHaveLength(1);
    expect(logs.filter((l) => l.level >= 50 && l.order_id === event.order_id)).toEqual([
      expect.objectContaining({ msg: expect.stringMatching(/parked as UNKNOWN, not sent again: needs an operator/) }),
    ]);
  });

  it('parks a notification as FAILED after NOTIFY_MAX_ATTEMPTS refusals, and at once on a permanent one', async () => {
    const c = customer('fail');
    const busy = terminal('COMPLETED', `o-busy-${randomUUID()}`, c);
    const bounced = terminal('CANCELLED', `o-bounce-${randomUUID()}`, c, 'out of stock');
    mailbox.answer(busy.order_id, () => ({ code: 451, message: 'Try again later' }));
    mailbox.answer(bounced.order_id, () => ({ code: 550, message: 'Mailbox unavailable' }));
    await api.publish(busy);
    await api.publish(bounced);

    expect((await api.until(busy.order_id, c, 'FAILED')).delivery).toEqual({ status: 'FAILED', attempts: 3, sent_at: null });
    expect((await api.until(bounced.order_id, c, 'FAILED')).delivery).toEqual({ status: 'FAILED', attempts: 1, sent_at: null });
    expect(mailbox.for(busy.order_id)).toHaveLength(3);
    expect(mailbox.for(bounced.order_id)).toHaveLength(1);
    // Logged just after the row is written: wait for the line rather than race it.
    const parkedLines = (orderId: string) =>
      logs.filter((l) => l.msg === 'notification not sent; parked as FAILED' && l.order_id === orderId);
    await waitFor(
      'the FAILED log lines',
      () => parkedLines(busy.order_id).length > 0 && parkedLines(bounced.order_id).length > 0,
    );
    expect(parkedLines(busy.order_id)).toHaveLength(1);
    expect(parkedLines(bounced.order_id)).toHaveLength(1);
  });
});

describe.each(['postgres', 'sqlite'] as const)('email across restarts and crashes on %s', (dialect) => {
  let nats: NatsServer;
  let mailbox: Mailbox;
  let messaging: Messaging;
  let base = '';
  const cleanups: (() => Promise<unknown>)[] = [];
  const customer = (name: string) => `${name}-${dialect}-${randomUUID().slice(0, 8)}`;
  const api = client(
    () => messaging,
    () => base,
  );

  beforeAll(async () => {
    nats = await NatsServer.start();
    mailbox = await Mailbox.start();
    messaging = await connectMessaging(nats.url, 'email-test', createLogger('test', 'silent'));
  });

  // One service at a time on this NATS: two would share its durable consumers, as instances do.
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  afterAll(async () => {
    await messaging?.close();
    await mailbox?.close();
    await nats?.stop({ removeStore: true });
  });

  /** Starts the service in this process on `databaseUrl`, and says where it listens. */
  async function startInProcess(databaseUrl: string): Promise<TestService<NotificationApp>> {
    const s = await startTestService(createNotificationService(fast(mailbox)), { databaseUrl, natsUrl: nats.url });
    base = s.address;
    return s;
  }

  /** A delivered notification proves the sender has been round since whatever came before it. */
  async function barrier(): Promise<void> {
    const c = customer('barrier');
    const e = terminal('COMPLETED', `o-barrier-${randomUUID()}`, c);
    await api.publish(e);
    await api.until(e.order_id, c, 'SENT');
  }

  it('sends one email for an event delivered again and again, before and after a restart', async () => {
    const db = await createTestDatabase('notification', dialect);
    cleanups.push(() => db.drop());
    const c = customer('dup');
    const event = terminal('COMPLETED', `o-dup-${randomUUID()}`, c);

    let service = await startInProcess(db.url);
    await api.publish(event, `${event.event_id}-first`);
    await api.publish(event, `${event.event_id}-again`);
    await api.until(event.order_id, c, 'SENT');
    await service.stop();

    service = await startInProcess(db.url);
    cleanups.push(() => service.stop());
    await api.settled(event, await api.publish(event, `${event.event_id}-after-restart`));
    await barrier();
    expect(mailbox.for(event.order_id)).toHaveLength(1);
    expect((await api.until(event.order_id, c, 'SENT')).delivery.attempts).toBe(1);
  });

  it('never sends again when the process dies between the send and its record: the notification is UNKNOWN', async () => {
    const db = await createTestDatabase('notification', dialect);
    cleanups.push(() => db.drop());
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const lines: string[] = [];
    const process_ = new ServiceProcess({
      name: 'notification',
      port,
      restart: false,
      sink: (_name, line) => void lines.push(line),
      env: {
        PATH: process.env.PATH,
        NATS_URL: nats.url,
        NOTIFICATION_SERVICE_PORT: String(port),
        NOTIFICATION_DATABASE_URL: db.url,
        LOG_LEVEL: 'info',
        ...fast(mailbox, { NOTIFY_SEND_TIMEOUT_MS: '2000' }),
      },
    });
    cleanups.push(() => process_.stop());
    process_.start();
    await process_.waitReady();

    const c = customer('crash');
    const event = terminal('CANCELLED', `o-crash-${randomUUID()}`, c, 'payment declined');
    // The server takes the whole message and never answers: the sender waits for the reply.
    mailbox.answer(event.order_id, () => 'hold');
    const arrived = mailbox.arrival(event.order_id);
    await api.publish(event);
    await arrived;
    await process_.kill('SIGKILL');

    // The claim was committed before the send, so the restarted service knows an attempt was
    // under way; once its lease (2 × NOTIFY_SEND_TIMEOUT_MS) has run out, it parks it.
    const beforeRestart = lines.length;
    process_.start();
    await process_.waitReady();
    const n = await api.until(event.order_id, c, 'UNKNOWN');
    expect(n.delivery).toEqual({ status: 'UNKNOWN', attempts: 1, sent_at: null });
    // Logged by the restarted process (JSON lines with the level's name), not by the killed one;
    // its output comes through a pipe, so wait for the line.
    const parked = () =>
      lines
        .slice(beforeRestart)
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: string; msg: string; order_id?: string })
        .filter((l) => l.order_id === event.order_id && (l.level === 'error' || l.level === 'warn'));
    await waitFor('the UNKNOWN log line', () => parked().length > 0);
    expect(parked()).toEqual([
      expect.objectContaining({
        level: 'error',
        msg: expect.stringMatching(/parked as UNKNOWN, not sent again: needs an operator/),
      }),
    ]);

    // The event again, and another notification after it: still one message for this order.
    await api.settled(event, await api.publish(event, `${event.event_id}-again`));
    await barrier();
    expect(mailbox.for(event.order_id)).toHaveLength(1);
    expect((await api.until(event.order_id, c, 'UNKNOWN')).delivery.attempts).toBe(1);
  });

  it('does not email the notifications recorded before delivery was tracked', async () => {
    const made = await createTestDatabase('notification', dialect);
    cleanups.push(() => made.drop());
    // The schema as it was before delivery state, with one notification (delivered to the log back then).
    const old = await openDatabase(made.url);
    await old.migrate(migrations.filter((m) => m.id < '003'));
    const c = customer('old');
    const orderId = `o-old-${randomUUID()}`;
    await old.execute(
      `INSERT INTO notifications (id, order_id, customer_id, kind, order_status, channel, message, created_at)
       VALUES ($1, $2, $3, 'ORDER_COMPLETED', 'COMPLETED', 'email', 'Your order is complete.', '2024-01-01T00:00:00.000Z')`,
      [randomUUID(), orderId, c],
    );
    await old.close();

    const service = await startInProcess(made.url);
    cleanups.push(() => service.stop());
    await barrier();
    const n = await api.until(orderId, c, 'SENT');
    expect(n.delivery).toEqual({ status: 'SENT', attempts: 0, sent_at: '2024-01-01T00:00:00.000Z' });
    expect(mailbox.for(orderId)).toEqual([]);
  });
});
