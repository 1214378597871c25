import * as grpc from '@grpc/grpc-js';
import {
  PaymentServiceClient,
  type GetPaymentByOrderRequest,
  type GetPaymentRequest,
  type Payment,
  type PaymentBatchRequest,
  type PaymentBatchResponse,
  type PaymentRequest,
  type PaymentResponse,
  type RefundRequest,
  type RefundResponse,
} from '@shopflow/contracts/payment-grpc';
import { AppError, errorCodeOfGrpc, grpcStatusOf } from './errors.js';
import { newSpan, parseTraceparent, runWithTrace, traceHeaders } from './tracing.js';

/** The payment service as its callers see it: promises, deadlines, AppErrors, trace context. */
export interface PaymentClient {
  processPayment(request: PaymentRequest, timeoutMs?: number): Promise<PaymentResponse>;
  getPayment(request: GetPaymentRequest, timeoutMs?: number): Promise<Payment>;
  refundPayment(request: RefundRequest, timeoutMs?: number): Promise<RefundResponse>;
  getPaymentByOrder(request: GetPaymentByOrderRequest, timeoutMs?: number): Promise<Payment>;
  processPayments(request: PaymentBatchRequest, timeoutMs?: number): Promise<PaymentBatchResponse>;
  close(): void;
}

type Unary<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

/** One kept-alive HTTP/2 channel to the payment service at `address` (host:port). */
export function createPaymentClient(address: string, defaultTimeoutMs = 2000): PaymentClient {
  const client = new PaymentServiceClient(address, grpc.credentials.createInsecure(), {
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_permit_without_calls': 1,
    // Reconnect quickly after the payment service restarts.
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 2000,
  });
  function call<Req, Res>(method: Unary<Req, Res>, name: string) {
    return (request: Req, timeoutMs = defaultTimeoutMs) =>
      new Promise<Res>((resolve, reject) => {
        const metadata = new grpc.Metadata();
        for (const [k, v] of Object.entries(traceHeaders())) metadata.set(k, v);
        method(request, metadata, { deadline: Date.now() + timeoutMs }, (error, response) => {
          if (!error) return resolve(response);
          reject(
            new AppError(errorCodeOfGrpc(error.code), `payment ${name}: ${error.details || error.message}`, { cause: error }),
          );
        });
      });
  }
  return {
    processPayment: call<PaymentRequest, PaymentResponse>(client.processPayment.bind(client), 'ProcessPayment'),
    getPayment: call<GetPaymentRequest, Payment>(client.getPayment.bind(client), 'GetPayment'),
    refundPayment: call<RefundRequest, RefundResponse>(client.refundPayment.bind(client), 'RefundPayment'),
    getPaymentByOrder: call<GetPaymentByOrderRequest, Payment>(client.getPaymentByOrder.bind(client), 'GetPaymentByOrder'),
    processPayments: call<PaymentBatchRequest, PaymentBatchResponse>(client.processPayments.bind(client), 'ProcessPayments'),
    close: () => client.close(),
  };
}

/**
 * Adapts an async function to a grpc-js unary handler: runs it in the caller's trace context and
 * maps AppErrors to their gRPC status; anything else is INTERNAL without internals in the message.
 */
export function unaryHandler<Req, Res>(
  fn: (request: Req) => Promise<Res>,
  onUnexpected: (error: unknown) => void,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    // The caller gave up before this call was read (its deadline passed while we were stalled): do nothing.
    if (call.cancelled) return;
    const parent = parseTraceparent(call.metadata.get('traceparent')[0]?.toString());
    const span = newSpan(parent);
    runWithTrace(span, () => {
      fn(call.request).then(
        (response) => callback(null, response),
        (error: unknown) => {
          if (error instanceof AppError) {
            return callback({ code: grpcStatusOf[error.code], details: error.message });
          }
          onUnexpected(error);
          callback({ code: grpc.status.INTERNAL, details: 'internal error' });
        },
      );
    });
  };
}

export { grpc };
