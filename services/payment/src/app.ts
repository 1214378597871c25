import { PaymentServiceService } from '@shopflow/contracts/payment-grpc';
import { grpc } from '@shopflow/platform/grpc';
import type { ServiceApp, ServiceContext } from '@shopflow/platform/service';
import { HealthImplementation } from 'grpc-health-check';
import type { Decider } from './domain/payment.js';
import { paymentService } from './grpc/payment-service.js';
import { createPayments } from './payments.js';

/** The name the health service reports besides the server-wide ''. */
export const PAYMENT_SERVICE_NAME = 'payment.PaymentService';

/** What main wires from configuration; tests pass their own. */
export interface PaymentAdapters {
  /** Whether a new charge succeeds; main draws with PAYMENT_SUCCESS_RATE. */
  decide: Decider;
  /** How long closing lets in-flight calls finish before cutting connections. */
  drainTimeoutMs?: number;
}

export interface PaymentApp extends ServiceApp {
  server: grpc.Server;
}

/** Wires the payment service: its gRPC handlers and the standard health service, SERVING while it listens. */
export function createPaymentApp(
  { logger, db, outbox }: Pick<ServiceContext, 'logger' | 'db' | 'outbox'>,
  { decide, drainTimeoutMs = 5000 }: PaymentAdapters,
): Promise<PaymentApp> {
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

  return Promise.resolve({
    server,
    serves: {
      async listen(host, port) {
        // An IPv6 literal needs brackets in a gRPC address.
        const address = `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
        const bound = await new Promise<number>((resolve, reject) =>
          server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
        );
        setHealth('SERVING');
        return address.replace(/:\d+$/, `:${bound}`);
      },
      close() {
        stopping ??= (async () => {
          setHealth('NOT_SERVING');
          await drain(server, drainTimeoutMs);
        })();
        return stopping;
      },
    },
  });
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
