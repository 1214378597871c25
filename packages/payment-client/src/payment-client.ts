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
import { PrincipalHeader, type Principal } from '@shopflow/contracts/api';
import { clientChannelOptions, grpc, unaryCall, type UnaryMethod } from '@shopflow/platform/grpc';

/** The payment service as its callers see it: promises, deadlines, AppErrors, trace context. */
export interface PaymentClient {
  processPayment(request: PaymentRequest, timeoutMs?: number): Promise<PaymentResponse>;
  /** With `principal` (the gateway's verified caller), a customer gets only its own payment: another's is NOT_FOUND. */
  getPayment(request: GetPaymentRequest, timeoutMs?: number, principal?: Principal): Promise<Payment>;
  refundPayment(request: RefundRequest, timeoutMs?: number): Promise<RefundResponse>;
  getPaymentByOrder(request: GetPaymentByOrderRequest, timeoutMs?: number): Promise<Payment>;
  processPayments(request: PaymentBatchRequest, timeoutMs?: number): Promise<PaymentBatchResponse>;
  close(): void;
}

/** One kept-alive HTTP/2 channel to the payment service at `address` (host:port); errors read `payment <Method>: …`. */
export function createPaymentClient(address: string, defaultTimeoutMs = 2000): PaymentClient {
  const client = new PaymentServiceClient(address, grpc.credentials.createInsecure(), clientChannelOptions);
  const call = <Req, Res>(method: UnaryMethod<Req, Res>, name: string) => unaryCall(method, `payment ${name}`, defaultTimeoutMs);
  const getPayment = call<GetPaymentRequest, Payment>(client.getPayment.bind(client), 'GetPayment');
  return {
    processPayment: call<PaymentRequest, PaymentResponse>(client.processPayment.bind(client), 'ProcessPayment'),
    getPayment: (request, timeoutMs, principal) =>
      getPayment(
        request,
        timeoutMs,
        principal && { [PrincipalHeader.Subject]: principal.subject, [PrincipalHeader.Role]: principal.role },
      ),
    refundPayment: call<RefundRequest, RefundResponse>(client.refundPayment.bind(client), 'RefundPayment'),
    getPaymentByOrder: call<GetPaymentByOrderRequest, Payment>(client.getPaymentByOrder.bind(client), 'GetPaymentByOrder'),
    processPayments: call<PaymentBatchRequest, PaymentBatchResponse>(client.processPayments.bind(client), 'ProcessPayments'),
    close: () => client.close(),
  };
}
