import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { service as healthService } from 'grpc-health-check';
import { Stream, Subject, validateEvent } from '@shopflow/contracts';
import { PaymentServiceClient, type Payment, type PaymentResponse } from '@shopflow/contracts/payment-grpc';
import { NatsServer, grpcServing, startTestService, waitFor, type TestService } from '@shopflow/devkit';
import type { Db } from '@shopflow/platform/db';
import { AppError } from '@shopflow/platform/errors';
import { createPaymentClient, type PaymentClient } from '@shopflow/payment-client';
import { grpc } from '@shopflow/platform/grpc';
import { createLogger, type Logger } from '@shopflow/platform/logger';
import type { Messaging } from '@shopflow/platform/messaging';
import type { ServiceDefinition } from '@shopflow/platform/service';
import { createPaymentApp, PAYMENT_SERVICE_NAME, type PaymentApp } from '../src/app.js';
import { paymentService } from '../src/service.js';
import type { Decider } from '../src/domain/payment.js';
import { randomDecider } from '../src/domain/payment.js';

const logger = createLogger('test', 'silent');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HealthClient = grpc.makeGenericClientConstructor(healthService, 'Health');
/** The two calls of grpc.health.v1.Health the tests use; the generic constructor leaves them untyped. */
type HealthStub = grpc.Client & {
  check(req: { service: string }, cb: (e: grpc.ServiceError | null, r?: { status: string }) => void): void;
  watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }>;
};
const healthClient = (address: string) => new HealthClient(address, grpc.credentials.createInsecure()) as unknown as HealthStub;

interface PublishedEvent {
  subject: string;
  msgId: string | undefined;
  payload: Record<string, unknown>;
}

/** The gRPC status and details a failed call carried over the wire. */
async function grpcError(call: Promise<unknown>): Promise<{ code: number; details: string }> {
  const error: unknown = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AppError)) throw new Error(`expected the call to fail, got ${String(error)}`);
  const cause = error.cause as grpc.ServiceError;
  return { code: cause.code, details: cause.details };
}

