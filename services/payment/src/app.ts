import { PaymentServiceService } from '@shopflow/contracts/payment-grpc';
import type { Db } from '@shopflow/platform/db';
import { createGrpcServer, type grpc } from '@shopflow/platform/grpc';
import type { Logger } from '@shopflow/platform/logger';
import { Outbox, type Messaging } from '@shopflow/platform/messaging';
import type { Decider } from './domain/payment.js';
import { paymentService } from './grpc/payment-service.js';
import { createPayments } from './payments.js';

/** The name the health service reports besides the server-wide ''. */
export const PAYMENT_SERVICE_NAME = 'payment.PaymentService';

export interface PaymentAppDeps {
  logger: Logger;
  db: Db;
  messaging: Pick<Messaging, 'js'>;
  /** Whether a new charge succeeds; main.ts draws with PAYMENT_SUCCESS_RATE. */
  decide: Decider;
  /** How long stop() lets in-flight calls finish before cutting connections. */
  drainTimeoutMs?: number;
}

export interface PaymentApp {
  server: grpc.Server;
  outbox: Outbox;
  /** Starts the outbox relay, binds `address` (host:port; port 0 picks one), reports SERVING; resolves to the port. */
  start(address: string): Promise<number>;
  /** Reports NOT_SERVING, drains calls, stops the relay. */
  stop(): Promise<void>;
}

/** Wires the payment service; exported for tests, which pass real NATS and a real database. */
export function createPaymentApp({ logger, db, messaging, decide, drainTimeoutMs = 5000 }: PaymentAppDeps): PaymentApp {
  const outbox = new Outbox(db, messaging.js, logger);
  const payments = createPayments({ db, outbox, decide, logger });
  const grpcServer = createGrpcServer({ healthNames: [PAYMENT_SERVICE_NAME], drainTimeoutMs });
  grpcServer.server.addService(PaymentServiceService, paymentService(payments, logger));
  let stopping: Promise<void> | undefined;

  return {
    server: grpcServer.server,
    outbox,
    async start(address) {
      outbox.start();
      return grpcServer.start(address);
    },
    stop() {
      stopping ??= grpcServer.stop().then(() => outbox.stop());
      return stopping;
    },
  };
}
