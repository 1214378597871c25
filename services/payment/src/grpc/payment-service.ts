import { fromMinorUnits } from '@shopflow/contracts';
import type {
  Payment as PaymentMessage,
  PaymentBatchResponse,
  PaymentBatchResult,
  PaymentRequest,
  PaymentResponse,
  PaymentServiceServer,
  RefundResponse,
} from '@shopflow/contracts/payment-grpc';
import { AppError, grpcStatusOf } from '@shopflow/platform/errors';
import { metadataHeaders, unaryHandler } from '@shopflow/platform/grpc';
import { callerOf, ownedOrNotFound } from '@shopflow/platform/http';
import type { Logger } from '@shopflow/platform/logger';
import { parseCharge, parseReason, requireId, type Payment } from '../domain/payment.js';
import type { Payments } from '../payments.js';

/** The wire shape of a payment; the only place minor units become the seed's decimal amount. */
export function toMessage(p: Payment): PaymentMessage {
  return {
    id: p.id,
    orderId: p.orderId,
    customerId: p.customerId,
    amount: fromMinorUnits(p.amountMinor),
    status: p.status,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

/** `payment.PaymentService`: thin handlers that validate, call a use case and shape the answer. */
export function paymentService(payments: Payments, logger: Logger): PaymentServiceServer {
  const onUnexpected = (method: string) => (error: unknown) => logger.error({ err: error, method }, 'payment call failed');
  const charge = async (request: PaymentRequest): Promise<PaymentResponse> => {
    const { payment, success, message } = await payments.charge(parseCharge(request));
    return { paymentId: payment.id, success, message, status: payment.status };
  };
  return {
    processPayment: unaryHandler(charge, onUnexpected('ProcessPayment')),

    processPayments: unaryHandler(async (request): Promise<PaymentBatchResponse> => {
      // Each charge is its own transaction; the database commits those that meet in one group.
      const results = await Promise.all(
        request.payments.map(async (item): Promise<PaymentBatchResult> => {
          try {
            return { response: await charge(item), errorCode: 0, errorMessage: '' };
          } catch (error) {
            if (error instanceof AppError)
              return { response: undefined, errorCode: grpcStatusOf[error.code], errorMessage: error.message };
            onUnexpected('ProcessPayments')(error);
            return { response: undefined, errorCode: grpcStatusOf.INTERNAL, errorMessage: 'internal error' };
          }
        }),
      );
      return { results };
    }, onUnexpected('ProcessPayments')),

    // Through the gateway the caller's principal comes as metadata: a customer sees its own payments
    // only, and someone else's answers as a missing one does. Without it, an internal caller.
    getPayment: unaryHandler(async (request, metadata) => {
      const id = requireId('payment_id', request.paymentId);
      const caller = callerOf(metadataHeaders(metadata));
      return toMessage(ownedOrNotFound(await payments.get(id), caller, 'payment', id));
    }, onUnexpected('GetPayment')),

    refundPayment: unaryHandler(async (request): Promise<RefundResponse> => {
      const { payment, refunded, message } = await payments.refund(
        requireId('order_id', request.orderId),
        parseReason(request.reason),
      );
      return { paymentId: payment.id, refunded, status: payment.status, message };
    }, onUnexpected('RefundPayment')),

    getPaymentByOrder: unaryHandler(
      async (request) => toMessage(await payments.getByOrder(requireId('order_id', request.orderId))),
      onUnexpected('GetPaymentByOrder'),
    ),
  };
}
