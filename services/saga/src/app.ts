import { Stream, Subject } from '@shopflow/contracts';
import type { ServiceConfig } from '@shopflow/platform/config';
import type { Db } from '@shopflow/platform/db';
import { dataServiceChecks } from '@shopflow/platform/service';
import { createHttpServer, type HttpServer } from '@shopflow/platform/http';
import type { Logger } from '@shopflow/platform/logger';
import { EventConsumer, Outbox, type Messaging } from '@shopflow/platform/messaging';
import type { PaymentPort, StockPort } from './domain/ports.js';
import type { SagaPolicy } from './domain/saga.js';
import { sagaRoutes } from './routes/sagas.js';
import { SagaRunner } from './runner.js';
import { createSagas } from './sagas.js';

export interface SagaAppDeps {
  config: Pick<ServiceConfig, 'ackWaitMs' | 'maxDeliver'>;
  logger: Logger;
  db: Db;
  messaging: Messaging;
  stock: StockPort;
  payments: PaymentPort;
  policy: SagaPolicy;
  concurrency: number;
}

export interface SagaApp {
  http: HttpServer;
  runner: SagaRunner;
  outbox: Outbox;
  /** Resumes unfinished sagas, then starts consuming order events. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Wires the saga orchestrator; exported for tests, which pass real NATS and a real database. */
export async function createSagaApp(deps: SagaAppDeps): Promise<SagaApp> {
  const { config, logger, db, messaging } = deps;
  const outbox = new Outbox(db, messaging.js, logger);
  const runner = new SagaRunner({
    db,
    outbox,
    stock: deps.stock,
    payments: deps.payments,
    policy: deps.policy,
    logger,
    concurrency: deps.concurrency,
  });
  const sagas = createSagas(db, runner);
  const consumerDeps = { messaging, db, logger, ackWaitMs: config.ackWaitMs, maxDeliver: config.maxDeliver };
  const consumers = [
    new EventConsumer(consumerDeps, {
      stream: Stream.Orders,
      subject: Subject.OrderCreated,
      durable: 'saga-orders-created',
      handle: (tx, e) => sagas.onOrderCreated(tx, e),
    }),
    new EventConsumer(consumerDeps, {
      stream: Stream.Orders,
      subject: Subject.OrderEndedByApi,
      durable: 'saga-orders-ended-by-api',
      handle: (tx, e) => sagas.onOrderEndedByApi(tx, e),
    }),
  ];
  const http = await createHttpServer({
    service: 'saga',
    logger,
    checks: dataServiceChecks(db, messaging),
  });
  sagaRoutes(http, sagas);
  return {
    http,
    runner,
    outbox,
    async start() {
      outbox.start();
      const resumed = await runner.resumeAll();
      if (resumed > 0) logger.info({ resumed }, 'resumed unfinished sagas');
      for (const c of consumers) await c.start();
    },
    async stop() {
      await http.close();
      for (const c of consumers) await c.stop();
      await runner.stop();
      await outbox.stop();
    },
  };
}
