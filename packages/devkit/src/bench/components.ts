// Two components of the system against their bare baselines, each pair driven by the same closed
// loop (closed-loop.ts) from this process, with the same concurrency and duration:
// - the payment call through the saga's client (@shopflow/payment-client) beside a bare
//   @grpc/grpc-js unary call to the same payment service;
// - the event path (outbox → relay → JetStream → durable consumer → inbox, handler committed)
//   beside a raw JetStream publish awaited for its ack, on a nats-server of its own.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { EventType, Stream, Subject, type OrderCreatedEvent } from '@shopflow/contracts';
import { PaymentServiceService, type PaymentRequest } from '@shopflow/contracts/payment-grpc';
import { createPaymentClient } from '@shopflow/payment-client';
import { openDatabase, type Db } from '@shopflow/platform/db';
import { createLogger } from '@shopflow/platform/logger';
import { EventConsumer, Outbox, connectMessaging, ensureStreams, messagingMigrations } from '@shopflow/platform/messaging';
import { withTimeout } from '@shopflow/platform/retry';
import { NatsServer } from '../nats-server.js';
import { createTestDatabase, type Dialect } from '../test-service.js';
import { waitFor } from '../wait.js';
import { closedLoop, summarise, type LoopResult } from './closed-loop.js';

/** How each side of a comparison is driven; a short warm-up of each side comes first and is not counted. */
export interface ComponentLoad {
  concurrency: number;
  durationS: number;
  warmupS: number;
}

/** The payment service through the saga's client and through bare grpc-js, rates in calls/s. */
export interface PaymentFigures {
  /** ProcessPayment through createPaymentClient (deadline, trace metadata, AppError mapping). */
  clientProcessPayment: LoopResult;
  /** The same method on the same server through a bare grpc-js Client: no deadline, no metadata. */
  bareProcessPayment: LoopResult;
  clientGetPayment: LoopResult;
  bareGetPayment: LoopResult;
  /** grpc.health.v1 Check through a bare Client: what one unary call costs this server with no work behind it. */
  bareHealthCheck: LoopResult;
  /** clientProcessPayment ÷ bareProcessPayment: the issue's target (≥ 0.7). */
  ratio: number;
  /** clientProcessPayment ÷ bareHealthCheck: the charge beside the cheapest call the same server answers. */
  ratioToFloor: number;
}

/** The event path and raw JetStream, rates in events/s. */
export interface EventPathFigures {
  /** From the outbox insert's transaction to the consumer's handler transaction committed. */
  eventPath: LoopResult;
  /** js.publish of the same payload, awaited for JetStream's ack. */
  rawPublish: LoopResult;
  /** eventPath ÷ rawPublish: the issue's target (≥ 0.5). */
  ratio: number;
  /** Events enqueued, warm-up included, and how many the consumer applied (each exactly once, or a violation says not). */
  enqueued: number;
  applied: number;
}

const silent = createLogger('bench', 'silent');

type Say = (line: string) => void;

function line(say: Say, name: string, r: LoopResult): void {
  say(
    `  ${name.padEnd(40)} ${r.rate.toFixed(0).padStart(7)}/s  p50 ${r.p50Ms.toFixed(1)} ms  p99 ${r.p99Ms.toFixed(1)} ms${r.errors ? `  ERRORS ${r.errors} (${r.firstError})` : ''}`,
  );
}

type Op = (worker: number) => Promise<void>;

/**
 * Measures `a` and `b` for `durationS` each: both warmed up, then a, b, b, a for half of it each,
 * so that a neighbour's load rising or falling during the comparison weighs on both sides alike.
 */
async function compare(load: ComponentLoad, a: Op, b: Op): Promise<[LoopResult, LoopResult]> {
  const loop = (op: Op, seconds: number) => closedLoop({ concurrency: load.concurrency, durationMs: seconds * 1000 }, op);
  if (load.warmupS > 0) {
    await loop(a, load.warmupS);
    await loop(b, load.warmupS);
  }
  const half = load.durationS / 2;
  const a1 = await loop(a, half);
  const b1 = await loop(b, half);
  const b2 = await loop(b, half);
  const a2 = await loop(a, half);
  return [summarise(a1, a2), summarise(b1, b2)];
}

