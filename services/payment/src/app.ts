import { PaymentServiceService } from '@shopflow/contracts/payment-grpc';
import { createGrpcServer, type GrpcServer } from '@shopflow/platform/grpc';
import { createHttpServer, httpListener, type HttpServer } from '@shopflow/platform/http';
import type { ServiceApp, ServiceContext } from '@shopflow/platform/service';
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
  /** The HTTP side port for /health, /ready and /metrics (PAYMENT_HTTP_PORT; 0 picks a free one). */
  httpPort: number;
}

export interface PaymentApp extends ServiceApp {
  grpc: GrpcServer;
  /** The side port's server: /health, /ready and /metrics. */
  http: HttpServer;
}

/**
 * Wires the payment service: its gRPC handlers beside the standard health service, SERVING while
 * it listens, and an HTTP side port for probes and metrics. It listens on both; the gRPC address
 * is the service's.
 */
export async function createPaymentApp(
  { logger, db, outbox, checks, metrics }: Pick<ServiceContext, 'logger' | 'db' | 'outbox' | 'checks' | 'metrics'>,
  { decide, drainTimeoutMs = 5000, httpPort }: PaymentAdapters,
): Promise<PaymentApp> {
  const payments = createPayments({ db, outbox, decide, logger });
  const grpcServer = createGrpcServer({ healthNames: [PAYMENT_SERVICE_NAME], drainTimeoutMs, metrics });
  grpcServer.server.addService(PaymentServiceService, paymentService(payments, logger));
  const http = await createHttpServer({ service: 'payment', logger, checks, metrics });
  const side = httpListener(http);
  let sideAddress = '';
  return {
    grpc: grpcServer,
    http,
    serves: {
      async listen(host, port) {
        const address = await grpcServer.listen(host, port);
        sideAddress = await side.listen(host, httpPort);
        return address;
      },
      async close() {
        await Promise.all([grpcServer.close(), side.close()]);
      },
    },
    // Where /ready answers, for discovery's health.
    httpAddress: () => sideAddress,
  };
}