describe.each(['sqlite', 'postgres'] as const)('payment service over gRPC on %s', (dialect) => {
  let nats: NatsServer;
  let service: TestService<PaymentApp>;
  let db: Db;
  let messaging: Messaging;
  let address: string;
  let client: PaymentClient;
  // Each test sets how the next charges are decided.
  let decide: Decider = randomDecider(1);
  /** The payment service with its charges decided by `decider`. */
  const deciding = (decider: Decider): ServiceDefinition<PaymentApp> => ({
    ...paymentService,
    build: (ctx) => createPaymentApp(ctx, { decide: decider, httpPort: 0 }),
  });

  beforeAll(async () => {
    nats = await NatsServer.start();
    service = await startTestService(
      deciding(() => decide()),
      { dialect, natsUrl: nats.url },
    );
    db = service.db!;
    messaging = service.messaging!;
    address = service.address;
    client = createPaymentClient(address, 10_000);
  });

  afterAll(async () => {
    client?.close();
    await service?.stop();
    await nats?.stop({ removeStore: true });
  });

  /** Every event in the PAYMENTS stream once the outbox has handed all committed rows to JetStream. */
  async function publishedEvents(): Promise<PublishedEvent[]> {
    await waitFor('the outbox to drain', async () => (await service.outbox!.pending()) === 0);
    const { state } = await messaging.jsm.streams.info(Stream.Payments.name);
    const events: PublishedEvent[] = [];
    for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
      const m = await messaging.jsm.streams.getMessage(Stream.Payments.name, { seq });
      if (m) events.push({ subject: m.subject, msgId: m.header?.get('Nats-Msg-Id'), payload: m.json() });
    }
    return events;
  }

  const eventsOf = async (orderId: string) => (await publishedEvents()).filter((e) => e.payload.order_id === orderId);

  const rowsOf = async (orderId: string) =>
    db.query<{ id: string; amount_minor: number; status: string }>(
      'SELECT id, amount_minor, status FROM payments WHERE order_id = $1',
      [orderId],
    );

  it('charges at rate 1: SUCCESS, the seed message, a payments.success event with the seed fields', async () => {
    decide = randomDecider(1);
    const orderId = randomUUID();
    const res = await client.processPayment({ orderId, customerId: 'cust-1', amount: 19.99 });
    expect(res).toEqual({
      paymentId: expect.stringMatching(UUID),
      success: true,
      status: 'SUCCESS',
      message: 'Payment processed successfully',
    });

    const events = await eventsOf(orderId);
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event!.subject).toBe(Subject.PaymentSucceeded);
    expect(event!.payload).toEqual({
      event_id: expect.stringMatching(UUID),
      event_type: 'PaymentSuccess',
      order_id: orderId,
      payment_id: res.paymentId,
      customer_id: 'cust-1',
      success: true,
      amount: 19.99,
      occurred_at: expect.any(String),
    });
    expect(event!.msgId).toBe(event!.payload.event_id);
    expect(validateEvent(Subject.PaymentSucceeded, event!.payload)).toEqual([]);

    // Stored in minor units, served as the seed's decimal.
    expect(await rowsOf(orderId)).toEqual([{ id: res.paymentId, amount_minor: 1999, status: 'SUCCESS' }]);
    const payment = await client.getPayment({ paymentId: res.paymentId });
    expect(payment).toEqual({
      id: res.paymentId,
      orderId,
      customerId: 'cust-1',
      amount: 19.99,
      status: 'SUCCESS',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      updatedAt: payment.createdAt,
    });
    expect(await client.getPaymentByOrder({ orderId })).toEqual(payment);
  });

  it('declines at rate 0 with a payments.failed event, and a retry keeps the first outcome', async () => {
    decide = randomDecider(0);
    const orderId = randomUUID();
    const res = await client.processPayment({ orderId, customerId: 'cust-2', amount: 5 });
    expect(res).toMatchObject({ success: false, status: 'FAILED', message: 'Payment failed' });

    decide = randomDecider(1);
    expect(await client.processPayment({ orderId, customerId: 'cust-2', amount: 5 })).toEqual(res);

    const events = await eventsOf(orderId);
    expect(events.map((e) => e.subject)).toEqual([Subject.PaymentFailed]);
    expect(events[0]!.payload).toMatchObject({
      event_type: 'PaymentFailed',
      order_id: orderId,
      payment_id: res.paymentId,
      customer_id: 'cust-2',
      success: false,
      amount: 5,
    });
    expect(validateEvent(Subject.PaymentFailed, events[0]!.payload)).toEqual([]);
    expect(await rowsOf(orderId)).toHaveLength(1);
  });

  it('makes one decision for 20 concurrent charges of one order', async () => {
    // Alternating outcomes: a second decision anywhere would show up as a disagreement.
    let draws = 0;
    decide = () => draws++ % 2 === 0;
    const orderId = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => client.processPayment({ orderId, customerId: 'cust-3', amount: 12.5 })),
    );
    const first = results[0]!;
    expect(
      results.every((r) => r.paymentId === first.paymentId && r.success === first.success && r.status === first.status),
    ).toBe(true);
    expect(await rowsOf(orderId)).toEqual([{ id: first.paymentId, amount_minor: 1250, status: first.status }]);
    const events = await eventsOf(orderId);
    expect(events).toHaveLength(1);
    expect(events[0]!.payload).toMatchObject({ payment_id: first.paymentId, success: first.success });
  });

  it('answers a ProcessPayments batch item by item, as ProcessPayment would, with one decision per order', async () => {
    decide = randomDecider(1);
    const [a, b] = [randomUUID(), randomUUID()];
    const { results } = await client.processPayments({
      payments: [
        { orderId: a, customerId: 'cust-b', amount: 10 },
        { orderId: b, customerId: 'cust-b', amount: 20.5 },
        { orderId: a, customerId: 'cust-b', amount: 10 },
        { orderId: '', customerId: 'cust-b', amount: 1 },
        { orderId: randomUUID(), customerId: 'cust-b', amount: 1.234 },
      ],
    });
    expect(results).toHaveLength(5);
    expect(results[0]!.response).toMatchObject({ success: true, status: 'SUCCESS' });
    expect(results[2]!.response!.paymentId).toBe(results[0]!.response!.paymentId);
    expect(results[1]!.response).toMatchObject({ success: true });
    expect(results[3]).toMatchObject({
      response: undefined,
      errorCode: grpc.status.INVALID_ARGUMENT,
      errorMessage: expect.stringContaining('order_id'),
    });
    expect(results[4]).toMatchObject({
      response: undefined,
      errorCode: grpc.status.INVALID_ARGUMENT,
      errorMessage: expect.stringContaining('amount'),
    });
    expect(await rowsOf(a)).toHaveLength(1);
    expect(await rowsOf(b)).toEqual([{ id: results[1]!.response!.paymentId, amount_minor: 2050, status: 'SUCCESS' }]);
    expect(await eventsOf(a)).toHaveLength(1);
  });

  it('refunds a successful charge once, however often and concurrently it is asked', async () => {
    decide = randomDecider(1);
    const orderId = randomUUID();
    const charged = await client.processPayment({ orderId, customerId: 'cust-4', amount: 30.01 });
    expect(charged.success).toBe(true);

    const refunds = await Promise.all(Array.from({ length: 5 }, () => client.refundPayment({ orderId, reason: 'stock lost' })));
    for (const r of refunds) expect(r).toMatchObject({ paymentId: charged.paymentId, refunded: true, status: 'REFUNDED' });
    expect(refunds.filter((r) => r.message === 'refunded: stock lost')).toHaveLength(1);
    expect(await client.refundPayment({ orderId, reason: 'again' })).toEqual({
      paymentId: charged.paymentId,
      refunded: true,
      status: 'REFUNDED',
      message: 'already refunded',
    });

    const events = await eventsOf(orderId);
    expect(events.map((e) => e.subject)).toEqual([Subject.PaymentSucceeded, Subject.PaymentRefunded]);
    expect(events[1]!.payload).toEqual({
      event_id: expect.stringMatching(UUID),
      event_type: 'PaymentRefunded',
      order_id: orderId,
      payment_id: charged.paymentId,
      amount: 30.01,
      reason: 'stock lost',
      occurred_at: expect.any(String),
    });
    expect(validateEvent(Subject.PaymentRefunded, events[1]!.payload)).toEqual([]);
    expect(await client.getPaymentByOrder({ orderId })).toMatchObject({ status: 'REFUNDED', amount: 30.01 });
    // A charge retried after the refund does not charge again.
    expect(await client.processPayment({ orderId, customerId: 'cust-4', amount: 30.01 })).toMatchObject({
      paymentId: charged.paymentId,
      success: false,
      status: 'REFUNDED',
    });
  });

  it('answers a refund of a declined charge with refunded=false and no event', async () => {
    decide = randomDecider(0);
    const orderId = randomUUID();
    const declined = await client.processPayment({ orderId, customerId: 'cust-5', amount: 1 });
    expect(await client.refundPayment({ orderId, reason: '' })).toEqual({
      paymentId: declined.paymentId,
      refunded: false,
      status: 'FAILED',
      message: 'nothing to refund: the charge was declined',
    });
    expect((await eventsOf(orderId)).map((e) => e.subject)).toEqual([Subject.PaymentFailed]);
  });

  it('voids an order refunded before its charge, so the late charge is declined without charging', async () => {
    decide = randomDecider(1);
    const orderId = randomUUID();
    const voided = await client.refundPayment({ orderId, reason: 'saga compensated' });
    expect(voided).toEqual({
      paymentId: expect.stringMatching(UUID),
      refunded: false,
      status: 'VOIDED',
      message: 'voided: the order was compensated before it was charged',
    });

    const late = await client.processPayment({ orderId, customerId: 'cust-6', amount: 99.99 });
    expect(late).toEqual({
      paymentId: voided.paymentId,
      success: false,
      status: 'VOIDED',
      message: 'voided: the order was compensated before it was charged',
    });
    expect(await client.refundPayment({ orderId, reason: 'again' })).toMatchObject({
      paymentId: voided.paymentId,
      refunded: false,
      status: 'VOIDED',
    });
    expect(await client.getPaymentByOrder({ orderId })).toMatchObject({
      id: voided.paymentId,
      customerId: '',
      amount: 0,
      status: 'VOIDED',
    });
    expect(await rowsOf(orderId)).toEqual([{ id: voided.paymentId, amount_minor: 0, status: 'VOIDED' }]);
    expect(await eventsOf(orderId)).toEqual([]);
  });

  it('settles a refund racing the charge of the same order to one consistent outcome', async () => {
    decide = randomDecider(1);
    const orderId = randomUUID();
    const [charge, refund] = await Promise.all([
      client.processPayment({ orderId, customerId: 'cust-7', amount: 7 }),
      client.refundPayment({ orderId, reason: 'race' }),
    ]);
    expect(charge.paymentId).toBe(refund.paymentId);
    const subjects = (await eventsOf(orderId)).map((e) => e.subject);
    if (refund.status === 'VOIDED') {
      // The refund came first: nothing was charged.
      expect(charge).toMatchObject({ success: false, status: 'VOIDED' });
      expect(subjects).toEqual([]);
    } else {
      // The charge came first: it was refunded.
      expect(refund).toMatchObject({ refunded: true, status: 'REFUNDED' });
      expect(subjects).toEqual([Subject.PaymentSucceeded, Subject.PaymentRefunded]);
    }
  });

  it.each([
    ['order_id', { orderId: '', customerId: 'c', amount: 1 }],
    ['order_id', { orderId: 'o'.repeat(129), customerId: 'c', amount: 1 }],
    ['customer_id', { orderId: 'fresh', customerId: '', amount: 1 }],
    ['amount', { orderId: 'fresh', customerId: 'c', amount: -1 }],
    ['amount', { orderId: 'fresh', customerId: 'c', amount: 1.234 }],
    ['amount', { orderId: 'fresh', customerId: 'c', amount: Number.NaN }],
    ['amount', { orderId: 'fresh', customerId: 'c', amount: 1e12 }],
  ])('rejects a charge with a bad %s as INVALID_ARGUMENT and stores nothing', async (field, request) => {
    const orderId = request.orderId === 'fresh' ? randomUUID() : request.orderId;
    const { code, details } = await grpcError(client.processPayment({ ...request, orderId }));
    expect(code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(details.startsWith(`${field}: `)).toBe(true);
    if (orderId) expect(await rowsOf(orderId)).toEqual([]);
  });

  it('rejects bad refund and lookup arguments as INVALID_ARGUMENT naming the field', async () => {
    expect(await grpcError(client.refundPayment({ orderId: '', reason: '' }))).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'order_id: is required',
    });
    const orderId = randomUUID();
    expect(await grpcError(client.refundPayment({ orderId, reason: 'r'.repeat(1001) }))).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/^reason: /),
    });
    expect(await rowsOf(orderId)).toEqual([]);
    expect(await grpcError(client.getPayment({ paymentId: '' }))).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'payment_id: is required',
    });
    expect(await grpcError(client.getPaymentByOrder({ orderId: '' }))).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'order_id: is required',
    });
  });

  it("shows a customer principal (gRPC metadata) its own payment only: another's answers as a missing one", async () => {
    decide = randomDecider(1);
    const res = await client.processPayment({ orderId: `o-${randomUUID()}`, customerId: 'cust-a', amount: 3 });
    const id = res.paymentId;
    expect((await client.getPayment({ paymentId: id }, undefined, { subject: 'cust-a', role: 'customer' })).customerId).toBe(
      'cust-a',
    );
    expect((await client.getPayment({ paymentId: id }, undefined, { subject: 'ops', role: 'admin' })).id).toBe(id);
    expect(await grpcError(client.getPayment({ paymentId: id }, undefined, { subject: 'cust-b', role: 'customer' }))).toEqual({
      code: grpc.status.NOT_FOUND,
      details: `payment ${id} not found`,
    });
  });

  it('answers NOT_FOUND for an unknown payment or order', async () => {
    const id = randomUUID();
    expect(await grpcError(client.getPayment({ paymentId: id }))).toEqual({
      code: grpc.status.NOT_FOUND,
      details: `payment ${id} not found`,
    });
    expect(await grpcError(client.getPaymentByOrder({ orderId: id }))).toEqual({
      code: grpc.status.NOT_FOUND,
      details: `no payment for order ${id}`,
    });
  });

  it("serves a client using only the seed's calls and fields (the generated client, no metadata or deadline)", async () => {
    decide = randomDecider(1);
    const seed = new PaymentServiceClient(address, grpc.credentials.createInsecure());
    try {
      const orderId = randomUUID();
      const res = await new Promise<PaymentResponse>((resolve, reject) =>
        seed.processPayment({ orderId, customerId: 'seed-customer', amount: 42.5 }, (e, r) => (e ? reject(e) : resolve(r))),
      );
      expect(res).toMatchObject({
        paymentId: expect.stringMatching(UUID),
        success: true,
        message: 'Payment processed successfully',
      });
      const payment = await new Promise<Payment>((resolve, reject) =>
        seed.getPayment({ paymentId: res.paymentId }, (e, r) => (e ? reject(e) : resolve(r))),
      );
      expect(payment).toMatchObject({ id: res.paymentId, orderId, customerId: 'seed-customer', amount: 42.5, status: 'SUCCESS' });
      const missing = await new Promise<grpc.ServiceError | null>((resolve) =>
        seed.getPayment({ paymentId: randomUUID() }, (e) => resolve(e)),
      );
      expect(missing?.code).toBe(grpc.status.NOT_FOUND);
    } finally {
      seed.close();
    }
  });

  it('reports SERVING on the standard health service', async () => {
    const health = healthClient(address);
    const check = (service: string) =>
      new Promise<string>((resolve, reject) => health.check({ service }, (e, r) => (e ? reject(e) : resolve(r!.status))));
    try {
      expect(await check('')).toBe('SERVING');
      expect(await check(PAYMENT_SERVICE_NAME)).toBe('SERVING');
      await expect(check('no.Such')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
      expect(await grpcServing(address)).toBe(true);
    } finally {
      health.close();
    }
  });

  it('tells health watchers NOT_SERVING when an instance stops', async () => {
    const second = await startTestService(
      deciding(() => true),
      { databaseUrl: service.databaseUrl, natsUrl: nats.url },
    );
    const port = new URL(`grpc://${second.address}`).port;
    const health = healthClient(`127.0.0.1:${port}`);
    const seen: string[] = [];
    const watch = health.watch({ service: PAYMENT_SERVICE_NAME });
    watch.on('data', (r: { status: string }) => seen.push(r.status));
    watch.on('error', () => undefined); // the cancel below ends the stream with CANCELLED
    try {
      await waitFor('SERVING', () => seen.includes('SERVING'));
      const stopped = second.stop();
      await waitFor('NOT_SERVING', () => seen.includes('NOT_SERVING'));
      watch.cancel();
      await stopped;
      expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
      expect(await grpcServing(`127.0.0.1:${port}`, 500)).toBe(false);
    } finally {
      health.close();
    }
  });

  it('answers INTERNAL without internals and logs the cause when the database fails', async () => {
    // A database without the payments table: every call fails below the gRPC layer.
    const errors = vi.fn();
    const broken = await startTestService(
      { ...deciding(() => true), migrations: [] },
      { dialect, natsUrl: nats.url, logger: Object.assign(Object.create(logger) as Logger, { error: errors }) },
    );
    const port = new URL(`grpc://${broken.address}`).port;
    const brokenClient = createPaymentClient(`127.0.0.1:${port}`, 10_000);
    try {
      expect(await grpcError(brokenClient.processPayment({ orderId: randomUUID(), customerId: 'c', amount: 1 }))).toEqual({
        code: grpc.status.INTERNAL,
        details: 'internal error',
      });
      expect(errors).toHaveBeenCalledTimes(1);
      expect(errors.mock.calls[0]![0]).toMatchObject({
        method: 'ProcessPayment',
        err: expect.objectContaining({ message: expect.stringMatching(/payments/) }),
      });
    } finally {
      brokenClient.close();
      await broken.stop();
    }
  });
});