/** A bare grpc-js unary call as a promise: the generated codecs, nothing else. */
function bareUnary<Req, Res>(
  client: grpc.Client,
  path: string,
  serialize: (r: Req) => Buffer,
  deserialize: (b: Buffer) => Res,
): (request: Req) => Promise<Res> {
  return (request) =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest(path, serialize, deserialize, request, (error, response) =>
        error ? reject(error) : resolve(response!),
      );
    });
}

/**
 * Measures the payment service at `address` (host:port of its gRPC server). It writes payments for
 * orders that do not exist: run it after the invariants have been checked. `violations` gets every
 * failed call.
 */
export async function benchPayment(
  address: string,
  load: ComponentLoad,
  say: Say,
  violations: string[],
): Promise<PaymentFigures> {
  const client = createPaymentClient(address, 10_000);
  const bare = new grpc.Client(address, grpc.credentials.createInsecure());
  const tag = randomUUID().slice(0, 8);
  let seq = 0;
  // A fresh order id per call: ProcessPayment is idempotent per order, and a repeat would only read.
  const request = (w: number): PaymentRequest => ({
    orderId: `BENCH-PAY-${tag}-${seq++}`,
    customerId: `BENCH-PAY-C${w}`,
    amount: 19.99,
  });
  const { processPayment: pp, getPayment: gp } = PaymentServiceService;
  const bareProcess = bareUnary(bare, pp.path, pp.requestSerialize, pp.responseDeserialize);
  const bareGet = bareUnary(bare, gp.path, gp.requestSerialize, gp.responseDeserialize);
  // The health request with an empty service name is an empty message; only the call's success matters.
  const bareHealth = bareUnary(
    bare,
    '/grpc.health.v1.Health/Check',
    () => Buffer.alloc(0),
    (b: Buffer) => b,
  );
  try {
    say(`\ncomponents: payment service at ${address}, ${load.concurrency} concurrent calls, ${load.durationS} s each`);
    const paymentIds: string[] = [];
    const [clientProcessPayment, bareProcessPayment] = await compare(
      load,
      async (w) => {
        const r = await client.processPayment(request(w));
        if (paymentIds.length < 10_000) paymentIds.push(r.paymentId);
      },
      async (w) => {
        await bareProcess(request(w));
      },
    );
    line(say, 'ProcessPayment via payment-client', clientProcessPayment);
    line(say, 'ProcessPayment via bare grpc-js', bareProcessPayment);
    if (paymentIds.length === 0) throw new Error('no payment was made: GetPayment has nothing to read');
    let read = 0;
    const pick = () => ({ paymentId: paymentIds[read++ % paymentIds.length]! });
    const [clientGetPayment, bareGetPayment] = await compare(
      load,
      async () => {
        await client.getPayment(pick());
      },
      async () => {
        await bareGet(pick());
      },
    );
    line(say, 'GetPayment via payment-client', clientGetPayment);
    line(say, 'GetPayment via bare grpc-js', bareGetPayment);
    // The channel is warm by now: no warm-up.
    const bareHealthCheck = summarise(
      await closedLoop({ concurrency: load.concurrency, durationMs: load.durationS * 1000 }, () =>
        bareHealth(undefined).then(() => undefined),
      ),
    );
    line(say, 'health Check via bare grpc-js (floor)', bareHealthCheck);
    const ratio = clientProcessPayment.rate / bareProcessPayment.rate;
    const ratioToFloor = clientProcessPayment.rate / bareHealthCheck.rate;
    say(`  ProcessPayment client/bare ${ratio.toFixed(2)}x; client ProcessPayment/bare health Check ${ratioToFloor.toFixed(2)}x`);
    const all = { clientProcessPayment, bareProcessPayment, clientGetPayment, bareGetPayment, bareHealthCheck };
    for (const [name, r] of Object.entries(all)) {
      if (r.errors > 0) violations.push(`payment ${name}: ${r.errors} calls failed (${r.firstError})`);
      if (r.ops === 0) violations.push(`payment ${name}: no call succeeded`);
    }
    return { ...all, ratio, ratioToFloor };
  } finally {
    client.close();
    bare.close();
  }
}

const RAW_STREAM = { name: 'BENCH_RAW', subjects: ['bench.raw'] };
const DURABLE = 'bench-orders-created';

function orderCreated(id: string): OrderCreatedEvent {
  return {
    event_id: id,
    order_id: id,
    occurred_at: new Date().toISOString(),
    event_type: EventType.OrderCreated,
    customer_id: 'BENCH-EVENTS',
    product_id: 'BENCH-1',
    quantity: 1,
    amount: 19.99,
    amount_minor: 1999,
  };
}

