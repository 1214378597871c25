import { Stream, Subject } from '@shopflow/contracts';
import type { ServiceConfig } from '@shopflow/platform/config';
import type { Db } from '@shopflow/platform/db';
import { dataServiceChecks } from '@shopflow/platform/service';
import { createHttpServer, type HttpServer } from '@shopflow/platform/http';
import type { Logger } from '@shopflow/platform/logger';
import { EventConsumer, Outbox, type Messaging } from '@shopflow/platform/messaging';
import type { ProductCatalog } from './domain/ports.js';
import { createOrders } from './orders.js';
import { orderRoutes } from './routes/orders.js';

export interface OrderAppDeps {
  config: Pick<ServiceConfig, 'ackWaitMs' | 'maxDeliver'>;
  logger: Logger;
  db: Db;
  messaging: Messaging;
  catalog: ProductCatalog;
}

export interface OrderApp {
  http: HttpServer;
  outbox: Outbox;
  /** Starts the outbox relay and the saga-command consumer. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Wires the order service; exported for tests, which pass real NATS and a real database. */
export async function createOrderApp({ config, logger, db, messaging, catalog }: OrderAppDeps): Promise<OrderApp> {
  const outbox = new Outbox(db, messaging.js, logger);
  const orders = createOrders({ db, outbox, catalog });
  const commands = new EventConsumer(
    { messaging, db, logger, ackWaitMs: config.ackWaitMs, maxDeliver: config.maxDeliver },
    {
      stream: Stream.Saga,
      subject: Subject.OrderStatusCommand,
      durable: 'order-saga-order-status',
      handle: (tx, command) => orders.applySagaCommand(tx, command),
    },
  );
  const http = await createHttpServer({
    service: 'order',
    logger,
    checks: dataServiceChecks(db, messaging),
  });
  orderRoutes(http, orders);
  return {
    http,
    outbox,
    async start() {
      outbox.start();
      await commands.start();
    },
    async stop() {
      await http.close();
      await commands.stop();
      await outbox.stop();
    },
  };
}
