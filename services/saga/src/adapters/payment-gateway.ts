import { fromMinorUnits } from '@shopflow/contracts';
import type { PaymentRequest, PaymentResponse } from '@shopflow/contracts/payment-grpc';
import { createBatcher } from '@shopflow/platform/batcher';
import { AppError, errorCodeOfGrpc } from '@shopflow/platform/errors';
import type { PaymentClient } from '@shopflow/payment-client';
import type { PaymentPort } from '../domain/ports.js';

/**
 * The payment service over gRPC. Charges asked for in the same moment travel together in one
 * `ProcessPayments` call; each still gets the answer its own `ProcessPayment` would.
 */
export function createPaymentGateway(payments: PaymentClient, timeoutMs: number): PaymentPort {
  const charge = createBatcher<PaymentRequest, PaymentResponse>(async (items) => {
    const { results } = await payments.processPayments({ payments: items }, timeoutMs);
    return results.map((r) =>
      r.response
        ? { ok: true as const, value: r.response }
        : { ok: false as const, error: new AppError(errorCodeOfGrpc(r.errorCode), `payment ProcessPayment: ${r.errorMessage}`) },
    );
  });

  return {
    async charge(saga) {
      const res = await charge({ orderId: saga.orderId, customerId: saga.customerId, amount: fromMinorUnits(saga.amountMinor) });
      if (res.success) return { kind: 'ok', paymentId: res.paymentId, detail: `charged, payment ${res.paymentId}` };
      return {
        kind: 'rejected',
        nonRetryable: true,
        reason: `payment ${res.status.toLowerCase() || 'declined'}: ${res.message}`,
      };
    },
    async refund(saga) {
      const res = await payments.refundPayment({ orderId: saga.orderId, reason: saga.reason ?? 'saga compensation' }, timeoutMs);
      return { kind: 'ok', detail: res.refunded ? `refunded payment ${res.paymentId}` : `nothing to refund (${res.status})` };
    },
  };
}
