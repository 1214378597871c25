import { PaymentServiceService } from '@shopflow/contracts/payment-grpc';
import { createGrpcServer, type GrpcServer } from '@shopflow/platform/grpc';
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
}

export interface PaymentApp extends ServiceApp {
  serves: GrpcServer;
}

/** Wires the payment service: its gRPC handlers beside the standard health service, SERVING while it listens. */
export function createPaymentApp(
  { logger, db, outbox }: Pick<ServiceContext, 'logger' | 'db' | 'outbox'>,
  { decide, drainTimeoutMs = 5000 }: PaymentAdapters,
): Promise<PaymentApp> {
  const payments = createPayments({ db, outbox, decide, logger });
  const grpcServer = createGrpcServer({ healthNames: [PAYMENT_SERVICE_NAME], drainTimeoutMs });
  grpcServer.server.addService(PaymentServiceService, paymentService(payments, logger));
  return Promise.resolve({ serves: grpcServer });
}