/**
 * Measures the event path on a fresh nats-server and two fresh databases of `dialect` (the
 * publisher's with the outbox, the consumer's with the inbox), all in this process but the
 * server, beside raw JetStream publishes. Every enqueued event must be applied exactly once.
 */
export async function benchEventPath(
  dialect: Dialect,
  load: ComponentLoad,
  say: Say,
  violations: string[],
): Promise<EventPathFigures> {
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const nats = await NatsServer.start();
    closers.push(() => nats.stop({ removeStore: true }));
    const messaging = await connectMessaging(nats.url, 'shopflow-bench-events', silent);
    closers.push(() => messaging.close());
    await ensureStreams(messaging.jsm, [Stream.Orders, RAW_STREAM], { maxBytes: 1024 ** 3 });
    const open = async (name: string): Promise<Db> => {
      const made = await createTestDatabase(name, dialect);
      closers.push(() => made.drop());
      const db = await openDatabase(made.url);
      closers.push(() => db.close());
      await db.migrate(messagingMigrations);
      return db;
    };
    const producer = await open('bench_outbox');
    const consumerDb = await open('bench_inbox');

    say(
      `\ncomponents: event path on ${dialect}, ${load.concurrency} concurrent events, ${load.durationS} s each (own nats-server)`,
    );
    // Same payload size on both sides.
    const sample = JSON.stringify(orderCreated(randomUUID()));
    const waiting = new Map<string, () => void>();
    let applied = 0;
    const outbox = new Outbox(producer, { publish: (s, p, o) => messaging.js.publish(s, p, o) }, silent);
    outbox.start();
    closers.push(() => outbox.stop());
    const consumer = new EventConsumer(
      { messaging, db: consumerDb, logger: silent, ackWaitMs: 30_000, maxDeliver: 10 },
      {
        stream: Stream.Orders,
        subject: Subject.OrderCreated,
        durable: DURABLE,
        handle: (tx, event) => {
          // Applied means committed with the inbox row, not merely handled.
          tx.afterCommit(() => {
            applied++;
            waiting.get(event.event_id)?.();
          });
          return Promise.resolve();
        },
      },
    );
    await consumer.start();
    closers.push(() => consumer.stop());
    let enqueued = 0;
    const [eventPath, rawPublish] = await compare(
      load,
      async () => {
        const id = randomUUID();
        const done = new Promise<void>((resolve) => waiting.set(id, resolve));
        try {
          await producer.transaction((tx) => outbox.enqueue(tx, Subject.OrderCreated, orderCreated(id)));
          enqueued++;
          await withTimeout(done, 30_000);
        } finally {
          waiting.delete(id);
        }
      },
      async () => {
        await messaging.js.publish('bench.raw', sample);
      },
    );
    line(say, 'outbox → JetStream → consumer applied', eventPath);
    line(say, 'raw JetStream publish, ack awaited', rawPublish);
    const ratio = eventPath.rate / rawPublish.rate;
    say(`  event path/raw publish ${ratio.toFixed(2)}x`);

    // Exactly once: every enqueued event is in the inbox once, and the outbox is empty.
    const count = async (db: Db, sql: string, params: unknown[]) =>
      Number((await db.query<{ n: number }>(sql, params))[0]?.n ?? 0);
    await waitFor('every enqueued event applied', async () => applied >= enqueued && (await outbox.pending()) === 0, {
      timeoutMs: 30_000,
      intervalMs: 100,
    }).catch(() => undefined);
    const inbox = await count(consumerDb, 'SELECT COUNT(*) AS n FROM inbox WHERE consumer = $1', [DURABLE]);
    const pending = await outbox.pending();
    if (applied !== enqueued || inbox !== enqueued || pending !== 0)
      violations.push(
        `event path: ${enqueued} enqueued, ${applied} applied, ${inbox} in the inbox, ${pending} left in the outbox`,
      );
    if (rawPublish.errors > 0) violations.push(`raw publish: ${rawPublish.errors} failed (${rawPublish.firstError})`);
    if (eventPath.errors > 0) violations.push(`event path: ${eventPath.errors} failed (${eventPath.firstError})`);
    return { eventPath, rawPublish, ratio, enqueued, applied };
  } finally {
    await close();
  }
}
