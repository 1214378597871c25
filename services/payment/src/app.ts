import { PaymentServiceService } from '@shopflow/contracts/payment-grpc';
import type { Db } from '@shopflow/platform/db';
import { grpc } from '@shopflow/platform/grpc';
import type { Logger } from '@shopflow/platform/logger';
import { Outbox, type Messaging } from '@shopflow/platform/messaging';
import { HealthImplementation } from 'grpc-health-check';
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
  const server = new grpc.Server();
  server.addService(PaymentServiceService, paymentService(payments, logger));
  const health = new HealthImplementation({ '': 'NOT_SERVING', [PAYMENT_SERVICE_NAME]: 'NOT_SERVING' });
  health.addToServer(server);
  const setHealth = (status: 'SERVING' | 'NOT_SERVING') => {
    health.setStatus('', status);
    health.setStatus(PAYMENT_SERVICE_NAME, status);
  };
  let stopping: Promise<void> | undefined;

  return {
    server,
    outbox,
    async start(address) {
      outbox.start();
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, bound) =>
          error ? reject(error) : resolve(bound),
        ),
      );
      setHealth('SERVING');
      return port;
    },
    stop() {
      stopping ??= (async () => {
        setHealth('NOT_SERVING');
        await drain(server, drainTimeoutMs);
        await outbox.stop();
      })();
      return stopping;
    },
  };
}

/** Lets in-flight calls finish; a client that keeps a stream open (a health Watch) is cut off at the deadline. */
function drain(server: grpc.Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
